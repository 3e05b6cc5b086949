import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { ApplyCapacityMeter } from './apply-capacity.ts';
import { UnreplicatedColumns } from './unreplicated-columns.ts';
import type { Output } from '../output/output.ts';
import type { ReplicationStatus, ReplicationTableStatus } from '../platform/roles.ts';
import { binlogPositionToLsn, formatBinlogPosition, type BinlogPosition } from '../engines/mysql/binlog-position.ts';
import { BinlogReader, HEARTBEAT_PERIOD_MS, type BinlogTableSpec, type BinlogTransaction } from '../engines/mysql/binlog-reader.ts';
import { openConsistentSnapshots, type ConsistentSnapshots } from '../engines/mysql/consistent-snapshot.ts';
import { readMysqlCatalog } from '../engines/mysql/mysql-catalog.ts';
import { connectMysql, mysqlRows } from '../engines/mysql/mysql-connection.ts';
import { schemasToRead } from '../mappings/mapped-schemas.ts';
import { mappingEngine, selectMappedTables, sourceName, targetName } from '../mappings/mapped-tables.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { pruneChangedKeysEvery } from '../postgres/changed-key-retention.ts';
import { openApplySession } from './apply-session.ts';
import { planBinlogChunks, runBinlogFullLoad, type BinlogLoadTable } from './binlog-full-load.ts';
import { binlogStateSql, deleteBinlogState, ensureBinlogState, readBinlogState } from './binlog-state.ts';
import { ChangeApplier, type SubmittedBatch } from './change-applier.ts';
import { countDeadLetters, ensureControlSchema, readAppliedLsn, resetStream, writeAppliedLsn, writeAppliedLsnSql } from './control-schema.ts';
import { compareLsn, maxLsn } from './lsn.ts';
import { isConnectionLoss } from './replication-worker.ts';
import { thisWorker, type WorkerStatusFile } from './status-file.ts';
import { AppliedRateWindow, WorkerStatusWriter } from './status-writer.ts';
import { streamNames, type StreamNames } from './stream-names.ts';
import { TransactionQueue } from './transaction-queue.ts';

export interface BinlogWorkerOptions {
  readonly wave?: string;
  /** Status file interval. @default 250 */
  readonly heartbeatMs?: number;
  /** The launch this run belongs to, written into its status file (worker-launcher.ts). @default - none */
  readonly runId?: string;
}

const PIPELINE_DEPTH = 2;
const IDLE_WAIT_MS = 100;
const RECONNECT_FOR_MS = 120_000;
const FIRST_BATCH_CHANGES = 50;
/** Silence on the dump connection (no event, no heartbeat) after which it is taken for dead. */
const SILENT_STREAM_MS = Math.max(10_000, 10 * HEARTBEAT_PERIOD_MS);
const MYSQL_LOSS = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED']);

function lostConnection(err: unknown): boolean {
  if (isConnectionLoss(err)) return true;
  for (let e = err as { code?: string; cause?: unknown } | undefined, d = 0; e && d < 4; e = e.cause as typeof e, d++) if (e.code && MYSQL_LOSS.has(e.code)) return true;
  return false;
}

/** A replica id for the binlog dump, stable per stream and far from the small ids real replicas use. */
export function binlogServerId(slot: string): number {
  let h = 0x811c9dc5;
  for (const ch of slot) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return 0x40000000 + (h & 0x3fffffff);
}

/**
 * The forward stream of a MySQL-family source into PostgreSQL, start to stop: a consistent full
 * load aligned with a binlog position (consistent-snapshot.ts, binlog-full-load.ts), then CDC from
 * that position (binlog-reader.ts) applied by the WAL path's ChangeApplier — the same DMS mapping,
 * idempotent upserts, dead letters and batching — with the binlog file, offset and GTID committed
 * in each batch's transaction. Reports through the same status file as ReplicationWorker.
 */
