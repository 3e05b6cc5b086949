import type { AlarmJudgement } from './gate-alarms.ts';

/**
 * The role interfaces every platform implements (gh-ost's split): the inspector reads facts, the
 * streamer/replicator moves changes, the applier-side roles (router, fence, sequences) change
 * live systems, and the engine's phases only order them. `postgres` (local) and `aws` implement
 * the same interfaces, so phases, gates and the rehearsal are platform-neutral.
 *
 * The JSON shapes here marked "contract" are printed by `--json` and relied on by outside tests
 * (shared/CONTRACTS.md); add fields freely, never rename or remove one.
 */

/** `schema.table`. */
export type QualifiedName = string;
/** A row key: an object keyed by the SOURCE table's primary-key column names. */
export type RowKey = Record<string, unknown>;

// ---------------------------------------------------------------- inspector (assess)

export interface Finding {
  readonly id: string; // e.g. 'no-primary-key', 'duplicate-customers'
  readonly severity: 'blocker' | 'warning' | 'info';
  readonly table?: QualifiedName;
  /** How many (rows, keys, objects); null when not known, never a guessed 0. */
  readonly count: number | null;
  readonly sampleKeys: RowKey[];
  readonly message: string;
  /** What the mapping / the kit will do about it. */
  readonly handling: string;
}

export interface AssessReport {
  readonly ok: boolean; // false when any blocker
  /** Every table in the schemas read; `selected` says whether the forward mapping copies it (unset: not known). */
  readonly tables: { name: QualifiedName; rows: number; bytes: number; primaryKey: string[]; selected?: boolean }[];
  readonly findings: Finding[];
  readonly estimatedFullLoadSeconds?: number;
  readonly settings: Record<string, string>;
}

export interface Inspector {
  /** Connects to both sides; CONNECTION_FAILED / AUTH_FAILED with the host named on failure. */
  checkConnectivity(): Promise<void>;
  assess(): Promise<AssessReport>;
  /**
   * Green tables the reverse mapping would not bring back to blue (a rollback would lose their
   * writes after the switch), as a refusal message; null when all are covered or exempted. The
   * write switch asks this at the point of no return.
   * @default - not checked by this platform (`assess` reports it where it can)
   */
  reverseCoverageRefusal?(): Promise<string | null>;
}

// ---------------------------------------------------------------- backup store and snapshot

export interface SnapshotManifest {
  readonly id: string;
  readonly createdAt: string;
  readonly toolVersion: string;
  /** Consistent position of the snapshot (LSN locally, snapshot id on AWS). */
  readonly position: string;
  readonly tables: { name: QualifiedName; rows: number; file: string; sha256: string; bytes: number }[];
  readonly ddl?: string;
}

/** A snapshot folder with no manifest: never a usable backup (lib/backup/partial-backups.ts). */
export interface PartialBackup {
  readonly id: string;
  /** Objects in the folder so far. */
  readonly objects: number;
  /** Who was writing it, from its in-progress marker; null when it has none. */
  readonly owner: { readonly pid: number; readonly host: string; readonly startedAt: string } | null;
  /** Same host and that process is no longer running: safe to remove. */
  readonly ownerGone: boolean;
  /** What its run noted it had made on the source, e.g. `replication slot cutover_prod` (never removed with it). */
  readonly created: readonly string[];
}

export interface Snapshotter {
  /** `signal`: Ctrl-C stops it between tables (and mid-table where the copy allows), removing what it wrote (ABORTED). */
  snapshot(options?: { readonly signal?: AbortSignal }): Promise<SnapshotManifest>;
  /**
   * Latest (or given) backup re-read and checked against its manifest (count + sha256).
   * `signal`: Ctrl-C stops the re-reading (ABORTED; it only reads, so nothing is left behind).
   */
  verify(id?: string, options?: { readonly signal?: AbortSignal }): Promise<{ ok: boolean; problems: string[]; manifest: SnapshotManifest }>;
  /**
   * Restores a backup into an empty database and verifies counts and checksums. `signal`: Ctrl-C
   * stops it mid-table and removes what this run restored (ABORTED), so the database is empty again.
   */
  restore(options: { id?: string; targetUrl: string; readonly signal?: AbortSignal }): Promise<{ ok: boolean; problems: string[] }>;
  /**
   * Throws what `restore` would refuse before writing anything (no backup, an unknown id, a target
   * that is not empty or not reachable), and only reads: `restore --dry-run` fails as the real run would.
   */
  checkRestore(options: { id?: string; targetUrl: string }): Promise<void>;
  /** Complete backups (with a manifest), oldest first. */
  list(): Promise<SnapshotManifest[]>;
  /** Backups without a manifest (stopped or still being written). @default - none: the store has no partial objects (RDS) */
  partials?(): Promise<PartialBackup[]>;
}

