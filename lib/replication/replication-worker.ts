import os from 'node:os';
import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { ReplicationStatus, ReplicationTableStatus } from '../platform/roles.ts';
import { ChangeApplier, type ApplyTable, type BatchResult, type SubmittedBatch } from './change-applier.ts';
import { ChangeStream, type SourceTransaction } from './change-stream.ts';
import { ApplyCapacityMeter } from './apply-capacity.ts';
import { openApplySession } from './apply-session.ts';
import { CATCH_UP_HOLD_MS, holdForFullBatch, TargetsTurn } from './catch-up-batching.ts';
import { catchUpTakesTurns } from './shared-cores.ts';
import { warmUpApplyPathOnce } from './apply-warm-up.ts';
import { countDeadLetters, ensureControlSchema, readAppliedCommitAt, readAppliedLsn, resetStream, writeAppliedLsn } from './control-schema.ts';
import { pacingSchema } from '../config/common-schema.ts';
import type { PacingFigures } from '../platform/roles.ts';
import { openTogether } from '../platform/open-together.ts';
import { openSourceThrottler } from './open-source-throttler.ts';
import type { SourceThrottler } from '../throttle/source-throttler.ts';
import { planChunks, runFullLoad } from './full-load.ts';
import { compareLsn, maxLsn } from './lsn.ts';
import { mappingEngine, resolveMappedTables, sourceName, targetName } from '../mappings/mapped-tables.ts';
import { UnreplicatedColumns } from './unreplicated-columns.ts';
import { createSlot, createSlotWithSnapshot, ensurePublication, slotInfo, type ExportedSlot } from './replication-slot.ts';
import { quoteLiteral } from './sql-names.ts';
import { thisWorker, type WorkerStatusFile } from './status-file.ts';
import { AppliedRateWindow, WorkerStatusWriter } from './status-writer.ts';
import { appliedByKit, streamNames, type Direction, type StreamNames } from './stream-names.ts';
import { HEARTBEAT_EVERY_MS } from './stream-health.ts';
import { BATCH_BYTES, TransactionQueue } from './transaction-queue.ts';
import { OpenTransactionApply } from './open-transaction-apply.ts';
import { BackPressure } from './back-pressure.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { pruneChangedKeysEvery } from '../postgres/changed-key-retention.ts';

export interface WorkerOptions {
  readonly wave?: string;
  /** Reverse: transactions committed before this position are not applied. */
  readonly fromPosition?: string;
  /**
   * Test only: also stream changes the kit applied itself (no skipping of the other direction's
   * replication origins), so a test can show that forward + reverse then loop. @default false
   */
  readonly replicateOwnChanges?: boolean;
  /** Heartbeat / status file interval. @default 250 */
  readonly heartbeatMs?: number;
  /** The launch this run belongs to, written into its status file (worker-launcher.ts). @default - none */
  readonly runId?: string;
  /** How often CDC emits its heartbeat on the source. @default HEARTBEAT_EVERY_MS */
  readonly sourceHeartbeatMs?: number;
  /** Forward: how often the record of changed keys is pruned. @default PRUNE_CHANGED_KEYS_EVERY_MS */
  readonly changedKeyPruneMs?: number;
}

const IDLE_PING_MS = 250;
/**
 * How long the pipeline stays empty before the status file gets the newest applied position.
 * A write costs ~0.4 ms CPU (four thread-pool round trips); per batch, a trickle of transactions
 * wrote ~20 a second. While transactions keep arriving the heartbeat's write every 250 ms
 * suffices; when the source goes quiet (a switch's hold: `waitForPosition` polls this file) the
 * position is on disk this long after its batch (the writer's 50 ms throttle gave up to 50 ms).
 */
const STATUS_QUIET_MS = 30;
/** Batches in flight on the apply session at once. */
const PIPELINE_DEPTH = 2;
/** How long the worker keeps reconnecting after a lost connection before it fails. */
const RECONNECT_FOR_MS = 120_000;
const CONNECTION_LOSS_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** PostgreSQL's lock_not_available: a lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/** A server that went away (restart, shutdown, network), as opposed to a problem with the data or the setup. */
export function isConnectionLoss(err: unknown): boolean {
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code && CONNECTION_LOSS_CODES.has(e.code)) return true;
    if (/Connection terminated|terminating connection due to administrator command|the database system is (shutting down|starting up)|connect ECONNREFUSED|Client has encountered a connection error|server closed the connection/i.test(e.message ?? '')) return true;
  }
  return false;
}
/** A CDC apply session and the applier on it. */
interface OpenApplier {
  readonly session: pg.Client;
  readonly applier: ChangeApplier;
}

/** Changes in the first batch after start (see the slow start in cdc()). */
const FIRST_BATCH_CHANGES = 50;
/**
 * A source transaction of more than this many batches' worth of changes (replication.batchSize)
 * is applied while it arrives, in parts of that size, in one target transaction
 * (open-transaction-apply.ts); smaller ones arrive whole and are batched. 5 × the default 2,000:
 * 10,000 changes, the applier's largest statement (MAX_GROUP_ROWS).
 */
const OPEN_PART_BATCHES = 5;
/**
 * A source transaction of more than this many bytes (its changes' pgoutput messages) is applied
 * while it arrives too, in parts of about that size, whatever its count of changes: 4,000 rows
 * of 50 kB, held whole until their commit and applied as one batch, took the worker to 830 MB
 * resident (bench/replication-wide-rows.ts); a part, like a batch, is at most BATCH_BYTES.
 */
