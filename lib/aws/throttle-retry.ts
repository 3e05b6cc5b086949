/**
 * The outer retry for throttled AWS calls. The SDK's adaptive retry (aws-clients.ts) already
 * retries a throttled request a few times; during a cutover many operators' tools, CloudFormation
 * and DMS share the same API quotas, so a burst can outlast it. A router or task change that
 * fails on throttling would leave traffic half-moved, so those calls go through here: exponential
 * backoff with full jitter, throttling errors only (anything else is rethrown at once).
 */
const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'PriorRequestNotComplete',
]);

export function isThrottlingError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return (
    THROTTLING_NAMES.has(e.name ?? '') ||
    THROTTLING_NAMES.has(e.Code ?? '') ||
    e.$metadata?.httpStatusCode === 429 ||
    e.$retryable?.throttling === true
  );
}

export interface RetryOptions {
  /** Total attempts including the first. @default 8 */
  readonly attempts?: number;
  /** First backoff ceiling; doubles per attempt up to 20 s. @default 200 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each wait (the adapters log it as a warning). */
  readonly onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
}

export async function retryThrottled<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isThrottlingError(err) || attempt >= attempts) throw err;
      const ceiling = Math.min(20_000, base * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      options.onRetry?.(attempt, delayMs, err);
      await sleep(delayMs);
    }
  }
}

/** A throttling-tolerant caller bound to one adapter's options and output topic. */
export function throttledCaller(
  options: { retryAttempts: number; retryBaseDelayMs: number; sleep: (ms: number) => Promise<void> },
  warn: (message: string) => void,
): <T>(what: string, fn: () => Promise<T>) => Promise<T> {
  return (what, fn) =>
    retryThrottled(fn, {
      attempts: options.retryAttempts,
      baseDelayMs: options.retryBaseDelayMs,
      sleep: options.sleep,
      onRetry: (attempt, delayMs, err) =>
        warn(`${what} throttled (${(err as Error).name}), retry ${attempt} in ${delayMs} ms`),
    });
}
