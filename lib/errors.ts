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
  | 'PERMISSION_DENIED'
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
  /**
   * The command refused before it changed anything (e.g. a rollback after finalize): the engine
   * journals the run as refused, not failed, so `status` does not advise re-running it.
   * @default false - judged by the code (REFUSAL_CODES in lib/engine/engine.ts)
   */
  readonly changedNothing?: boolean;
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

/**
 * Wraps anything thrown into a CutoverError: INTERNAL unless it already is one, or a database
 * refused a statement for want of a privilege (PERMISSION_DENIED, exit 2: the roles in the URLs
 * are set up short of what the kit needs — not a bug in the kit).
 */
export function asCutoverError(err: unknown): CutoverError {
  if (err instanceof CutoverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isPrivilegeError(err)) {
    return new CutoverError('PERMISSION_DENIED', `a database refused the kit's role: ${message}`, {
      fix: 'run `npx cutover assess` with the same --env: it names every privilege the roles of source.url and target.url lack, with the statement that grants it (docs/config-reference.md, "the roles the URLs use"); then run this command again',
      cause: err,
    });
  }
  return new CutoverError('INTERNAL', message, { cause: err });
}

/** MySQL/MariaDB's "access denied" errors on an object (not 1045, a wrong password at connect). */
const MYSQL_PRIVILEGE_ERRORS: ReadonlySet<string> = new Set([
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_PROCACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
]);

/** PostgreSQL's SQLSTATE 42501 insufficient_privilege, or one of MySQL's access-denied errors. */
function isPrivilegeError(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown; sqlState?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return false;
  if (e.code === '42501') return typeof e.severity === 'string'; // a PostgreSQL server error (pg sets severity)
  return MYSQL_PRIVILEGE_ERRORS.has(e.code) && typeof e.sqlState === 'string';
}

export function exitCodeFor(err: unknown): 1 | 2 | 3 {
  return asCutoverError(err).exitCode;
}
