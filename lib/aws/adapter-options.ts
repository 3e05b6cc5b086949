/**
 * Ports every AWS adapter takes besides its SDK clients: time, sleep and polling cadence, so
 * tests run the real waiting logic in milliseconds.
 */
export interface AwsAdapterOptions {
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Between two polls of a task, snapshot or export status. @default 5000 */
  readonly pollMs?: number;
  /** Outer throttling retry attempts (throttle-retry.ts). @default 8 */
  readonly retryAttempts?: number;
  /** First throttling backoff. @default 200 */
  readonly retryBaseDelayMs?: number;
}

export interface ResolvedAdapterOptions {
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly pollMs: number;
  readonly retryAttempts: number;
  readonly retryBaseDelayMs: number;
}

export function resolveAdapterOptions(options: AwsAdapterOptions = {}): ResolvedAdapterOptions {
  return {
    now: options.now ?? (() => new Date()),
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    pollMs: options.pollMs ?? 5000,
    retryAttempts: options.retryAttempts ?? 8,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 200,
  };
}