// ---------------------------------------------------------------- replication (streamer + applier)

/** contract: `replicate status --json` */
export interface ReplicationTableStatus {
  readonly source: QualifiedName;
  readonly target: QualifiedName;
  readonly rows: number;
  readonly totalRows: number | null;
  readonly state: 'pending' | 'loading' | 'loaded' | 'cdc' | 'failed';
  readonly wave?: string;
  /** Row changes applied by CDC since the worker started (reverse replication has no full load). */
  readonly cdcChanges?: number;
  /** Seconds from the table's first chunk to its last one loaded, in this worker's run (lanes load other tables meanwhile). */
  readonly loadSeconds?: number;
}

/** contract: `replicate status --json` */
export interface ReplicationStatus {
  /** `stalled`: the worker runs (or seems to) but its heartbeat is older than `gates.maxHeartbeatAgeMs`. */
  readonly phase: 'not-started' | 'full-load' | 'cdc' | 'stopped' | 'failed' | 'stalled';
  readonly direction: 'forward' | 'reverse';
  /** Time lag measured against the source (heartbeats through the stream); null when unknown. */
  readonly lagMs: number | null;
  /** The source's current WAL position minus the position applied and confirmed. */
  readonly lagBytes: number | null;
  readonly appliedRowsPerSec: number;
  readonly tables: ReplicationTableStatus[];
  readonly deadLetters: number;
  /**
   * Source columns (`schema.table.column`) the stream carries that the mapping did not know when
   * the worker read it — added on the source during replication (`ALTER TABLE … ADD COLUMN`): their
   * values are NOT replicated. @default - none
   */
  readonly unreplicatedColumns?: readonly string[];
  /**
   * CDC changes applied since the worker started and the milliseconds batches were in flight:
   * `changes / busyMs` is what apply can sustain, whatever the write rate was (`cutover estimate`).
   */
  readonly applyCapacity?: { readonly changes: number; readonly busyMs: number; /** Time since CDC began: `changes / cdcMs` is the write rate it followed. */ readonly cdcMs?: number };
  /** Seconds from the first full-load chunk to the last, in this worker's run. */
  readonly fullLoadSeconds?: number;
  /** What pacing against blue's health cost the full load, in this worker's run. */
  readonly fullLoadPacing?: PacingFigures;
  /**
   * The worker process. `start`: when it started, as the kernel counts it (processStartMark), so a
   * later process that reuses the pid is not taken for it. @default start - absent: unknown (a file
   * written before the mark existed, or a system without /proc): the pid alone is judged.
   */
  readonly worker?: { pid: number; host: string; heartbeatAt: string; alive: boolean; start?: string | null };
  /** Last position applied on the target and confirmed to the source. */
  readonly appliedPosition?: string;
  /** Age of the newest heartbeat applied on the target, on the source's clock (CDC only). */
  readonly heartbeatAgeMs?: number | null;
  /**
   * Set while the worker has lost a connection (a server restarted) and is re-establishing it: it
   * applies nothing meanwhile, and once back it first catches up with what it missed, so no gate
   * may open on its lag until it is streaming again. @default - absent: connected (or not known)
   */
  readonly reconnectingSince?: string;
  /**
   * A large source transaction being applied while it arrives (PostgreSQL forward and reverse
   * workers, open-transaction-apply.ts): its changes received and applied so far in the target
   * transaction held open for it, which commits with its source commit. Nothing of it counts as
   * applied (position, rows/s, table counters) before that. @default - absent: none open
   */
  readonly openTransaction?: { readonly commitLsn: string; readonly changesReceived: number; readonly changesApplied: number; readonly commitReceived: boolean };
  readonly error?: string;
}

