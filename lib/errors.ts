/**
 * The one error class of the kit. Every failure a user can meet carries a stable code, says what
 * is wrong, the value received, what is allowed and the fix. Caught only at the CLI boundary,
 * which maps it to an exit code (see `exitCodeFor`).
 */
export type CutoverErrorCode =
  // usage, config, connection: exit 2
  | 'USAGE'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'ENV_UNKNOWN'
  | 'MAPPING_INVALID'
  | 'MAPPING_UNSUPPORTED'
  | 'CONNECTION_FAILED'
  | 'AUTH_FAILED'
  | 'LOCKED'
  | 'NOT_SUPPORTED'
  // a bug in the kit (anything thrown that is not a CutoverError): exit 3
  | 'INTERNAL'
  // a gate or check said no: exit 1
  | 'PHASE_OUT_OF_ORDER'
  | 'GATE_FAILED'
  | 'PRECONDITION_FAILED'
  | 'TIMEOUT'
  | 'ABORTED';

const GATE_CODES: ReadonlySet<CutoverErrorCode> = new Set([
  'PHASE_OUT_OF_ORDER',
  'GATE_FAILED',
  'PRECONDITION_FAILED',
  'TIMEOUT',
  'ABORTED',
]);

export interface CutoverErrorDetails {
  /** The value we received, printed verbatim (never a secret). */
  readonly received?: unknown;
  /** What would have been accepted. */
  readonly allowed?: string;
  /** What the user should do next: a command or an edit. */
  readonly fix?: string;
  /** Several problems found at once (config validation reports all of them). */
  readonly problems?: readonly string[];
  readonly cause?: unknown;
}

export class CutoverError extends Error {
  public readonly code: CutoverErrorCode;
  public readonly details: CutoverErrorDetails;

  constructor(code: CutoverErrorCode, message: string, details: CutoverErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'CutoverError';
    this.code = code;
    this.details = details;
  }

  /** Exit code contract: 1 when a gate or check said no, 2 for usage/config/connection errors, 3 internal. */
  get exitCode(): 1 | 2 | 3 {
    if (this.code === 'INTERNAL') return 3;
    return GATE_CODES.has(this.code) ? 1 : 2;
  }

  /** Human text: message, then received / allowed / fix lines when known. */
  describe(): string {
    const lines = [`${this.code}: ${this.message}`];
    for (const p of this.details.problems ?? []) lines.push(`  - ${p}`);
    if (this.details.received !== undefined) lines.push(`  received: ${formatValue(this.details.received)}`);
    if (this.details.allowed) lines.push(`  allowed:  ${this.details.allowed}`);
    if (this.details.fix) lines.push(`  fix:      ${this.details.fix}`);
    return lines.join('\n');
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      ...(this.details.received !== undefined ? { received: this.details.received } : {}),
      ...(this.details.allowed ? { allowed: this.details.allowed } : {}),
      ...(this.details.fix ? { fix: this.details.fix } : {}),
      ...(this.details.problems ? { problems: this.details.problems } : {}),
    };
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Wraps anything thrown into a CutoverError (INTERNAL unless it already is one). */
export function asCutoverError(err: unknown): CutoverError {
  if (err instanceof CutoverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CutoverError('INTERNAL', message, { cause: err });
}

export function exitCodeFor(err: unknown): 1 | 2 | 3 {
  return asCutoverError(err).exitCode;
}
