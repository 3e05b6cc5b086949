/**
 * Where journal records and the operator lock live: a JSONL file and a lockfile under
 * `.cutover/<env>/` for `postgres` environments, objects in the backup bucket (conditional
 * writes, never overwritten) for `aws`. The engine talks only to these interfaces.
 */
export interface JournalRecord {
  /** 1-based, gap-free per environment. */
  readonly seq: number;
  readonly time: string;
  readonly operator: string;
  readonly host: string;
  readonly pid: number;
  readonly env: string;
  /** A phase name, `rollback`, or `engine`. */
  readonly phase: string;
  /** e.g. `apply`, `verify`, `router.setReadWeight`, `switch.flip`. */
  readonly action: string;
  readonly status: 'started' | 'ok' | 'failed' | 'info';
  readonly inputs?: Readonly<Record<string, unknown>>;
  readonly result?: unknown;
  readonly figures?: Readonly<Record<string, unknown>>;
}

export type NewJournalRecord = Omit<JournalRecord, 'seq'>;

export interface JournalStore {
  /** Appends one record; never overwrites (a concurrent append gets the next seq). */
  append(record: NewJournalRecord): Promise<JournalRecord>;
  readAll(): Promise<JournalRecord[]>;
  /** Where it lives, for messages (`file:///…/journal.jsonl`, `s3://bucket/journal/staging/`). */
  readonly location: string;
}

export interface LockHolder {
  readonly operator: string;
  readonly host: string;
  readonly pid: number;
  /** When the holder's process started (see OperatorIdentity.start). @default - absent in locks of older kits: the pid alone */
  readonly start?: string | null;
  readonly command: string;
  readonly since: string;
}

export interface LockAcquireOptions {
  readonly takeOverStale?: boolean;
  readonly force?: boolean;
  readonly override?: boolean;
}

export interface LockStore {
  /**
   * Takes the lock, or throws CutoverError('LOCKED') naming the holder and since when.
   * `takeOverStale` (rollback, --force-unlock) takes it from a holder that is provably dead.
   * `override` (only `cutover unlock --force`, after its warning) takes it whoever holds it.
   */
  acquire(holder: LockHolder, options?: LockAcquireOptions): Promise<void>;
  release(): Promise<void>;
  current(): Promise<LockHolder | null>;
}