/** A slot of the kit and the WAL it keeps on the side it reads (`status`, `assess`). */
export interface SlotRetention {
  readonly slot: string;
  /** `source` for forward slots, `target` for reverse ones. */
  readonly side: 'source' | 'target';
  readonly active: boolean;
  /** WAL the server keeps for it (current WAL position minus its restart position); null when unknown. */
  readonly retainedBytes: number | null;
  /** PostgreSQL 13+ `wal_status` (`lost`: the slot can no longer stream); null before 13. */
  readonly walStatus: string | null;
  /** The configured warning size (`replication.retainedWalWarnMb`), in bytes. */
  readonly warnAboveBytes: number;
  /** Inactive and retaining more than `warnAboveBytes`, or lost: the disk of that side fills while nothing reads it. */
  readonly warn: boolean;
}

export interface Replicator {
  readonly direction: 'forward' | 'reverse';
  /** How it moves the data, in one line (what `replicate start --dry-run` prints). @default - full load from the snapshot position, then CDC */
  readonly method?: string;
  /**
   * Starts (or resumes) the worker; returns once it is healthy. Forward: full load then CDC.
   * Reverse: CDC only, from `fromPosition` (captured by the switch).
   */
  start(options?: { wave?: string; foreground?: boolean; fromPosition?: string }): Promise<ReplicationStatus>;
  status(): Promise<ReplicationStatus>;
  stop(): Promise<void>;
  /** The source's current write position (LSN / CDC position). */
  sourcePosition(): Promise<string>;
  /** Resolves true once the target has applied everything up to `position`; false on timeout. */
  waitForPosition(position: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Drops slots/publications/tasks (finalize). Idempotent. */
  teardown(): Promise<void>;
  /**
   * This direction's slots that exist now, with the WAL each retains on the side it reads.
   * @default - not reported by this platform (DMS manages its own slots)
   */
  slots?(): Promise<SlotRetention[]>;
}

// ---------------------------------------------------------------- throttler (pacing reads on blue)

/** Blue's health as the throttler last read it; a figure is null when its source could not say. */
export interface SourceHealth {
  /** The blue app's p99 over the pacing window (router metrics); null with too few requests or no router. */
  readonly blueP99Ms: number | null;
  /** Requests blue answered in that window. */
  readonly blueRequests: number;
  /** Sessions running a statement on the source, the kit's own not counted. */
  readonly activeSessions: number | null;
  /** Round trip of a `select 1` on the source. */
  readonly probeMs: number | null;
}

/** What pacing cost one phase (`validate --json`'s `pacing`, the snapshot's and the rehearsal's figures). */
export interface PacingFigures {
  readonly enabled: boolean;
  /** Chunks (or stream slices) that went through the throttler. */
  readonly chunks: number;
  /** Times reads began to wait because blue was under stress. */
  readonly pauses: number;
  /** Wall time with at least one reader waiting. */
  readonly pausedMs: number;
  /** Wall time of the rests after chunks (`pacing.niceRatio`), summed per reader. */
  readonly restedMs: number;
  /** Pauses ended by `pacing.maxPauseMs` while blue was still under stress (reads then ran as long unpaused). */
  readonly forcedResumes: number;
  /** Pauses by what caused them: `blue-p99`, `active-sessions`, `probe`. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Highest blue p99 seen (ms), null when no router said. */
  readonly maxBlueP99Ms: number | null;
  /** Chunks whose rows adapted to `pacing.chunkTargetMs` (full load, validation). @default - none adapted (fixed chunks, or a stream) */
  readonly chunkSizing?: ChunkSizingFigures;
}

/** The adapted chunks of one phase: how many, and the rows of the smallest, largest and latest. */
export interface ChunkSizingFigures {
  readonly targetMs: number;
  readonly chunks: number;
  readonly smallestRows: number;
  readonly largestRows: number;
  readonly lastRows: number;
}

/**
 * gh-ost's throttler: the kit's reads on the source (snapshot, full load, validation) ask it
 * before each chunk. It waits while blue is under stress (the blue app's p99, active sessions,
 * the source's own answer time against `pacing`), at most `pacing.maxPauseMs` at a time (then
 * reads run as long unpaused), and rests after each chunk for `pacing.niceRatio` times its time.
 */
export interface Throttler {
  /**
   * Waits until blue is healthy (or `maxPauseMs` passed), runs `chunk`, rests; returns its result.
   * With `sized`, the chunk's rows (`sized.rows` of its result) and its time feed `sized.key`'s
   * chunk size (`chunkRows`).
   */
  paced<T>(topic: string, chunk: () => Promise<T>, sized?: { readonly key: string; readonly rows: (result: T) => number }): Promise<T>;
  /**
   * Rows for the next chunk read under `key` (a table), adapted so a chunk takes about
   * `pacing.chunkTargetMs`; null while chunks are fixed (pacing off, or `chunkTargetMs` 0).
   */
  chunkRows(key: string): number | null;
  /** Time of one slice of a paced stream (the snapshot's COPY): `pacing.chunkTargetMs`, or 250 ms when chunks are fixed. */
  readonly sliceMs: number;
  /** For a stream read in slices (the snapshot's COPY): rests `niceRatio` × `workedMs`, then waits like `paced`. */
  pause(topic: string, workedMs: number): Promise<void>;
  /** Figures for a progress line: `paused` (why, while readers wait), `pauses` and `paused s` so far, and `chunk rows` (of `key`'s next chunk, when adapted). */
  progressFigures(key?: string): Record<string, string | number>;
  /** Totals since `reset()` (or creation). */
  figures(): PacingFigures;
  /** Starts a new phase's totals. */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- validation

export interface ColumnSample {
  readonly key: RowKey;
  readonly column: string; // target column name
  readonly source: unknown;
  readonly target: unknown;
}

/** contract: `validate --json` tables[] */
export interface TableDiff {
  readonly source: QualifiedName;
  readonly target: QualifiedName;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly missing: RowKey[];
  readonly extra: RowKey[];
  readonly different: RowKey[];
  readonly samples: ColumnSample[];
  /** Differences seen once but gone after replication caught up. */
  readonly inFlight: number;
  /** Source rows the target rejected, recorded in the dead-letter table (not counted as missing). */
  readonly deadLetter: RowKey[];
  readonly chunks: { total: number; mismatched: number };
}

/** contract: `validate --json` */
export interface ValidationReport {
  readonly equal: boolean;
  readonly tables: TableDiff[];
  /** `inFlight`: differed while replication ran (not a failure; the frozen validation at the switch decides). */
  readonly reconciliation: { name: string; equal: boolean; source: unknown; target: unknown; inFlight?: boolean }[];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly figures: {
    rowsCompared: number;
    rowsFetched: number;
    chunks: number;
    mismatchedChunks: number;
    /** Time the reconciliation's whole-table aggregates took (a changed-rows check): they grow with the data, the rest with the changes. @default - not measured */
    reconciliationMs?: number;
  };
  /** What a frozen validation compared. @default - every row (full) */
  readonly scope?: ValidationScope;
  /** `refreshBaseline()`: whether the baseline moved to this check's start. @default - not asked */
  readonly baselineRefreshed?: boolean;
  /** What pacing against blue's health cost this validation. @default - not paced (frozen, or no throttler) */
  readonly pacing?: PacingFigures;
}

/**
 * A frozen validation compares every row (`full`), or only the rows changed since the last passing
 * full validation (`changed-rows`, lib/diff/changed-rows.ts), plus whole tables it could not
 * narrow (`fullTables`).
 */
export type ValidationScope =
  | { readonly kind: 'full'; readonly reason: string }
  | {
      readonly kind: 'changed-rows';
      /** Source position the full validation started from. */
      readonly since: string;
      readonly baselineFinishedAt: string;
      /** Changed keys compared, and in how many tables. */
      readonly changedRows: number;
      readonly tablesWithChanges: number;
      readonly fullTables: readonly { readonly table: string; readonly reason: string }[];
    };

export interface ValidateOptions {
  /** Only these source tables (`schema.table`). @default every mapped table */
  readonly tables?: QualifiedName[];
  /** Source is frozen (write switch): no lag re-check needed. @default false */
  readonly frozen?: boolean;
  /** Write repair statements (target terms) to this file. */
  readonly repairSqlFile?: string;
  /** Apply the repair through the replicator's apply path. @default false */
  readonly repair?: boolean;
  readonly signal?: AbortSignal;
}

export interface Validator {
  validate(options?: ValidateOptions): Promise<ValidationReport>;
  /**
   * While replication runs: compares only the rows changed since the last passing full validation,
   * re-checking differences as replication catches up, and when all are equal moves that baseline to
   * this check's start. The write switch runs it just before the hold, so the frozen check inside
   * covers seconds of changes instead of everything since the full validation. The report's
   * `baselineRefreshed: false` (with `scope.reason` when nothing was compared) says it did not move.
   * @default - not offered: the frozen check covers everything since the full validation
   */
  refreshBaseline?(signal?: AbortSignal): Promise<ValidationReport>;
  /**
   * The frozen check's setup done before the write hold: sessions opened on both sides, the
   * mapping, both catalogs and the dead letters read. Inside the hold the returned check reads only
   * what must be read frozen (the record of changed keys, the changed rows, the reconciliation).
   * The switch closes it whatever happens.
   * @default - not offered: `validate({ frozen: true })` does its setup inside the hold
   */
  prepareFrozen?(): Promise<PreparedFrozenCheck>;
}

/** A frozen validation made ready before the write hold (`Validator.prepareFrozen`). */
export interface PreparedFrozenCheck {
  /** `validate({ frozen: true })` on the prepared sessions and plans. */
  validate(signal?: AbortSignal): Promise<ValidationReport>;
  /** Ends its sessions (idempotent). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- traffic

export type Side = 'blue' | 'green';

export interface RouterState {
  /** Percent of reads sent to green, 0..100. */
  readonly readWeightGreen: number;
  readonly writeTarget: Side;
  readonly writesHeld: boolean;
  readonly heldCount: number;
  /**
   * A hold reached its cap with no one releasing it: writes are answered 503 (Retry-After) until
   * the runbook releases or holds again (`writesHeld` stays true meanwhile). @default - false
   */
  readonly writesRefused?: boolean;
}

/** Cumulative since the router started; gates compute windows from two snapshots. */
export interface UpstreamMetrics {
  /** Attempts completed (answered or failed), so a window's failures are among its requests. */
  readonly requests: number;
  readonly status2xx: number;
  readonly status4xx: number;
  readonly status5xx: number;
  /** Resets, refused connections, timeouts. */
  readonly errors: number;
  /** Requests this upstream failed that the router retried (a read on blue, a write answered "not applied" again): the client did not see the failure. */
  readonly retriedOnBlue: number;
  /** Histogram: bucket upper bounds in ms and cumulative counts per bucket (same length). */
  readonly latencyBucketsMs: readonly number[];
  readonly latencyCounts: readonly number[];
}

export interface RouterMetrics {
  readonly at: string;
  readonly upstreams: { readonly blue: UpstreamMetrics; readonly green: UpstreamMetrics };
  readonly held: {
    readonly total: number;
    readonly current: number;
    /** Writes answered 503 because a hold reached its cap with no one releasing it. @default - 0 (not reported) */
    readonly refused?: number;
    readonly holdMsBuckets: readonly number[];
    readonly holdMsCounts: readonly number[];
    readonly maxHoldMs: number;
  };
  readonly clientFailures: number;
}

/** The writes in flight when a hold began, and whether all of them finished within the drain wait. */
export interface WriteDrain {
  readonly inflightAtHold: number;
  readonly drained: boolean;
}

export interface TrafficRouter {
  state(): Promise<RouterState>;
  setReadWeight(greenPercent: number): Promise<void>;
  /**
   * Holds new write requests (never fails them) for at most `maxHoldMs`, then releases them to the
   * current target; resolves once the writes already on their way when the hold began have
   * finished, or `drainMs` has passed (default: the router's own, at most 5 s). Says which, or null
   * where the router cannot tell (an ALB: it does not count requests in flight).
   */
  holdWrites(maxHoldMs: number, drainMs?: number): Promise<WriteDrain | null>;
  setWriteTarget(side: Side): Promise<void>;
  /**
   * Releases held writes to the current write target; returns hold-time figures of this hold and
   * `refused`: writes answered 503 because the hold outlasted its cap (absent when none were).
   */
  releaseWrites(): Promise<{ released: number; holdMs: { p50: number; p99: number; max: number }; refused?: number }>;
  metrics(): Promise<RouterMetrics>;
}

/**
 * Shadow reads (lib/router/shadow-mirror.ts): while reads are all on blue, the router sends a
 * sampled share of GET/HEAD requests to green as well (and some to blue a second time, to
 * measure blue's own noise). The client always gets blue's answer; the shadow phase compares.
 */
export interface ShadowSettings {
  /** Percent of GET/HEAD requests mirrored, 0..100 (0: mirroring off). */
  readonly percent: number;
  /** Percent of the mirrored requests also sent to blue a second time (blue-vs-blue noise). */
  readonly noisePercent: number;
  /** A shadow call not answered in full within this is a failure of that side (green: judged by the gate). */
  readonly timeoutMs: number;
  /** Shadow calls in flight at once; a request over it is not mirrored (a drop of the kit's, counted as `concurrency`). */
  readonly maxConcurrent: number;
}

/** One side's answer to a shadow call (or blue's answer to the client). */
export interface ShadowAnswer {
  /** null: no answer (`failure` says why). */
  readonly status: number | null;
  /** Why there is no answer: no full answer within the timeout, a transport error, or a body over the limit. */
  readonly failure?: 'timeout' | 'error' | 'too large';
  /** The body as UTF-8 text ('' for HEAD). */
  readonly body: string;
  readonly contentType?: string;
  readonly error?: string;
  readonly ms: number;
}

/** A request answered by blue (to the client) and by green in the shadow; `blueAgain` when noise was sampled. */
export interface ShadowSample {
  /** Increasing number, for reading samples after a given one. */
  readonly seq: number;
  readonly at: string;
  readonly method: string;
  readonly path: string;
  readonly blue: ShadowAnswer;
  readonly green: ShadowAnswer;
  readonly blueAgain?: ShadowAnswer;
}

/** Counters of the mirror since the router started (cumulative). */
export interface ShadowFigures {
  /** The settings in force, null when mirroring is off. */
  readonly settings: ShadowSettings | null;
  /** Requests chosen for mirroring. */
  readonly sampled: number;
  /** Samples kept for the phase to read: blue's answer and green's (or green's failure). */
  readonly completed: number;
  /** Shadow calls in flight now. */
  readonly inflight: number;
  /** Chosen reads whose blue answer has not ended yet (mirrored once it has, even after "off"). */
  readonly awaitingBlue?: number;
  /**
   * Requests chosen but not compared, by reason: over the concurrency limit, a body too large to
   * keep, overwritten before the phase read it (the kit's own), or blue failed the read (nothing
   * to compare green with). Neutral: not green's doing (they lower the samples; too few is
   * "not proven").
   */
  readonly dropped: { readonly concurrency: number; readonly tooLarge: number; readonly overwritten: number; readonly blueFailed: number };
  /** Samples where green gave no answer (kept, with green's failure: the phase judges them as green's). */
  readonly greenFailed: { readonly timeout: number; readonly error: number };
  /** seq of the newest sample. */
  readonly lastSeq: number;
}

/** The router's mirroring, for the shadow phase; absent where the router cannot mirror (an ALB). */
export interface ShadowMirror {
  /** Turns mirroring on with these settings, or off (null); returns the figures. */
  configureShadow(settings: ShadowSettings | null): Promise<ShadowFigures>;
  /** The figures now, settings included (null: mirroring is off); changes nothing. */
  shadowFigures(): Promise<ShadowFigures>;
  /** Samples with seq > `after` (oldest first, at most `limit`), and the figures now. */
  shadowSamples(after: number, limit: number): Promise<{ samples: ShadowSample[]; figures: ShadowFigures }>;
  /** Sends one read to both sides now (marked as a shadow call) and returns both answers. */
  recheck(request: { method: string; path: string }): Promise<{ blue: ShadowAnswer; green: ShadowAnswer }>;
}

/** Makes a side's database refuse writes (read-only) and back. */
/** What a fence that can tell reports when it closed (the MySQL family's): journaled and printed by the switch. */
export interface FenceReport {
  /** Client sessions it ended. */
  readonly killed: number;
  /** Accounts that can still write into the fenced side (`'user'@'host'`): no application may use them. */
  readonly writersWhileFenced: readonly string[];
}

export interface WriteFence {
  /** @returns what the fence did, where it can tell; else nothing */
  refuseWrites(side: Side): Promise<FenceReport | void>;
  allowWrites(side: Side): Promise<void>;
  isRefusingWrites(side: Side): Promise<boolean>;
}

/** Which way sequences move: the side written is the one that takes writes next. */
export type SequenceDirection = 'forward' | 'reverse';

export interface SequenceSync {
  /**
   * `forward` (the write switch, the default): every green (target) sequence/identity above the
   * highest value blue handed out for the mapped column, plus `gap`. `reverse` (the rollback):
   * every blue sequence above the highest value green handed out (its sequence or its largest
   * id, through the reverse mapping's names), plus `gap`, so blue's next insert cannot collide
   * with a row green wrote. Never lowers a sequence; idempotent. In each result `sourceValue` is
   * the value read on the side that was written before (blue forward, green reverse), and
   * `name`/`targetValue` are the moved sequence and its value now.
   */
  syncSequences(gap: number, direction?: SequenceDirection): Promise<{ name: string; sourceValue: number; targetValue: number }[]>;
  /**
   * Before the write hold: whatever syncSequences can do ahead — find the sequences, move them
   * above the other side's values now — so the call inside the hold only moves what changed since.
   * Safe only where the side being moved takes no writes yet. @default - none: all of it inside the hold
   */
  prepare?(gap: number, direction?: SequenceDirection): Promise<{ name: string; sourceValue: number; targetValue: number }[]>;
}

// ---------------------------------------------------------------- the kit's own objects (cancel)

/** One object the kit created in a database (`cutover cancel` lists and removes them). */
export interface KitTrace {
  /** `source` is blue's database, `target` green's. */
  readonly side: 'source' | 'target';
  readonly kind: 'slot' | 'publication' | 'origin' | 'schema';
  /** The object's name as the database knows it, e.g. `cutover_lab`, `_cutover`. */
  readonly name: string;
  /** What it holds, as read now (retained WAL, the objects inside a schema, dead letters kept). */
  readonly detail?: string;
}

/** Finds and removes the kit's own objects in both databases, read from their catalogs (never guessed). */
export interface KitCleaner {
  /** Every object of the kit that exists now on either side, in the order `remove` should take them. */
  inventory(): Promise<KitTrace[]>;
  /** Drops one object; idempotent (an object already gone is not an error). Returns what it kept aside, if anything. */
  remove(trace: KitTrace): Promise<string | null>;
}

/** Everything a phase may touch, for one environment. */
/** The alarms of a gate (lib/platform/gate-alarms.ts): ALARM is red; missing or INSUFFICIENT_DATA is not proven. */
export interface GateAlarms {
  judge(gate: 'shift' | 'bake'): Promise<AlarmJudgement>;
}

export interface Platform {
  readonly name: 'postgres' | 'aws';
  readonly inspector: Inspector;
  readonly snapshotter: Snapshotter;
  readonly forward: Replicator;
  readonly reverse: Replicator;
  readonly validator: Validator;
  readonly router: TrafficRouter;
  readonly fence: WriteFence;
  readonly sequences: SequenceSync;
  /**
   * CloudWatch alarms the shift and bake gates read (aws); absent on a platform whose gates judge
   * the router's own metrics only (postgres).
   */
  readonly alarms?: GateAlarms;
  /**
   * The router's shadow reads (the kit's own router). @default - none: an ALB cannot mirror, so
   * the shadow phase reports "not available" unless the config skips it with a reason
   */
  readonly shadow?: ShadowMirror;
  /**
   * The kit's own objects in both databases, for `cutover cancel`.
   * @default - none: `cancel` answers NOT_SUPPORTED on this platform
   */
  readonly cleaner?: KitCleaner;
  /**
   * Paces the kit's reads on the source against blue's health (snapshot and validate; the
   * replication worker makes its own for the full load). @default - none: reads never wait
   */
  readonly throttler?: Throttler;
  /** Releases connections and clients. */
  close(): Promise<void>;
}