export class BinlogReplicationWorker {
  readonly names: StreamNames;
  readonly direction = 'forward' as const;
  private readonly tables = new Map<string, { source: string; target: string; rows: number; totalRows: number | null; state: ReplicationTableStatus['state']; cdcChanges: number; loadSeconds?: number }>();
  private readonly loadStarted = new Map<string, number>();
  private readonly applyCapacity = new ApplyCapacityMeter();
  private fullLoadSeconds: number | undefined;
  private phase: ReplicationStatus['phase'] = 'not-started';
  private error: string | undefined;
  /** `pg_lsn` form of the last position applied. */
  private applied: string | null = null;
  private appliedPosition: BinlogPosition | null = null;
  private replayUntil: string | null = null;
  private deadLetters = 0;
  private readonly startedAt = new Date().toISOString();
  private cdcSince: string | undefined;
  private liveSince: string | undefined;
  private readonly rate = new AppliedRateWindow();
  private readonly queue: TransactionQueue<BinlogTransaction>;
  private idlePosition: { position: BinlogPosition; lsn: string } | null = null;
  private wake: (() => void) | null = null;
  private streamError: Error | null = null;
  private disconnectedSince: number | null = null;
  private readonly statusWriter: WorkerStatusWriter;
  private readonly inflight: SubmittedBatch[] = [];
  /** Source columns added during replication, whose values are not replicated. */
  private readonly unreplicatedColumns: UnreplicatedColumns;
  /** How the full load's snapshots were aligned with the binlog (status, report). */
  private snapshotMethod: ConsistentSnapshots['method'] | undefined;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly options: BinlogWorkerOptions,
    private readonly out: Output,
  ) {
    this.names = streamNames(env, 'forward', options.wave);
    this.queue = new TransactionQueue({ batchSize: env.replication.batchSize, firstBatch: FIRST_BATCH_CHANGES });
    this.statusWriter = new WorkerStatusWriter(this.names.statusFile, () => this.status());
    this.unreplicatedColumns = new UnreplicatedColumns(out, `replicate ${this.names.id}`, () => this.writeStatus(true));
  }

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

  private async runReconnecting(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runPhases(signal);
        this.disconnectedSince = null;
        return;
      } catch (err) {
        if (signal.aborted || !lostConnection(err)) throw err;
        this.disconnectedSince ??= Date.now();
        if (Date.now() - this.disconnectedSince > RECONNECT_FOR_MS) throw err;
        if (attempt === 1 || attempt % 20 === 0) this.out.warn(`replicate ${this.names.id}`, `connection lost (${(err as Error).message}): reconnecting (attempt ${attempt})`);
        this.error = `reconnecting: ${(err as Error).message}`;
        this.queue.clear();
        this.inflight.length = 0;
        this.streamError = null;
        this.idlePosition = null;
        this.writeStatus(true);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  }

  private async runPhases(signal: AbortSignal): Promise<void> {
    const n = this.names;
    const wave = n.wave ? this.env.replication.waves.find((w) => w.name === n.wave) : undefined;
    if (n.wave && !wave) {
      throw new CutoverError('USAGE', `unknown wave "${n.wave}"`, { received: n.wave, allowed: this.env.replication.waves.map((w) => w.name).join(', ') || '(no waves configured)' });
    }
    const source = await connectMysql(n.readUrl, 'source');
    let writer: pg.Client | undefined;
    const tables: BinlogLoadTable[] = [];
    try {
      writer = await openKitClient(n.writeUrl, 'cutover-replicate');
      await checkBinlogSettings(source);
      const doc = await mappingEngine.loadTableMappings(n.mappingFile);
      this.unreplicatedColumns.mapping = doc;
      const schemas = schemasToRead(doc, n.readScope);
      const catalog = await readMysqlCatalog(source, schemas);
      const mapped = selectMappedTables(doc, catalog, schemas, n.readScope, n.mappingFile, this.out, wave);
      for (const table of mapped) {
        tables.push({ table, transformer: await mappingEngine.createRowTransformer(table), nativeTypes: catalog.nativeTypes.get(sourceName(table)) ?? new Map() });
        if (!this.tables.has(sourceName(table))) this.tables.set(sourceName(table), { source: sourceName(table), target: targetName(table), rows: 0, totalRows: null, state: 'pending', cdcChanges: 0 });
      }
      await ensureControlSchema(writer);
      await ensureBinlogState(writer);
      const { rows } = await writer.query<{ complete: boolean; planned: boolean; replay_until: string }>('select complete, planned, replay_until::text from _cutover.load_state where slot = $1', [n.slot]);
      if (!rows[0]) await resetStream(writer, n.slot);
      if (!rows[0]?.complete) await this.fullLoad(writer, tables, rows[0] ?? null, signal);
      else {
        this.replayUntil = rows[0].replay_until;
        for (const t of this.tables.values()) t.state = 'loaded';
      }
      if (signal.aborted) return;
      await this.loadedRowCounts(writer);
      this.deadLetters = await countDeadLetters(writer, n.slot);
      this.applied = (await readAppliedLsn(writer, n.slot)) ?? this.applied;
      const from = await readBinlogState(writer, n.slot);
      if (!from) throw new CutoverError('INTERNAL', `stream ${n.slot} has a completed load but no binlog position in _cutover.binlog_state`, { fix: 'replicate stop, cutover cancel, then replicate start (a new full load)' });
      await checkStillInBinlog(source, from);
      this.appliedPosition = from;
      await source.end().catch(() => {});
      await this.cdc(writer, tables, from, signal);
    } finally {
      for (const t of tables) t.transformer.close();
      await source.end().catch(() => {});
      await writer?.end().catch(() => {});
    }
  }

  private async fullLoad(writer: pg.Client, tables: readonly BinlogLoadTable[], state: { planned: boolean; replay_until: string } | null, signal: AbortSignal): Promise<void> {
    const n = this.names;
    this.phase = 'full-load';
    this.writeStatus(true);
    const snapshots = await openConsistentSnapshots(n.readUrl, Math.max(1, this.env.replication.parallelTables));
    this.snapshotMethod = snapshots.method;
    const low = binlogPositionToLsn(snapshots.low);
    const high = binlogPositionToLsn(snapshots.high);
    try {
      if (!state) {
        await writer.query('insert into _cutover.load_state (slot, direction, consistent_lsn, replay_until, complete) values ($1, $2, $3, $4, false)', [n.slot, 'forward', low, high]);
        await writeAppliedLsn(writer, n.slot, 'forward', low, null);
        await writer.query(binlogStateSql(n.slot, snapshots.low, low));
        this.replayUntil = high;
        this.out.info(`replicate ${n.id}`, `full load from ${formatBinlogPosition(snapshots.low)} (${snapshots.sessions.length} snapshot(s), ${snapshots.method})`);
      } else {
        // resumed: new snapshots; CDC replays from the first position up to the newest one
        this.replayUntil = maxLsn(state.replay_until, high);
        await writer.query('update _cutover.load_state set replay_until = greatest(replay_until, $2::pg_lsn) where slot = $1', [n.slot, high]);
        this.out.info(`replicate ${n.id}`, `resuming the full load in new snapshots at ${formatBinlogPosition(snapshots.high)}`);
      }
      if (!state?.planned) await planBinlogChunks(snapshots.sessions[0]!.connection, writer, n.slot, tables, this.env.replication.chunkRows);
      await this.loadedRowCounts(writer);
      await runBinlogFullLoad(
        {
          sessions: snapshots.sessions.map((s) => s.connection),
          targetUrl: n.writeUrl,
          slot: n.slot,
          originBase: n.origin,
          tables,
          signal,
          onChunkStart: (table) => {
            if (!this.loadStarted.has(table)) this.loadStarted.set(table, performance.now());
            const t = this.tables.get(table);
            if (t && t.state === 'pending') t.state = 'loading';
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
            this.out.progress({ topic: `full-load ${table}`, done: t?.rows ?? rows, total: t?.totalRows ?? undefined, unit: 'rows' });
          },
        },
        writer,
      );
    } finally {
      await Promise.all(snapshots.sessions.map((s) => s.connection.end().catch(() => {})));
    }
    if (signal.aborted) return;
    if (this.loadStarted.size) this.fullLoadSeconds = Math.round(performance.now() - Math.min(...this.loadStarted.values())) / 1000;
    await this.loadedRowCounts(writer);
    await writer.query('update _cutover.load_state set complete = true, finished_at = now() where slot = $1', [n.slot]);
    this.out.ok(`replicate ${n.id}`, `full load done: ${[...this.tables.values()].reduce((s, t) => s + t.rows, 0)} rows`);
  }

  private async loadedRowCounts(writer: pg.Client): Promise<void> {
    const { rows } = await writer.query<{ source_table: string; total: string; loaded: string; pending: string }>(
      `select source_table, sum(total_rows)::text as total, coalesce(sum(rows) filter (where done), 0)::text as loaded, count(*) filter (where not done)::text as pending
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

  private async cdc(writer: pg.Client, tables: readonly BinlogLoadTable[], from: BinlogPosition, signal: AbortSignal): Promise<void> {
    const n = this.names;
    this.phase = 'cdc';
    this.applyCapacity.startCdc();
    for (const t of this.tables.values()) t.state = 'cdc';
    this.writeStatus(true);
    const specs: BinlogTableSpec[] = tables.map((t) => ({ schema: t.table.source.schema, table: t.table.source.table, nativeTypes: t.nativeTypes, primaryKey: t.table.primaryKey }));
    const reader = new BinlogReader({
      url: n.readUrl,
      from,
      serverId: binlogServerId(n.slot),
      tables: specs,
      onTransaction: (txn) => {
        this.queue.push(txn, reader);
        this.wake?.();
      },
      onPosition: (position, lsn) => {
        this.idlePosition = { position, lsn };
      },
      onError: (err) => {
        this.streamError = err;
        this.wake?.();
      },
      // added on the source during replication: their values are not replicated
      onColumnsBeyondSpec: (schema, table, columns) => this.unreplicatedColumns.notice(schema, table, columns, this.tables.get(`${schema}.${table}`)?.target ?? `${schema}.${table}`),
    });
    let session: pg.Client | undefined;
    let applier!: ChangeApplier;
    this.queue.restartSlowStart();
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort);
    const inflight = this.inflight;
    // the record of changed keys (written by the applier of a forward stream) is kept bounded
    const pruning = pruneChangedKeysEvery(writer, n.slot, () => this.applied, (m) => this.out.warn(`replicate ${n.id}`, m));
    try {
      session = await openApplySession(n.writeUrl, n.origin);
      applier = new ChangeApplier(session, n.slot, 'forward', tables, (last) => binlogStateSql(n.slot, (last as unknown as BinlogTransaction).end, last.endLsn));
      await applier.init();
      await reader.start();
      if (reader.skipFilter) this.out.warn(`replicate ${n.id}`, `${reader.skipFilter}: writes of the reverse applier into the source would be streamed back — do not run reverse replication while this stream runs`);
      if (this.disconnectedSince !== null) {
        this.out.ok(`replicate ${n.id}`, `reconnected after ${Date.now() - this.disconnectedSince} ms`);
        this.disconnectedSince = null;
        this.error = undefined;
      }
      this.cdcSince = new Date().toISOString();
      this.liveSince ??= this.cdcSince;
      this.writeStatus(true);
      this.out.ok(`replicate ${n.id}`, `streaming the binlog from ${formatBinlogPosition(from)}`);
      while (!signal.aborted || inflight.length) {
        if (this.streamError) throw this.streamError;
        while (!signal.aborted && inflight.length < PIPELINE_DEPTH) {
          const batch = this.queue.take(this.applied, reader);
          if (!batch) break;
          this.applyCapacity.busy();
          inflight.push(applier.submit(batch, this.replayUntil));
        }
        if (!inflight.length) {
          // the timer is cleared on wake: left running, each transaction would leave one behind
          // that wakes the process later for nothing
          let idleTimer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            idleTimer = setTimeout(resolve, IDLE_WAIT_MS);
          });
          clearTimeout(idleTimer);
          this.wake = null;
          if (this.queue.length || signal.aborted) continue;
          // a dump connection cut without a FIN (a network drop, a frozen server) stays silent: reconnect
          if (reader.idleMs() > SILENT_STREAM_MS) {
            throw Object.assign(new Error(`no binlog event or heartbeat for ${reader.idleMs()} ms (heartbeat every ${HEARTBEAT_PERIOD_MS} ms)`), { code: 'ECONNRESET' });
          }
          // idle: transactions of other tables, DDL and rotations moved the position; record it
          const idle = this.idlePosition;
          if (idle && this.applied && compareLsn(idle.lsn, this.applied) > 0 && !this.queue.length) {
            this.idlePosition = null;
            await session.query(`begin;\n${writeAppliedLsnSql(n.slot, 'forward', idle.lsn, null)};\n${binlogStateSql(n.slot, idle.position, idle.lsn)};\ncommit`);
            this.applied = idle.lsn;
            this.appliedPosition = idle.position;
          }
          this.writeStatus();
          continue;
        }
        const head = inflight[0]!;
        let result = await head.done;
        inflight.shift();
        if (result instanceof Error) {
          for (const later of inflight) await later.done;
          this.queue.requeue(inflight.splice(0).flatMap((b) => b.txns as BinlogTransaction[]));
          if (lostConnection(result)) throw result;
          result = await applier.recover(head.txns, this.replayUntil, result);
        }
        const last = head.txns[head.txns.length - 1] as unknown as BinlogTransaction;
        this.applied = head.endLsn;
        this.appliedPosition = last.end;
        this.deadLetters += result.deadLetters;
        for (const [table, count] of result.perTable) {
          const t = this.tables.get(table);
          if (t) t.cdcChanges += count;
        }
        this.rate.add(result.changes);
        this.applyCapacity.settled(result.changes, !inflight.length);
        this.writeStatus();
      }
    } finally {
      clearInterval(pruning);
      signal.removeEventListener('abort', onAbort);
      for (const b of inflight.splice(0)) await b.done;
      await reader.stop();
      await session?.end().catch(() => {});
    }
  }

  status(): WorkerStatusFile & { snapshotMethod?: string } {
    const now = Date.now();
    const oldest = (this.inflight[0]?.txns[0] as unknown as BinlogTransaction | undefined) ?? this.queue.oldest;
    return {
      stream: this.names.id,
      slot: this.names.slot,
      wave: this.names.wave,
      startedAt: this.startedAt,
      ...(this.options.runId ? { runId: this.options.runId } : {}),
      phase: this.phase,
      direction: 'forward',
      // the oldest change waiting: since this worker received it, or — a backlog read after a stop — since the
      // source committed it (binlog times are whole seconds, so a second less: a lower bound, never inflated)
      lagMs:
        this.phase !== 'cdc'
          ? null
          : this.disconnectedSince !== null
            ? now - this.disconnectedSince
            : oldest
              ? Math.max(0, now - oldest.receivedAt, now - oldest.commitTime.getTime() - 1000)
              : 0,
      lagBytes: null,
      appliedRowsPerSec: this.rate.perSecond(now),
      tables: [...this.tables.values()].map((t) => ({ ...t, ...(this.names.wave ? { wave: this.names.wave } : {}) })),
      deadLetters: this.deadLetters,
      ...(this.unreplicatedColumns.list() ? { unreplicatedColumns: this.unreplicatedColumns.list() } : {}),
      applyCapacity: this.applyCapacity.figures(),
      ...(this.fullLoadSeconds !== undefined ? { fullLoadSeconds: this.fullLoadSeconds } : {}),
      worker: thisWorker(now),
      appliedPosition: (this.phase === 'cdc' || this.phase === 'stopped') && this.appliedPosition ? formatBinlogPosition(this.appliedPosition) : undefined,
      ...(this.appliedPosition?.gtid ? { appliedGtid: this.appliedPosition.gtid } : {}),
      replayUntil: this.replayUntil ?? undefined,
      ...(this.snapshotMethod ? { snapshotMethod: this.snapshotMethod } : {}),
      ...(this.cdcSince ? { cdcSince: this.cdcSince } : {}),
      ...(this.liveSince ? { liveSince: this.liveSince } : {}),
      // while it re-establishes a lost connection its lag reads from the loss, not from what is unapplied: the shift holds on this
      ...(this.disconnectedSince !== null ? { reconnectingSince: new Date(this.disconnectedSince).toISOString() } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private writeStatus(force = false): void {
    this.statusWriter.write(force);
  }
}

/** ROW format with full images and binary logging on: what CDC needs (assess reports the same). */
async function checkBinlogSettings(c: mysql.Connection): Promise<void> {
  const [s] = await mysqlRows<{ log_bin: number | string; fmt: string; image: string }>(c, 'SELECT @@global.log_bin AS log_bin, @@global.binlog_format AS fmt, @@global.binlog_row_image AS image');
  const problems: string[] = [];
  if (String(s?.log_bin) !== '1') problems.push('log_bin is OFF');
  if (String(s?.fmt).toUpperCase() !== 'ROW') problems.push(`binlog_format is ${s?.fmt} (ROW needed)`);
  if (String(s?.image).toUpperCase() !== 'FULL') problems.push(`binlog_row_image is ${s?.image} (FULL needed: updates must carry every column)`);
  if (problems.length) {
    throw new CutoverError('PRECONDITION_FAILED', `the source's binary log cannot feed replication: ${problems.join('; ')}`, {
      received: problems.join('; '),
      fix: 'set log_bin, binlog_format=ROW and binlog_row_image=FULL on the source (RDS/Aurora: the parameter group, and automated backups on), then replicate start again; cutover assess lists them',
    });
  }
}

/** The resume position must still be in the binlog (a purge or a retention too short loses changes). */
async function checkStillInBinlog(c: mysql.Connection, from: BinlogPosition): Promise<void> {
  const logs = await mysqlRows<{ Log_name: string }>(c, 'SHOW BINARY LOGS').catch(() => null);
  if (!logs) return; // not allowed to list: the dump request itself fails on a purged file
  if (!logs.some((l) => l.Log_name === from.file)) {
    throw new CutoverError('PRECONDITION_FAILED', `the binlog file ${from.file} the stream must resume from is gone from the source (purged): changes after ${formatBinlogPosition(from)} cannot be read`, {
      received: formatBinlogPosition(from),
      allowed: logs.map((l) => l.Log_name).join(', '),
      fix: 'raise binlog retention (binlog_expire_logs_seconds / RDS binlog retention hours), then start over: replicate stop, cutover cancel, replicate start (a new full load)',
    });
  }
}

export { deleteBinlogState };
