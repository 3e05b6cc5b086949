import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { ReplicationStatus, ReplicationTableStatus } from '../platform/roles.ts';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import { mappingEngine, resolveMappedTables, sourceName, targetName } from '../mappings/mapped-tables.ts';
import { isConnectionLoss as isMysqlConnectionLoss, MysqlChangeApplier, openMysqlApplySession, type MysqlApplyOp, type OpOrigin } from '../engines/mysql/mysql-change-applier.ts';
import { countMysqlDeadLetters, mysqlAppliedStatement, readMysqlApplied, resetMysqlStream } from '../engines/mysql/mysql-kit-schema.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { ApplyCapacityMeter } from './apply-capacity.ts';
import { ChangeStream, type SourceChange, type SourceTransaction, type WireRow } from './change-stream.ts';
import { compareLsn, lsnToBigInt } from './lsn.ts';
import { createSlot, ensurePublication, slotInfo } from './replication-slot.ts';
import { isConnectionLoss as isPgConnectionLoss, type WorkerOptions } from './replication-worker.ts';
import { thisWorker, type WorkerStatusFile } from './status-file.ts';
import { AppliedRateWindow, WorkerStatusWriter } from './status-writer.ts';
import { HEARTBEAT_EVERY_MS } from './stream-health.ts';
import { appliedByKit, streamNames, type StreamNames } from './stream-names.ts';
import { TransactionQueue } from './transaction-queue.ts';

const RECONNECT_FOR_MS = 120_000;

interface ApplyTable {
  readonly table: MappedTable;
  readonly transformer: RowTransformer;
}

/**
 * Reverse replication into a MySQL-family blue (PostgreSQL green → MariaDB/MySQL): CDC only, from
 * the switch position, with the same pgoutput stream, slot, publication, heartbeat and status file
 * as the PostgreSQL reverse worker (ReplicationWorker) and the same reverse DMS mapping executed
 * on every change; the writes go through mysql2 (MysqlChangeApplier: batches of whole source
 * transactions, one blue transaction each, the applied position stored in blue's `_cutover` in
 * that transaction, dead letters with the reason). A killed worker resumes from blue's stored
 * position: transactions before it are skipped, so each change is applied exactly once.
 */