const OPEN_PART_BYTES = BATCH_BYTES;
/**
 * Bytes of changes received and not applied yet (queued, in flight, parts and transactions of a
 * large transaction waiting) above which the stream is paused, until they are below half of it.
 * What the worker holds is then at most this, plus the transaction or part the stream is
 * assembling (OPEN_PART_BYTES) and one read: ~80 MB of changes, and one change more when a
 * single change is larger than that. The counts of changes (batchSize, the queue's pauseAt) still
 * bound narrow rows first.
 */
const HELD_BYTES = 64 * 1024 * 1024;

function bytesOf(txns: readonly SourceTransaction[]): number {
  let n = 0;
  for (const t of txns) n += t.bytes ?? 0;
  return n;
}

/**
 * One replication stream, start to stop: full load from the slot's consistent point (resumable
 * chunk by chunk), then CDC from the same slot, applied in source commit order. Runs detached
 * (worker-main.ts) or in-process (`--foreground`, tests, benchmarks); either way it reports
 * through the status file.
 */
export class ReplicationWorker {
  readonly names: StreamNames;
  private readonly tables = new Map<string, { source: string; target: string; rows: number; totalRows: number | null; state: ReplicationTableStatus['state']; cdcChanges: number; loadSeconds?: number }>();
  /** When each table's first chunk started in this run (loadSeconds is measured from it). */
  private readonly loadStarted = new Map<string, number>();
  /** CDC changes applied and the time batches were in flight: the apply capacity, whatever the write rate. */
  private readonly applyCapacity = new ApplyCapacityMeter();
  private fullLoadSeconds: number | undefined;
  private fullLoadPacing: PacingFigures | undefined;
  private phase: ReplicationStatus['phase'] = 'not-started';
  private error: string | undefined;
  private applied: string | null = null;
  private replayUntil: string | null = null;
  private deadLetters = 0;
  private readonly startedAt = new Date().toISOString();
  private cdcSince: string | undefined;
  private liveSince: string | undefined;
  private heartbeatError: string | undefined;
  private readonly rate = new AppliedRateWindow();
  private readonly queue: TransactionQueue<SourceTransaction>;
  private keepaliveLsn: string | null = null;
  private wake: (() => void) | null = null;
  private streamError: Error | null = null;
  /** Set while a lost connection is being re-established (see runReconnecting). */
  private disconnectedSince: number | null = null;
  /** Source commit time of the oldest change read and not applied when the connection was lost. */
  private lostOldestCommitAt: number | null = null;
  /** Source commit time (ms) of the newest transaction applied on the target by this worker. */
  private appliedCommitAt: number | null = null;
  /**
   * From each start of streaming (first start or reconnect) until the target has applied every
   * transaction the source had committed by then (`untilLsn`): the backlog in the slot. Until its
   * first transaction arrives the queue is empty, which must not read as "no lag" (see status()).
   */
  private catchUp: { readonly untilLsn: string; readonly since: number; readonly reconnected: boolean } | null = null;
  /** Commit position of the newest transaction the stream delivered whole. */
  private receivedLsn: string | null = null;
  /** Source columns added during replication, whose values are not replicated (noticeNewColumns). */
  private readonly unreplicatedColumns: UnreplicatedColumns;
  /** The mapped tables of this run (noticeNewColumns). */
  private applyTables: readonly ApplyTable[] = [];
  /** Since when the next batch is held back to fill (holdBatch); null when not. */
  private holdingSince: number | null = null;
  private readonly statusWriter: WorkerStatusWriter;
  /** A batch was applied since the last status write was requested. */
  private statusStale = false;
  /** When changes were last committed on the target, or a part of a large transaction applied (this machine's clock). */
  private appliedAt: number | null = null;
  /** Batches sent to the apply session and not yet settled, oldest first. */
  private readonly inflight: SubmittedBatch[] = [];
  /** The batch whose apply failed and is being applied again (no longer in `inflight`, not applied yet). */
  private recovering: SubmittedBatch | null = null;
  /**
   * Large source transactions applied while they arrive, oldest first (the queue holds only what
   * committed before the first; each holds what committed after it until the next).
   */
  private readonly opens: OpenTransactionApply[] = [];
  /** Bytes of the batches in `inflight` and `recovering` (see HELD_BYTES). */
  private inflightBytes = 0;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    readonly direction: Direction,
    private readonly options: WorkerOptions,
    private readonly out: Output,
  ) {
    this.names = streamNames(env, direction, options.wave);
    this.queue = new TransactionQueue({ batchSize: env.replication.batchSize, firstBatch: FIRST_BATCH_CHANGES });
    this.statusWriter = new WorkerStatusWriter(this.names.statusFile, () => this.status());
    this.unreplicatedColumns = new UnreplicatedColumns(out, `replicate ${this.names.id}`, () => this.writeStatus(true));
  }

  /** Runs until `signal` aborts (then status `stopped`) or a fatal error (status `failed`, rethrown). */
  async run(signal: AbortSignal): Promise<void> {
    const heartbeat = setInterval(() => this.writeStatus(), this.options.heartbeatMs ?? 250);
    this.writeStatus();
    try {
      await this.runReconnecting(signal);
      this.phase = 'stopped';
      for (const t of this.tables.values()) if (t.state === 'loading' || t.state === 'pending') t.state = 'pending';
    } catch (err) {
      this.phase = signal.aborted ? 'stopped' : 'failed';
      this.error = err instanceof CutoverError ? err.describe() : (err as Error).message;
      if (!signal.aborted) {
        this.out.error(`replicate ${this.names.id}`, this.error);
        throw err;
      }
    } finally {
      clearInterval(heartbeat);
      this.writeStatus(true);
      await this.statusWriter.settled();
    }
  }

  /**
   * `runPhases`, again after a lost connection (a server restarted, a network blip) for up to
   * RECONNECT_FOR_MS: it resumes where the databases say it stopped — a full load from its
   * committed chunks, CDC from the slot's confirmed position, skipping what the target's applied
   * position already has — so nothing is lost or applied twice. While disconnected the status
   * says so, and lag is at least the time since the connection was lost (never 0).
   */
  private async runReconnecting(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runPhases(signal);
        this.disconnectedSince = null;
        return;
      } catch (err) {
        if (signal.aborted || !isConnectionLoss(err)) throw err;
        this.disconnectedSince ??= Date.now();
        const oldest = this.recovering?.txns[0] ?? this.inflight[0]?.txns[0] ?? this.queue.oldest ?? this.opens[0];
        this.recovering = null;
        if (oldest && this.lostOldestCommitAt === null) this.lostOldestCommitAt = oldest.commitTime.getTime();
        if (Date.now() - this.disconnectedSince > RECONNECT_FOR_MS) throw err;
        const message = (err as Error).message;
        if (attempt === 1 || attempt % 20 === 0) this.out.warn(`replicate ${this.names.id}`, `connection lost (${message}): reconnecting (attempt ${attempt})`);
        this.error = `reconnecting: ${message}`;
        // what was read but not applied is read again from the slot
        this.queue.clear();
        this.inflight.length = 0;
        this.inflightBytes = 0;
        this.opens.length = 0;
        this.streamError = null;
        this.keepaliveLsn = null;
        this.writeStatus(true);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  }

  private async runPhases(signal: AbortSignal): Promise<void> {
    const n = this.names;
    const wave = n.wave ? this.env.replication.waves.find((w) => w.name === n.wave) : undefined;
    if (n.wave && !wave) {
      throw new CutoverError('USAGE', `unknown wave "${n.wave}"`, {
        received: n.wave,
        allowed: this.env.replication.waves.map((w) => w.name).join(', ') || '(no waves configured)',
        fix: 'use a wave name from replication.waves in the config',
      });
    }
    // both sessions at once (a start waits for one set-up, not two); when one side is down
    // (restarting) the other's session must not stay open: the worker retries
    const [reader, writer] = await openTogether(connect(n.readUrl), connect(n.writeUrl));
    const transformers: ApplyTable[] = [];
    let applySession: Promise<OpenApplier> | null = null;
    const closeApplier = async () => {
      const opening = applySession;
      applySession = null;
      await opening?.then(({ session }) => session.end()).catch(() => {});
    };
    try {
      const mapped = await resolveMappedTables(reader, n.readScope, n.mappingFile, this.out, wave);
      for (const table of mapped) transformers.push({ table, transformer: await mappingEngine.createRowTransformer(table) });
      this.applyTables = transformers;
      this.unreplicatedColumns.mapping = await mappingEngine.loadTableMappings(n.mappingFile);
      for (const t of mapped) {
        this.tables.set(sourceName(t), { source: sourceName(t), target: targetName(t), rows: 0, totalRows: null, state: 'pending', cdcChanges: 0 });
      }
      // The apply session opens while the worker prepares its stream: a backlog's first batch
      // then waits for the stream alone (opened beside the stream, the session was ready 15–20 ms
      // after the stream's first rows). A failure to open it is thrown where CDC needs it, as before.
      applySession = this.openApplier(transformers);
      applySession.catch(() => {});
      // forward: the apply path compiles on the applier CDC will use (apply-warm-up.ts); it only
      // ever saves time, so a failure of its own is a warning
      const warmUp =
        this.direction === 'forward'
          ? applySession.then(
              ({ applier }) => warmUpApplyPathOnce(transformers, signal, applier).catch((err: Error) => this.out.warn(`replicate ${n.id}`, `apply warm-up skipped: ${err.message}`)),
              () => {},
            )
          : undefined;
      await ensureControlSchema(writer);
      await ensurePublication(reader, n.publication, mapped);
      const exported = await this.prepareSlot(reader, writer);
      try {
        const state = await writer.query<{ complete: boolean; planned: boolean; replay_until: string }>(
          'select complete, planned, replay_until::text from _cutover.load_state where slot = $1',
          [n.slot],
        );
        const load = state.rows[0]!;
        this.replayUntil = load.replay_until;
        if (!load.complete) {
          // a full load can take hours: the apply session is opened again after it, not left idle
          await closeApplier();
          await this.fullLoad(reader, writer, transformers, load.planned, exported, signal);
        } else for (const t of this.tables.values()) t.state = 'loaded';
      } finally {
        await exported?.connection.end().catch(() => {});
      }
      if (signal.aborted) return;
      await this.loadedRowCounts(writer);
      this.deadLetters = await countDeadLetters(writer, n.slot);
      this.applied = (await readAppliedLsn(writer, n.slot)) ?? this.applied;
      this.appliedCommitAt ??= await readAppliedCommitAt(writer, n.slot);
      if (this.options.fromPosition && this.applied && compareLsn(this.options.fromPosition, this.applied) > 0) {
        await writeAppliedLsn(writer, n.slot, this.direction, this.options.fromPosition, null);
        this.applied = this.options.fromPosition;
      }
      applySession ??= this.openApplier(transformers);
      await warmUp;
      await this.cdc(reader, writer, applySession, signal);
    } finally {
      await closeApplier();
      for (const t of transformers) t.transformer.close();
      await reader.end().catch(() => {});
      await writer.end().catch(() => {});
    }
  }

  /** Creates the slot if missing (with an exported snapshot when a full load follows). */
  private async prepareSlot(reader: pg.Client, writer: pg.Client): Promise<ExportedSlot | null> {
    const n = this.names;
    const info = await slotInfo(reader, n.slot);
    const needsLoad = this.direction === 'forward';
    if (!info.exists) {
      await resetStream(writer, n.slot);
      let exported: ExportedSlot | null = null;
      let consistent: string;
      if (needsLoad) {
        exported = await createSlotWithSnapshot(n.readUrl, n.slot, {
          onRetry: (r) => this.out.warn(`replicate ${n.id}`, `creating slot ${r.slotName}: PostgreSQL could not build its snapshot under load (${r.error}); try ${r.attempt + 1} of ${r.tries} in ${r.waitMs} ms`),
        });
        consistent = exported.consistentLsn;
      } else {
        consistent = await createSlot(n.readUrl, n.slot);
        if (this.options.fromPosition && compareLsn(consistent, this.options.fromPosition) > 0) {
          this.out.warn(
            `replicate ${n.id}`,
            `slot created at ${consistent}, after the requested start ${this.options.fromPosition}: writes between them are not replicated (they must have been paused)`,
          );
        }
      }
      this.out.info(`replicate ${n.id}`, `created slot ${n.slot} at ${consistent}`);
      await writer.query(
        'insert into _cutover.load_state (slot, direction, consistent_lsn, replay_until, complete) values ($1, $2, $3, $3, $4)',
        [n.slot, this.direction, consistent, !needsLoad],
      );
      await writeAppliedLsn(writer, n.slot, this.direction, consistent, null);
      this.applied = consistent;
      return exported;
    }
    const { rowCount } = await writer.query('select 1 from _cutover.load_state where slot = $1', [n.slot]);
    if (!rowCount) {
      // the slot was made elsewhere (by `snapshot`): continue from its confirmed position
      const from = info.confirmedFlushLsn ?? '0/0';
      await writer.query('delete from _cutover.load_chunk where slot = $1', [n.slot]);
      await writer.query(
        'insert into _cutover.load_state (slot, direction, consistent_lsn, replay_until, complete) values ($1, $2, $3, $3, $4)',
        [n.slot, this.direction, from, !needsLoad],
      );
      await writeAppliedLsn(writer, n.slot, this.direction, from, null);
    }
    return null;
  }

  private async fullLoad(
    reader: pg.Client,
    writer: pg.Client,
    tables: readonly ApplyTable[],
    planned: boolean,
    exported: ExportedSlot | null,
    signal: AbortSignal,
  ): Promise<void> {
    const n = this.names;
    this.phase = 'full-load';
    this.writeStatus(true);
    let snapshotName: string;
    let holder: pg.Client | null = null;
    let throttler: SourceThrottler | undefined;
    if (exported) snapshotName = exported.snapshotName;
    else {
      // resumed (or the slot came from `snapshot`): a fresh snapshot; CDC replays from the slot's
      // position over it, and idempotent apply makes that converge (missing rows are expected below replay_until)
      holder = await connect(n.readUrl);
      await holder.query('begin isolation level repeatable read read only');
      const { rows } = await holder.query<{ snap: string; lsn: string }>('select pg_export_snapshot() as snap, pg_current_wal_lsn()::text as lsn');
      snapshotName = rows[0]!.snap;
      await writer.query('update _cutover.load_state set replay_until = greatest(replay_until, $2::pg_lsn) where slot = $1', [n.slot, rows[0]!.lsn]);
      this.replayUntil = maxLsn(this.replayUntil ?? '0/0', rows[0]!.lsn);
      this.out.info(`replicate ${n.id}`, `resuming full load in a new snapshot at ${rows[0]!.lsn}`);
    }
    try {
      if (!planned) {
        const planner = await connect(n.readUrl);
        try {
          await planner.query('begin isolation level repeatable read read only');
          await planner.query(`set transaction snapshot ${quoteLiteral(snapshotName)}`);
          await planChunks(planner, writer, n.slot, tables.map((t) => t.table), this.env.replication.chunkRows);
        } finally {
          await planner.end().catch(() => {});
        }
      }
      await this.loadedRowCounts(writer);
      // the full load reads blue while it serves customers: paced against its health (lib/throttle)
      throttler = openSourceThrottler({ pacing: this.env.pacing ?? pacingSchema.parse({}), source: { url: n.readUrl }, router: this.env.router }, this.out);
      await runFullLoad({
        throttler,
        sourceUrl: n.readUrl,
        targetUrl: n.writeUrl,
        slot: n.slot,
        originBase: n.origin,
        tables,
        parallel: this.env.replication.parallelTables,
        chunkRows: this.env.replication.chunkRows,
        snapshotName,
        signal,
        onChunkStart: (table) => {
          const t = this.tables.get(table);
          if (t && t.state === 'pending') t.state = 'loading';
          if (!this.loadStarted.has(table)) this.loadStarted.set(table, performance.now());
        },
        onChunkDone: (table, rows) => {
          if (!this.liveSince) {
            this.liveSince = new Date().toISOString();
            this.writeStatus(true);
          }
          const t = this.tables.get(table);
          if (t) {
            t.rows += rows;
            t.loadSeconds = Math.round(performance.now() - this.loadStarted.get(table)!) / 1000;
          }
          this.rate.add(rows);
          // live in the status while the load runs (the replicate phase shows its chunk size and pauses)
          if (throttler) this.fullLoadPacing = throttler.figures();
          this.out.progress({ topic: `full-load ${table}`, done: t?.rows ?? rows, total: t?.totalRows ?? undefined, unit: 'rows', figures: throttler?.progressFigures(`full-load ${table}`) });
        },
      });
    } finally {
      await holder?.end().catch(() => {});
      if (throttler) this.fullLoadPacing = throttler.figures();
      await throttler?.close();
    }
    if (signal.aborted) return;
    if (this.loadStarted.size) this.fullLoadSeconds = Math.round(performance.now() - Math.min(...this.loadStarted.values())) / 1000;
    await this.loadedRowCounts(writer);
    await writer.query('update _cutover.load_state set complete = true, finished_at = now() where slot = $1', [n.slot]);
    this.out.ok(`replicate ${n.id}`, `full load done: ${[...this.tables.values()].reduce((s, t) => s + t.rows, 0)} rows`);
  }

  /** Rows loaded / planned per table, from the chunk plan on the target. */
  private async loadedRowCounts(writer: pg.Client): Promise<void> {
    const { rows } = await writer.query<{ source_table: string; total: string; loaded: string; pending: string }>(
      `select source_table, sum(total_rows)::text as total, coalesce(sum(rows), 0)::text as loaded,
              count(*) filter (where not done)::text as pending
         from _cutover.load_chunk where slot = $1 group by source_table`,
      [this.names.slot],
    );
    for (const r of rows) {
      const t = this.tables.get(r.source_table);
      if (!t) continue;
      t.rows = Number(r.loaded);
      t.totalRows = Number(r.total);
      t.state = Number(r.pending) === 0 ? 'loaded' : t.rows > 0 ? 'loading' : 'pending';
    }
  }

  /** The apply session and its applier, ready for the first batch (the session is closed if the applier cannot start). */
  private async openApplier(tables: readonly ApplyTable[]): Promise<OpenApplier> {
    const session = await openApplySession(this.names.writeUrl, this.names.origin);
    try {
      const applier = new ChangeApplier(session, this.names.slot, this.direction, tables);
      await applier.init();
      // it only ever saves time: a failure of its own is a warning (the first batch meets the same);
      // a target table locked by another session is no failure (the first batch waits for it)
      await applier.warmSession().catch((err: Error & { code?: string }) => {
        if (err.code === LOCK_NOT_AVAILABLE) this.out.info(`replicate ${this.names.id}`, `apply session warm-up skipped: a target table is locked by another session (${err.message})`);
        else this.out.warn(`replicate ${this.names.id}`, `apply session warm-up skipped: ${err.message}`);
      });
      return { session, applier };
    } catch (err) {
      await session.end().catch(() => {});
      throw err;
    }
  }

  /** CDC until stopped; `opening` is the apply session being opened (the caller closes it). */
  private async cdc(reader: pg.Client, writer: pg.Client, opening: Promise<OpenApplier>, signal: AbortSignal): Promise<void> {
    const n = this.names;
    this.phase = 'cdc';
    this.applyCapacity.startCdc();
    for (const t of this.tables.values()) t.state = 'cdc';
    this.writeStatus(true);
    let applier!: ChangeApplier;
    // Committed on the target, acknowledged to the source once the target's WAL is flushed past
    // the commit (the apply session commits asynchronously, as a native subscription does).
    const unflushed: { targetLsn: string | null; endLsn: string }[] = [];
    let acknowledged = this.applied;
    const acknowledgeFlushed = async (flushed: string | null) => {
      let upTo: string | null = null;
      while (unflushed.length && (unflushed[0]!.targetLsn === null || (flushed !== null && compareLsn(unflushed[0]!.targetLsn!, flushed) <= 0))) {
        upTo = unflushed.shift()!.endLsn;
      }
      if (upTo) {
        acknowledged = upTo;
        await stream.acknowledge(upTo);
      }
    };
    /** A batch or a large transaction committed on the target: the worker's figures and position move past it. */
    const settle = (endLsn: string, commitTime: Date, result: BatchResult) => {
      this.applied = endLsn;
      this.appliedAt = Date.now();
      this.appliedCommitAt = Math.max(this.appliedCommitAt ?? 0, commitTime.getTime());
      this.checkCaughtUp();
      this.deadLetters += result.deadLetters;
      for (const [table, count] of result.perTable) {
        const t = this.tables.get(table);
        if (t) t.cdcChanges += count;
      }
      this.rate.add(result.changes);
      this.applyCapacity.settled(result.changes, !inflight.length);
      unflushed.push({ targetLsn: result.targetLsn, endLsn });
      // written once the pipeline is quiet (STATUS_QUIET_MS) or by the heartbeat, not per batch
      this.statusStale = true;
    };
    const stream = new ChangeStream(n.readUrl, n.slot, n.publication, {
      onTransaction: (txn) => {
        const open = this.opens.at(-1);
        if (open) open.follow(txn, pressure.flowOf(open.behind));
        else this.queue.push(txn, queueFlow);
        this.receivedLsn = txn.commitLsn;
        if (txn.bytes) balanceHeld();
        this.wake?.();
      },
      onOpenTransactionPart: (part) => {
        if (part.index === 0) this.opens.push(new OpenTransactionApply(part, this.applied));
        const open = this.opens.at(-1)!;
        open.add(part, pressure.flowOf(open));
        balanceHeld();
        this.wake?.();
      },
      openTransactionPartChanges: OPEN_PART_BATCHES * this.env.replication.batchSize,
      openTransactionPartBytes: OPEN_PART_BYTES,
      onKeepalive: (lsn, inTransaction, reply) => {
        if (!inTransaction) this.keepaliveLsn = lsn;
        if (reply && acknowledged) void stream.acknowledge(acknowledged).catch(() => {});
        this.wake?.();
      },
      onRelation: (relation) => this.noticeNewColumns(relation),
      onError: (err) => {
        this.streamError = err;
        this.wake?.();
      },
    }, this.options.replicateOwnChanges === true ? () => false : appliedByKit(this.env, this.direction), await logicalMessagesSupported(reader));
    // each holder of what the stream sent pauses it when full; it reads again once none is
    const pressure = new BackPressure(stream);
    const takesTurns = catchUpTakesTurns([n.readUrl, n.writeUrl]);
    const queueFlow = pressure.flowOf(this.queue);
    /** The bytes held, all holders together (HELD_BYTES), and the stream paused or let go by them. */
    const heldBytes = {};
    const balanceHeld = () => {
      let held = this.queue.queuedBytes + this.inflightBytes;
      for (const open of this.opens) held += open.heldBytes;
      if (held > HELD_BYTES) pressure.flowOf(heldBytes).pause();
      else if (held <= HELD_BYTES / 2) pressure.release(heldBytes);
    };
    // slow start again: a backlog's first rows land within moments
    this.queue.restartSlowStart();
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort);
    const inflight = this.inflight;
    // the batches in flight keep the stream paused during the target's turn
    const targetsTurn = new TargetsTurn(pressure.flowOf(inflight));
    let heartbeat: NodeJS.Timeout | undefined;
    let pruning: NodeJS.Timeout | undefined;
    try {
      // what the source had committed when streaming (re)started (the backlog to catch up with),
      // read while the apply session finishes opening
      const [opened, streaming] = await Promise.allSettled([
        opening.then((o) => {
          applier = o.applier;
        }),
        stream.start().then(() => currentSourceLsn(reader)),
      ]);
      if (opened.status === 'rejected') throw opened.reason;
      if (streaming.status === 'rejected') throw streaming.reason;
      const reconnected = this.disconnectedSince !== null;
      const untilLsn = streaming.value;
      if (!this.applied || compareLsn(this.applied, untilLsn) < 0) {
        this.catchUp = { untilLsn, since: Date.now(), reconnected };
        if (takesTurns) this.out.info(`replicate ${n.id}`, `catching up up to ${untilLsn}: the worker and the target take turns (source, target and worker share ${os.availableParallelism()} cores)`);
      }
      if (this.disconnectedSince !== null) {
        this.out.ok(`replicate ${n.id}`, `reconnected after ${Date.now() - this.disconnectedSince} ms; catching up with the source's changes up to ${untilLsn}`);
        this.disconnectedSince = null;
        this.lostOldestCommitAt = null;
        this.error = undefined;
      }
      this.cdcSince = new Date().toISOString();
      this.liveSince ??= this.cdcSince;
      this.writeStatus(true);
      heartbeat = this.startSourceHeartbeat(reader);
      // forward: the record of changed keys the frozen check reads is kept bounded
      if (this.direction === 'forward') {
        pruning = pruneChangedKeysEvery(writer, n.slot, () => this.applied, (m) => this.out.warn(`replicate ${n.id}`, m), this.options.changedKeyPruneMs);
      }
      this.out.ok(`replicate ${n.id}`, `streaming changes from slot ${n.slot} (applied ${this.applied})`);
      let lastPing = 0;
      // stopping: batches already sent still settle and count
      while (!signal.aborted || inflight.length) {
        if (this.streamError) throw this.streamError;
        // keep PIPELINE_DEPTH batches on the session: the target executes one while the next is built
        while (!signal.aborted && inflight.length < PIPELINE_DEPTH) {
          // catching up with cores to share: the target's turn while a batch is in flight (catch-up-batching.ts)
          if (takesTurns && this.catchUp && inflight.length) break;
          if (this.holdBatch(pressure.paused)) break;
          const batch = this.queue.take(this.applied, queueFlow);
          if (!batch) break;
          this.applyCapacity.busy();
          this.inflightBytes += bytesOf(batch);
          inflight.push(applier.submit(batch, this.replayUntil));
          if (takesTurns && this.catchUp) targetsTurn.start();
        }
        // take() also drops what the target already has (applied before a restart): no batch
        // settles for those bytes, and a stream paused for them must read again
        balanceHeld();
        if (!inflight.length && !this.queue.length && this.opens.length) {
          // everything before the oldest large transaction is applied: its turn
          const open = this.opens[0]!;
          let flushed: string | null = null;
          if (open.ready) {
            this.applyCapacity.busy();
            const result = await open.step(applier, this.replayUntil, pressure.flowOf(open));
            this.appliedAt = Date.now();
            if (result) {
              settle(open.end!, open.commitTime, result);
              flushed = result.targetFlushed;
            }
          }
          if (open.done) {
            // committed (or applied before a restart): what committed after it is next
            this.opens.shift();
            for (const txn of open.behind) this.queue.push(txn, queueFlow);
            pressure.release(open);
            pressure.release(open.behind);
            if (flushed !== null) await acknowledgeFlushed(flushed);
          }
          balanceHeld();
          if (open.ready || open.done) continue;
        }
        if (!inflight.length) {
          // the timer is cleared on wake: left running, each transaction would leave one behind
          // that wakes the process IDLE_PING_MS later for nothing
          let idleTimer: NodeJS.Timeout | undefined;
          const awaitingQuiet = this.statusStale;
          let quiet = false;
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            idleTimer = setTimeout(() => {
              quiet = awaitingQuiet;
              resolve();
            }, Math.min(awaitingQuiet ? STATUS_QUIET_MS : IDLE_PING_MS, this.holdingSince === null ? Infinity : Math.max(0, CATCH_UP_HOLD_MS - (performance.now() - this.holdingSince))));
          });
          clearTimeout(idleTimer);
          this.wake = null;
          if (this.queue.length || this.opens[0]?.ready || this.opens[0]?.done || signal.aborted) continue;
          if (quiet) {
            // the status only: the flush position and the keepalive wait for IDLE_PING_MS of quiet
            this.writeStatus(true);
            continue;
          }
          // idle: everything before the last keepalive position is applied. Checked before any
          // await: a transaction that arrives during one may lie beyond the keepalive position.
          // Not while a large transaction is open or unapplied: it lies before that position.
          if (!this.opens.length && this.keepaliveLsn && this.applied && compareLsn(this.keepaliveLsn, this.applied) > 0) {
            this.applied = this.keepaliveLsn;
            this.checkCaughtUp();
            unflushed.push({ targetLsn: unflushed.at(-1)?.targetLsn ?? null, endLsn: this.applied });
          }
          if (unflushed.length) await acknowledgeFlushed(await applier.targetFlushed());
          if (Date.now() - lastPing >= IDLE_PING_MS && acknowledged) {
            lastPing = Date.now();
            await stream.acknowledge(acknowledged, true);
          }
          this.writeStatus();
          continue;
        }
        const head = inflight[0]!;
        let result = await head.done;
        inflight.shift();
        if (!inflight.length) targetsTurn.end();
        if (result instanceof Error) {
          // the batches submitted behind it were not sent: submit them again after this one
          for (const later of inflight) await later.done;
          const later = inflight.splice(0).flatMap((b) => b.txns);
          this.inflightBytes -= bytesOf(later);
          this.queue.requeue(later);
          // not applied until recover returns: a connection lost in it must count it as lag
          this.recovering = head;
          result = await applier.recover(head.txns, this.replayUntil, result);
          this.recovering = null;
        }
        this.inflightBytes -= bytesOf(head.txns);
        balanceHeld();
        settle(head.endLsn, head.txns.at(-1)!.commitTime, result);
        await acknowledgeFlushed(result.targetFlushed);
      }
    } finally {
      clearInterval(heartbeat);
      clearInterval(pruning);
      targetsTurn.end();
      signal.removeEventListener('abort', onAbort);
      for (const b of inflight.splice(0)) await b.done;
      await stream.stop();
    }
  }

  /**
   * Every second, a transactional logical message on the source: an empty transaction of the kit's
   * own that travels through the slot like any change, so its commit time, once applied on the
   * target (`_cutover.apply_state.source_commit_at`), tells how far behind the target is — even
   * when the source is otherwise idle, and whatever this worker believes about itself.
   */
  private startSourceHeartbeat(reader: pg.Client): NodeJS.Timeout {
    let busy = false;
    const beat = async () => {
      if (busy) return;
      busy = true;
      try {
        await reader.query("select pg_logical_emit_message(true, 'cutover_heartbeat', $1)", [this.names.slot]);
        this.heartbeatError = undefined;
      } catch (err) {
        if (this.heartbeatError === undefined) {
          this.out.warn(`replicate ${this.names.id}`, `cannot emit the heartbeat on the source (${(err as Error).message}): lag is then the worker's own figure`);
        }
        this.heartbeatError = (err as Error).message;
      } finally {
        busy = false;
      }
    };
    void beat();
    return setInterval(() => void beat(), this.options.sourceHeartbeatMs ?? HEARTBEAT_EVERY_MS);
  }

  /**
   * A source table's Relation message naming a column the mapping does not know (neither carried
   * nor removed by it): added on the source since the worker read the mapping. Its values cannot
   * be replicated — the mapping has no target column for it — so the worker says so, once per
   * column, in its log and its status (`replicate status`, `cutover status`); the other columns go
   * on replicating. A validation then reports the table as it is; the write switch and the
   * replicate gate refuse while it is said (lib/phases/unreplicated-columns.ts). One dropped on the
   * source again is no longer said at the table's next Relation message (its next change).
   */
  private noticeNewColumns(relation: { schema: string; name: string; columns: readonly { name: string }[] }): void {
    const t = this.applyTables.find((x) => x.table.source.schema === relation.schema && x.table.source.table === relation.name)?.table;
    if (!t) return;
    const known = new Set([...t.sourceColumns.map((c) => c.name), ...t.removedColumns]);
    const unknown = relation.columns.map((c) => c.name).filter((c) => !known.has(c));
    this.unreplicatedColumns.notice(relation.schema, relation.name, unknown, targetName(t));
  }

  /** Whether the next batch waits to fill (catch-up-batching.ts); starts or ends the hold. */
  private holdBatch(streamPaused: boolean): boolean {
    const now = performance.now();
    const hold = holdForFullBatch({
      catchingUpTo: this.catchUp?.untilLsn ?? null,
      receivedLsn: this.receivedLsn,
      queued: this.queue.length > 0,
      fullBatchWaiting: this.queue.fullBatchWaiting,
      streamPaused,
      openTransaction: this.opens.length > 0,
      heldMs: this.holdingSince === null ? 0 : now - this.holdingSince,
    });
    this.holdingSince = hold ? (this.holdingSince ?? now) : null;
    return hold;
  }

  /** Ends the catch-up once the target has applied the source's changes up to where it stood at the (re)start. */
  private checkCaughtUp(): void {
    const c = this.catchUp;
    if (!c || !this.applied || compareLsn(this.applied, c.untilLsn) < 0) return;
    this.catchUp = null;
    if (c.reconnected) this.out.ok(`replicate ${this.names.id}`, `caught up ${Date.now() - c.since} ms after the reconnect (applied ${this.applied})`);
  }

  /**
   * Lag in CDC: the age of the oldest change received and not applied. While disconnected, at
   * least the time since the connection was lost. While a backlog is on its way after a (re)start
   * and none of it has arrived yet, the age of the newest change applied (or the time since the
   * start): the changes after it are not applied either — an empty queue then is not "no lag".
   */
  private lagMs(now: number): number {
    if (this.disconnectedSince !== null) return now - Math.min(this.disconnectedSince, this.lostOldestCommitAt ?? Infinity);
    const oldest = this.inflight[0]?.txns[0] ?? this.queue.oldest ?? this.opens[0];
    if (oldest) return Math.max(0, now - oldest.commitTime.getTime());
    if (this.catchUp) return Math.max(0, now - Math.min(this.catchUp.since, this.appliedCommitAt ?? Infinity));
    return 0;
  }

  status(): WorkerStatusFile {
    const now = Date.now();
    return {
      stream: this.names.id,
      slot: this.names.slot,
      wave: this.names.wave,
      startedAt: this.startedAt,
      ...(this.options.runId ? { runId: this.options.runId } : {}),
      phase: this.phase,
      direction: this.direction,
      lagMs: this.phase !== 'cdc' ? null : this.lagMs(now),
      lagBytes: null,
      appliedRowsPerSec: this.rate.perSecond(now),
      tables: [...this.tables.values()].map((t) => ({ ...t, ...(this.names.wave ? { wave: this.names.wave } : {}) })),
      deadLetters: this.deadLetters,
      ...(this.unreplicatedColumns.list() ? { unreplicatedColumns: this.unreplicatedColumns.list() } : {}),
      ...(this.phase === 'cdc' && this.opens[0] ? { openTransaction: this.opens[0].progress() } : {}),
      applyCapacity: this.applyCapacity.figures(),
      ...(this.fullLoadSeconds !== undefined ? { fullLoadSeconds: this.fullLoadSeconds } : {}),
      ...(this.fullLoadPacing ? { fullLoadPacing: this.fullLoadPacing } : {}),
      worker: thisWorker(now),
      appliedPosition: this.phase === 'cdc' || this.phase === 'stopped' ? (this.applied ?? undefined) : undefined,
      ...(this.appliedAt !== null ? { appliedAt: new Date(this.appliedAt).toISOString() } : {}),
      replayUntil: this.replayUntil ?? undefined,
      ...(this.cdcSince ? { cdcSince: this.cdcSince } : {}),
      ...(this.liveSince ? { liveSince: this.liveSince } : {}),
      ...(this.cdcSince ? { heartbeat: { everyMs: this.options.sourceHeartbeatMs ?? HEARTBEAT_EVERY_MS, ...(this.heartbeatError ? { error: this.heartbeatError } : {}) } } : {}),
      ...(this.disconnectedSince !== null ? { reconnectingSince: new Date(this.disconnectedSince).toISOString() } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Throttled (see WorkerStatusWriter); `force` writes now. */
  private writeStatus(force = false): void {
    this.statusStale = false;
    this.statusWriter.write(force);
  }
}

/**
 * pgoutput sends logical messages from PostgreSQL 14 (`messages 'true'`); from 15 it skips a
 * transaction with nothing to send, so the heartbeat's transaction needs its message. On 12 and
 * 13 the heartbeat's transaction still arrives, empty, with its commit time.
 */
/** The source's current WAL position. */
async function currentSourceLsn(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  return rows[0]!.lsn;
}

async function logicalMessagesSupported(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
  return Number(rows[0]!.v) >= 140000;
}

async function connect(url: string): Promise<pg.Client> {
  return openKitClient(url, 'cutover-replicate');
}