export class MysqlReverseWorker {
  readonly names: StreamNames;
  private readonly tables = new Map<string, { source: string; target: string; rows: number; totalRows: number | null; state: ReplicationTableStatus['state']; cdcChanges: number }>();
  private phase: ReplicationStatus['phase'] = 'not-started';
  private error: string | undefined;
  private applied: string | null = null;
  private deadLetters = 0;
  private readonly startedAt = new Date().toISOString();
  private cdcSince: string | undefined;
  private liveSince: string | undefined;
  private readonly applyCapacity = new ApplyCapacityMeter();
  private readonly rate = new AppliedRateWindow();
  private readonly queue: TransactionQueue<SourceTransaction>;
  private keepaliveLsn: string | null = null;
  private wake: (() => void) | null = null;
  private streamError: Error | null = null;
  private disconnectedSince: number | null = null;
  private heartbeatError: string | undefined;
  private readonly statusWriter: WorkerStatusWriter;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly options: WorkerOptions,
    private readonly out: Output,
  ) {
    this.names = streamNames(env, 'reverse', options.wave);
    // no slow start: blue commits each batch durably, and the reverse stream starts at the switch with no backlog
    this.queue = new TransactionQueue({ batchSize: env.replication.batchSize });
    // unthrottled: every request writes (one at a time)
    this.statusWriter = new WorkerStatusWriter(this.names.statusFile, () => this.status(), 0);
  }

  readonly direction = 'reverse' as const;

  async run(signal: AbortSignal): Promise<void> {
    const beat = setInterval(() => this.writeStatus(), this.options.heartbeatMs ?? 250);
    this.writeStatus();
    try {
      await this.runReconnecting(signal);
      this.phase = 'stopped';
    } catch (err) {
      this.phase = signal.aborted ? 'stopped' : 'failed';
      this.error = err instanceof CutoverError ? err.describe() : (err as Error).message;
      if (!signal.aborted) {
        this.out.error(`replicate ${this.names.id}`, this.error);
        throw err;
      }
    } finally {
      clearInterval(beat);
      this.writeStatus();
      await this.statusWriter.settled();
    }
  }

  private async runReconnecting(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runOnce(signal);
        return;
      } catch (err) {
        if (signal.aborted || !(isPgConnectionLoss(err) || isMysqlConnectionLoss(err))) throw err;
        this.disconnectedSince ??= Date.now();
        if (Date.now() - this.disconnectedSince > RECONNECT_FOR_MS) throw err;
        if (attempt === 1 || attempt % 20 === 0) this.out.warn(`replicate ${this.names.id}`, `connection lost (${(err as Error).message}): reconnecting (attempt ${attempt})`);
        this.error = `reconnecting: ${(err as Error).message}`;
        this.queue.clear();
        this.streamError = null;
        this.keepaliveLsn = null;
        this.writeStatus();
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  }

  private async runOnce(signal: AbortSignal): Promise<void> {
    const n = this.names;
    const wave = n.wave ? this.env.replication.waves.find((w) => w.name === n.wave) : undefined;
    const reader = await openKitClient(n.readUrl, 'cutover-replicate');
    let writer: mysql.Connection | undefined;
    const tables: ApplyTable[] = [];
    try {
      writer = await openMysqlApplySession(n.writeUrl);
      const mapped = await resolveMappedTables(reader, n.readScope, n.mappingFile, this.out, wave);
      for (const table of mapped) {
        tables.push({ table, transformer: await mappingEngine.createRowTransformer(table) });
        this.tables.set(sourceName(table), { source: sourceName(table), target: targetName(table), rows: 0, totalRows: null, state: 'cdc', cdcChanges: this.tables.get(sourceName(table))?.cdcChanges ?? 0 });
      }
      const applier = new MysqlChangeApplier(writer, n.slot, 'reverse', mapped);
      await applier.init();
      await ensurePublication(reader, n.publication, mapped);
      await this.prepareSlot(reader, writer);
      this.deadLetters = await countMysqlDeadLetters(writer, n.slot);
      await this.cdc(reader, applier, tables, signal);
    } finally {
      for (const t of tables) t.transformer.close();
      await reader.end().catch(() => {});
      await writer?.end().catch(() => {});
    }
  }

  /** The slot on green (created at the first start) and the position blue has applied. */
  private async prepareSlot(reader: pg.Client, writer: mysql.Connection): Promise<void> {
    const n = this.names;
    const info = await slotInfo(reader, n.slot);
    if (!info.exists) {
      await resetMysqlStream(writer, n.slot);
      const consistent = await createSlot(n.readUrl, n.slot);
      if (this.options.fromPosition && compareLsn(consistent, this.options.fromPosition) > 0) {
        this.out.warn(`replicate ${n.id}`, `slot created at ${consistent}, after the requested start ${this.options.fromPosition}: writes between them are not replicated (they must have been paused)`);
      }
      this.out.info(`replicate ${n.id}`, `created slot ${n.slot} at ${consistent}`);
      await this.storeApplied(writer, consistent);
    }
    const stored = await readMysqlApplied(writer, n.slot);
    // a slot without a stored position (blue's `_cutover` was dropped): continue from the slot's confirmed position
    if (!stored) await this.storeApplied(writer, info.confirmedFlushLsn ?? '0/0');
    this.applied = (await readMysqlApplied(writer, n.slot))!.lsn;
    if (this.options.fromPosition && compareLsn(this.options.fromPosition, this.applied) > 0) {
      await this.storeApplied(writer, this.options.fromPosition);
      this.applied = this.options.fromPosition;
    }
  }

  private async storeApplied(writer: mysql.Connection, lsn: string): Promise<void> {
    await writer.query(...mysqlAppliedStatement(this.names.slot, 'reverse', lsn, lsnToBigInt(lsn), null));
  }

  private async cdc(reader: pg.Client, applier: MysqlChangeApplier, tables: readonly ApplyTable[], signal: AbortSignal): Promise<void> {
    const n = this.names;
    const bySource = new Map(tables.map((t) => [`${t.table.source.schema}\u0000${t.table.source.table}`, t]));
    this.phase = 'cdc';
    if (!this.applyCapacity.cdcStarted) this.applyCapacity.startCdc();
    const stream = new ChangeStream(
      n.readUrl,
      n.slot,
      n.publication,
      {
        onTransaction: (txn) => {
          this.queue.push(txn, stream);
          this.wake?.();
        },
        onKeepalive: (lsn, inTransaction) => {
          if (!inTransaction) this.keepaliveLsn = lsn;
          this.wake?.();
        },
        onError: (err) => {
          this.streamError = err;
          this.wake?.();
        },
      },
      appliedByKit(this.env, 'reverse'),
      Number((await reader.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v) >= 140000,
    );
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort);
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      await stream.start();
      if (this.disconnectedSince !== null) {
        this.out.ok(`replicate ${n.id}`, `reconnected after ${Date.now() - this.disconnectedSince} ms`);
        this.disconnectedSince = null;
        this.error = undefined;
      }
      this.cdcSince = new Date().toISOString();
      this.liveSince ??= this.cdcSince;
      this.writeStatus();
      heartbeat = this.startSourceHeartbeat(reader);
      this.out.ok(`replicate ${n.id}`, `streaming green's changes from slot ${n.slot} into blue (applied ${this.applied})`);
      while (!signal.aborted) {
        if (this.streamError) throw this.streamError;
        const batch = this.queue.take(this.applied, stream);
        if (!batch) {
          // the timer is cleared on wake: left running, each transaction would leave one behind
          // that wakes the process later for nothing
          let idleTimer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            idleTimer = setTimeout(resolve, 250);
          });
          clearTimeout(idleTimer);
          this.wake = null;
          if (this.queue.length || signal.aborted) continue;
          // idle: everything before the last keepalive position is applied
          if (this.keepaliveLsn && this.applied && compareLsn(this.keepaliveLsn, this.applied) > 0) {
            this.applied = this.keepaliveLsn;
            await stream.acknowledge(this.applied, true);
          }
          this.writeStatus();
          continue;
        }
        this.applyCapacity.busy();
        const ops: MysqlApplyOp[] = [];
        for (const txn of batch) for (const change of txn.changes) toOps(bySource, change, txn.commitLsn, ops);
        const last = batch[batch.length - 1]!;
        const result = await applier.apply(ops, { lsn: last.endLsn, lsnNumber: lsnToBigInt(last.endLsn), commitTime: last.commitTime });
        this.applied = last.endLsn;
        await stream.acknowledge(last.endLsn); // committed on blue (InnoDB, durable at commit)
        this.deadLetters += result.deadLetters;
        for (const [table, count] of result.perTable) {
          const t = this.tables.get(table);
          if (t) t.cdcChanges += count;
        }
        this.applyCapacity.settled(result.changes, true);
        this.rate.add(result.changes);
        this.writeStatus();
      }
    } finally {
      clearInterval(heartbeat);
      signal.removeEventListener('abort', onAbort);
      await stream.stop();
    }
  }

  /** Every second a transactional logical message on green: its commit time, applied on blue, measures lag (as the PostgreSQL worker). */
  private startSourceHeartbeat(reader: pg.Client): NodeJS.Timeout {
    let busy = false;
    const beat = async () => {
      if (busy) return;
      busy = true;
      try {
        await reader.query("select pg_logical_emit_message(true, 'cutover_heartbeat', $1)", [this.names.slot]);
        this.heartbeatError = undefined;
      } catch (err) {
        if (this.heartbeatError === undefined) this.out.warn(`replicate ${this.names.id}`, `cannot emit the heartbeat on green (${(err as Error).message})`);
        this.heartbeatError = (err as Error).message;
      } finally {
        busy = false;
      }
    };
    void beat();
    return setInterval(() => void beat(), this.options.sourceHeartbeatMs ?? HEARTBEAT_EVERY_MS);
  }

  status(): WorkerStatusFile {
    const now = Date.now();
    const oldest = this.queue.oldest;
    return {
      stream: this.names.id,
      slot: this.names.slot,
      wave: this.names.wave,
      startedAt: this.startedAt,
      ...(this.options.runId ? { runId: this.options.runId } : {}),
      phase: this.phase,
      direction: 'reverse',
      lagMs: this.phase !== 'cdc' ? null : this.disconnectedSince !== null ? now - this.disconnectedSince : oldest ? Math.max(0, now - oldest.commitTime.getTime()) : 0,
      lagBytes: null,
      appliedRowsPerSec: this.rate.perSecond(now),
      tables: [...this.tables.values()].map((t) => ({ ...t, ...(this.names.wave ? { wave: this.names.wave } : {}) })),
      deadLetters: this.deadLetters,
      applyCapacity: this.applyCapacity.figures(),
      worker: thisWorker(now),
      appliedPosition: this.phase === 'cdc' || this.phase === 'stopped' ? (this.applied ?? undefined) : undefined,
      ...(this.cdcSince ? { cdcSince: this.cdcSince } : {}),
      ...(this.liveSince ? { liveSince: this.liveSince } : {}),
      ...(this.cdcSince ? { heartbeat: { everyMs: this.options.sourceHeartbeatMs ?? HEARTBEAT_EVERY_MS, ...(this.heartbeatError ? { error: this.heartbeatError } : {}) } } : {}),
      // as the PostgreSQL worker: gates hold while a lost connection is being re-established
      ...(this.disconnectedSince !== null ? { reconnectingSince: new Date(this.disconnectedSince).toISOString() } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private writeStatus(): void {
    this.statusWriter.write();
  }
}

/** A source change as ops on blue, through the reverse mapping (upsert semantics, as the PostgreSQL applier). */
function toOps(bySource: ReadonlyMap<string, ApplyTable>, change: SourceChange, lsn: string, ops: MysqlApplyOp[]): void {
  if (change.kind === 'truncate') {
    for (const r of change.relations) {
      const t = bySource.get(`${r.schema}\u0000${r.table}`);
      if (t) ops.push({ kind: 'truncate', table: t.table, origin: { sourceKey: null, change, lsn } });
    }
    return;
  }
  const t = bySource.get(`${change.schema}\u0000${change.table}`);
  if (!t) return;
  const keyCols = t.table.primaryKey;
  const targetKey = (row: WireRow) => t.transformer.targetKey(pick(row, keyCols));
  if (change.kind === 'delete') {
    ops.push({ kind: 'delete', table: t.table, key: targetKey(change.oldKey), origin: { sourceKey: pick(change.oldKey, keyCols), change, lsn } });
    return;
  }
  const origin: OpOrigin = { sourceKey: pick(change.kind === 'update' && change.oldKey ? change.oldKey : change.newRow, keyCols), change, lsn };
  const unsent = Object.keys(change.newRow).filter((k) => change.newRow[k] === undefined);
  if (unsent.length) {
    // large (TOAST) values unchanged by an UPDATE are not sent: write only what was
    const blocked = t.table.filters.some((f) => unsent.includes(f.column)) || t.table.columns.some((c) => c.kind === 'expression' && c.dependsOn.some((d) => unsent.includes(d)));
    const fix = 'set `ALTER TABLE … REPLICA IDENTITY FULL` on the green table (the old row then carries every value), then repair this row';
    if (blocked) {
      ops.push({ kind: 'reject', table: t.table, reason: `a filter or expression depends on ${unsent.join(', ')}, whose unchanged large value green did not send; ${fix}`, origin });
      return;
    }
    const sent: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(change.newRow)) if (v !== undefined) sent[k] = v;
    const full = t.transformer.transform(sent);
    const row: Record<string, unknown> = {};
    for (const c of t.table.columns) if (c.kind === 'copy' && !unsent.includes(c.source) && full) row[c.target] = full[c.target];
    const fromKey = change.kind === 'update' && change.oldKey && !sameKey(change.oldKey, change.newRow, keyCols) ? change.oldKey : change.newRow;
    ops.push({ kind: 'patch', table: t.table, key: targetKey(fromKey), row, origin, missingReason: `blue has no row for this UPDATE and green did not send the unchanged large values of ${unsent.join(', ')}; ${fix}` });
    return;
  }
  const row = t.transformer.transform(change.newRow);
  const oldKey = change.kind === 'update' && change.oldKey && !sameKey(change.oldKey, change.newRow, keyCols) ? change.oldKey : null;
  if (!row) {
    // an update that leaves the selection filter removes the row; an insert outside it is not replicated
    if (change.kind === 'update') ops.push({ kind: 'delete', table: t.table, key: targetKey(oldKey ?? change.newRow), origin });
    return;
  }
  if (oldKey) ops.push({ kind: 'delete', table: t.table, key: targetKey(oldKey), origin });
  ops.push({ kind: 'upsert', table: t.table, row, origin });
}

function pick(row: WireRow, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = row[k];
  return out;
}

function sameKey(a: WireRow, b: WireRow, keys: readonly string[]): boolean {
  return keys.every((k) => a[k] === b[k]);
}
