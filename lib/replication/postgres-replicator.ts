import { existsSync, readFileSync, rmSync } from 'node:fs';

import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Replicator, ReplicationStatus, SlotRetention } from '../platform/roles.ts';
import { readSlotRetention } from '../postgres/slot-retention.ts';
import { maxHeartbeatAgeMs } from '../config/common-schema.ts';
import { compareLsn, isLsn } from './lsn.ts';
import { judgeStream, type SourceFacts, type TargetFacts } from './stream-health.ts';
import { dropPublication, dropSlot } from './replication-slot.ts';
import { createStreamWorker, type StreamWorker } from './stream-worker.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import { connectMysql } from '../engines/mysql/mysql-connection.ts';
import { readMysqlApplied } from '../engines/mysql/mysql-kit-schema.ts';
import { readStatusFile, recordedProcessAlive, type WorkerStatusFile } from './status-file.ts';
import { streamNames, streamOriginCondition, type Direction, type StreamNames } from './stream-names.ts';
import { KIT_SESSION_OPTIONS } from '../postgres/kit-session.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { ReusedKitSession } from '../postgres/reused-kit-session.ts';
import { launchWorker } from './worker-launcher.ts';
import { stopWorkers } from './worker-stop.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

export interface PostgresReplicatorOptions {
  /** How long start() waits for the worker to prove healthy (first chunk committed or CDC streaming). @default 60000 */
  readonly startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. @default 10000 */
  readonly stopTimeoutMs?: number;
  /**
   * Test only, in-process (`foreground`) workers: no loop prevention — changes the kit applied
   * are streamed back. Lets a test prove that its ping-pong check can fail. @default false
   */
  readonly replicateOwnChanges?: boolean;
}

/**
 * The USAGE error for a `--wave` the config does not define, or null. The CLI checks it before the
 * run is journaled (bad input changes nothing); `start` checks it again for library callers.
 */
export function unknownWave(env: Pick<ResolvedPostgresEnvironment, 'replication'>, wave: string | undefined): CutoverError | null {
  if (!wave || env.replication.waves.some((w) => w.name === wave)) return null;
  return new CutoverError('USAGE', `unknown wave "${wave}"`, {
    received: wave,
    allowed: env.replication.waves.map((w) => w.name).join(', ') || '(no waves configured)',
    fix: 'use a wave name from replication.waves in the config, or leave --wave out',
  });
}

/**
 * The `postgres` platform's replicator: one detached worker per stream (a direction, or one wave
 * of it), full load then CDC with the DMS table mapping of that direction. Forward reads the
 * source and writes the target with the forward mapping; reverse reads the target and writes the
 * source with the reverse mapping (slot and publication names end in `_rev`).
 */
export class PostgresReplicator implements Replicator {
  private readonly foreground = new Map<string, { controller: AbortController; done: Promise<void>; worker: StreamWorker }>();
  /** The polled reads (status, positions) reuse one session per side instead of connecting every time. */
  private readonly polled: { read: ReusedKitSession; write: ReusedKitSession };

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    readonly direction: Direction,
    private readonly out: Output,
    private readonly options: PostgresReplicatorOptions = {},
  ) {
    const [read, write] = direction === 'forward' ? [env.source.url, env.target.url] : [env.target.url, env.source.url];
    this.polled = { read: new ReusedKitSession(read, 'cutover-replicator'), write: new ReusedKitSession(write, 'cutover-replicator') };
  }

  /** Closes the sessions the polled reads keep (the platform's close()). */
  async close(): Promise<void> {
    await Promise.all([this.polled.read.close(), this.polled.write.close()]);
  }

  /** Streams of this direction: one per configured wave, or one for every selected table. */
  private streams(wave?: string): StreamNames[] {
    if (wave) return [streamNames(this.env, this.direction, wave)];
    if (this.direction === 'forward' && this.env.replication.waves.length) {
      return this.env.replication.waves.map((w) => streamNames(this.env, this.direction, w.name));
    }
    return [streamNames(this.env, this.direction)];
  }

  async start(options: { wave?: string; foreground?: boolean; fromPosition?: string } = {}): Promise<ReplicationStatus> {
    const badWave = unknownWave(this.env, options.wave);
    if (badWave) throw badWave;
    if (options.fromPosition !== undefined && !isLsn(options.fromPosition)) {
      throw new CutoverError('USAGE', `not a PostgreSQL LSN: ${options.fromPosition}`, { received: options.fromPosition, allowed: 'e.g. 0/16B3748' });
    }
    for (const names of this.streams(options.wave)) await this.startStream(names, options);
    return this.status();
  }

  private async startStream(names: StreamNames, options: { foreground?: boolean; fromPosition?: string }): Promise<void> {
    await launchWorker({
      env: this.env,
      names,
      out: this.out,
      foreground: this.foreground,
      inProcess: options.foreground === true,
      createWorker: (runId) =>
        createStreamWorker(this.env, this.direction, { wave: names.wave, fromPosition: options.fromPosition, replicateOwnChanges: this.options.replicateOwnChanges, runId }, this.out),
      main: WORKER_MAIN,
      args: ['--direction', this.direction, ...(names.wave ? ['--wave', names.wave] : []), ...(options.fromPosition ? ['--from-position', options.fromPosition] : [])],
      startTimeoutMs: this.options.startTimeoutMs,
    });
  }

  /**
   * Each stream's status file judged: the worker's liveness, and — when `facts` — lag and
   * heartbeat measured on the source and the target rather than taken from the file.
   */
  private streamViews(facts?: { source: SourceFacts | null; target: Map<string, TargetFacts> | null; slots: Map<string, string | null> }): (WorkerStatusFile & { lagBytes: number | null })[] {
    return this.streams()
      .map((n) => readStatusFile(n.statusFile))
      .filter((s): s is WorkerStatusFile => s !== null)
      .map((s) => {
        const alive = s.worker ? this.foreground.has(s.stream) || recordedProcessAlive(s.worker) : false;
        const source = facts?.source ? { ...facts.source, confirmedLsn: facts.slots.get(s.slot) ?? null } : null;
        const judged = judgeStream({
          file: s,
          alive,
          source,
          target: facts?.target?.get(s.slot) ?? null,
          localNowMs: Date.now(),
          maxHeartbeatAgeMs: maxHeartbeatAgeMs(this.env.gates),
        });
        const { error: _old, ...rest } = s;
        return {
          ...rest,
          ...judged,
          ...(judged.error ? { error: judged.error } : {}),
          worker: s.worker ? { ...s.worker, alive } : undefined,
        };
      });
  }

  /** One query on each side, side by side: the source's position, clock and slots; the target's applied heartbeats. */
  private async measure(): Promise<{ source: SourceFacts | null; target: Map<string, TargetFacts> | null; slots: Map<string, string | null> }> {
    const slots = this.streams().map((n) => n.slot);
    const found = new Map<string, string | null>();
    const sourceFacts = (async () => {
      const { rows } = await this.polled.read.query<{ lsn: string; now_ms: string; slot_name: string | null; confirmed: string | null }>(
        `select pg_current_wal_lsn()::text as lsn, (extract(epoch from clock_timestamp()) * 1000)::text as now_ms, s.slot_name::text, s.confirmed_flush_lsn::text as confirmed
           from (select 1) one left join pg_replication_slots s on s.slot_name = any($1::text[])`,
        [slots],
      );
      for (const r of rows) if (r.slot_name) found.set(r.slot_name, r.confirmed);
      return { currentLsn: rows[0]!.lsn, nowMs: Number(rows[0]!.now_ms), confirmedLsn: null } satisfies SourceFacts;
    })().catch(() => null);
    const targetFacts = (this.writesMysql() ? this.mysqlTargetFacts(slots) : (async () => {
      const { rows } = await this.polled.write.query<{ slot: string; at: string | null }>(
        `select slot, (extract(epoch from source_commit_at) * 1000)::text as at from _cutover.apply_state where slot = any($1::text[])`,
        [slots],
      );
      return new Map(rows.map((r) => [r.slot, { sourceCommitAtMs: r.at === null ? null : Number(r.at) }]));
    })()).catch(() => null);
    const [source, target] = await Promise.all([sourceFacts, targetFacts]);
    return { source, target, slots: found };
  }

  /** Reverse replication into a MySQL-family blue (MysqlReverseWorker). */
  private writesMysql(): boolean {
    return engineOfUrl(this.direction === 'forward' ? this.env.target.url : this.env.source.url) === 'mysql';
  }

  /** Blue's `_cutover.apply_state` (MySQL): the newest heartbeat applied per slot. */
  private async mysqlTargetFacts(slots: readonly string[]): Promise<Map<string, TargetFacts>> {
    const c = await connectMysql(this.env.source.url, 'source');
    try {
      const facts = new Map<string, TargetFacts>();
      for (const slot of slots) {
        const applied = await readMysqlApplied(c, slot);
        if (applied) facts.set(slot, { sourceCommitAtMs: applied.sourceCommitAtMs });
      }
      return facts;
    } finally {
      await c.end().catch(() => {});
    }
  }

  async status(): Promise<ReplicationStatus> {
    if (!this.streamViews().length) {
      return { phase: 'not-started', direction: this.direction, lagMs: null, lagBytes: null, appliedRowsPerSec: 0, tables: [], deadLetters: 0 };
    }
    const views = this.streamViews(await this.measure());
    const phases = views.map((v) => v.phase);
    const phase: ReplicationStatus['phase'] = phases.includes('failed')
      ? 'failed'
      : phases.includes('stalled')
        ? 'stalled'
        : phases.includes('full-load')
          ? 'full-load'
          : phases.includes('cdc')
            ? 'cdc'
            : 'stopped';
    const maxOf = (xs: (number | null | undefined)[]) => (xs.some((x) => x === null || x === undefined) ? null : Math.max(...(xs as number[])));
    const positions = views.map((v) => v.appliedPosition).filter((p): p is string => !!p);
    const error = views.map((v) => v.error).filter(Boolean).join('; ');
    // a stream still running that is re-establishing a lost connection (ISO times sort in order)
    // a running stream's large transaction being applied as it arrives (a dead worker's was rolled back)
    const openTransaction = views.find((v) => v.phase === 'cdc' && v.openTransaction)?.openTransaction;
    const reconnecting = views.filter((v) => v.phase === 'cdc' || v.phase === 'full-load').map((v) => v.reconnectingSince).filter((x): x is string => !!x);
    return {
      phase,
      direction: this.direction,
      lagMs: maxOf(views.map((v) => v.lagMs)),
      lagBytes: maxOf(views.map((v) => v.lagBytes)),
      appliedRowsPerSec: views.reduce((s, v) => s + v.appliedRowsPerSec, 0),
      tables: views.flatMap((v) => v.tables),
      deadLetters: views.reduce((s, v) => s + v.deadLetters, 0),
      ...(views.some((v) => v.unreplicatedColumns?.length) ? { unreplicatedColumns: views.flatMap((v) => v.unreplicatedColumns ?? []) } : {}),
      applyCapacity: {
        changes: views.reduce((s, v) => s + (v.applyCapacity?.changes ?? 0), 0),
        busyMs: views.reduce((s, v) => s + (v.applyCapacity?.busyMs ?? 0), 0),
        cdcMs: Math.max(0, ...views.map((v) => v.applyCapacity?.cdcMs ?? 0)),
      },
      ...(views.some((v) => v.fullLoadSeconds !== undefined) ? { fullLoadSeconds: Math.max(...views.map((v) => v.fullLoadSeconds ?? 0)) } : {}),
      ...(views.find((v) => v.fullLoadPacing) ? { fullLoadPacing: views.find((v) => v.fullLoadPacing)!.fullLoadPacing } : {}),
      worker: views[0]!.worker,
      appliedPosition: positions.length === views.length ? positions.sort(compareLsn)[0] : undefined,
      heartbeatAgeMs: maxOf(views.map((v) => v.heartbeatAgeMs)),
      ...(reconnecting.length ? { reconnectingSince: reconnecting.sort()[0] } : {}),
      ...(openTransaction ? { openTransaction } : {}),
      ...(error ? { error } : {}),
    };
  }

  async stop(): Promise<void> {
    await stopWorkers({ foreground: this.foreground, streams: this.streams(), timeoutMs: this.options.stopTimeoutMs ?? 10_000, out: this.out });
  }

  async sourcePosition(): Promise<string> {
    return (await this.polled.read.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn;
  }

  async waitForPosition(position: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    let nudgedAt = Date.now();
    while (!signal?.aborted) {
      // status files only: polling must not cost the source a connection every few milliseconds
      const views = this.streamViews();
      const positions = views.map((v) => v.appliedPosition).filter((p): p is string => !!p);
      if (views.length && positions.length === views.length && compareLsn(positions.sort(compareLsn)[0]!, position) >= 0) return true;
      if (views.some((v) => v.phase === 'failed' || v.phase === 'stalled')) return false;
      if (Date.now() >= until) return false;
      if (Date.now() - nudgedAt > 1000) {
        // An idle source may end its WAL exactly at a page boundary, a few bytes short of what
        // pg_current_wal_lsn() reports: one tiny WAL record moves the stream past it.
        nudgedAt = Date.now();
        await this.polled.read.query("select pg_logical_emit_message(false, 'cutover', 'sync')").catch(() => {});
      }
      await sleep(25);
    }
    return false;
  }

  async teardown(): Promise<void> {
    await this.stop();
    await this.withReadSide(async (c) => {
      for (const names of [streamNames(this.env, this.direction), ...this.env.replication.waves.map((w) => streamNames(this.env, this.direction, w.name))]) {
        if (await dropSlot(c, names.slot)) this.out.ok(`replicate ${names.id}`, `dropped slot ${names.slot}`);
        await dropPublication(c, names.publication);
      }
    });
    const write = this.direction === 'forward' ? this.env.target.url : this.env.source.url;
    if (this.writesMysql()) {
      // a MySQL-family blue has no replication origins; its `_cutover` database is `cancel`'s to drop
      for (const n of [streamNames(this.env, this.direction), ...this.env.replication.waves.map((w) => streamNames(this.env, this.direction, w.name))]) if (existsSync(n.envFile)) rmSync(n.envFile);
      return;
    }
    const client = new pg.Client({ connectionString: write, application_name: 'cutover-replicator', options: KIT_SESSION_OPTIONS });
    client.on('error', () => {}); // a server-side disconnect surfaces on the next query, not as a crash
    try {
      await client.connect();
      const names = [streamNames(this.env, this.direction), ...this.env.replication.waves.map((w) => streamNames(this.env, this.direction, w.name))];
      for (const n of names) {
        const origins = streamOriginCondition(n.origin);
        await client.query(`select pg_replication_origin_drop(roname) from pg_replication_origin where ${origins.sql}`, origins.params).catch(() => {});
        if (existsSync(n.envFile)) rmSync(n.envFile);
      }
    } catch {
      /* the apply side is optional for teardown: slots and publications are what hold resources */
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** This direction's slots (every wave) on the side it reads, with the WAL each retains. */
  async slots(): Promise<SlotRetention[]> {
    const names = [streamNames(this.env, this.direction), ...this.env.replication.waves.map((w) => streamNames(this.env, this.direction, w.name))].map((n) => n.slot);
    const warnAboveBytes = this.env.replication.retainedWalWarnMb * 1024 * 1024;
    const rows = await this.withReadSide((c) => readSlotRetention(c, names));
    return rows.map((r) => ({
      slot: r.slot,
      side: this.direction === 'forward' ? 'source' : 'target',
      active: r.active,
      retainedBytes: r.retainedBytes,
      walStatus: r.walStatus,
      warnAboveBytes,
      warn: r.walStatus === 'lost' || (!r.active && (r.retainedBytes ?? 0) > warnAboveBytes),
    }));
  }

  private async withReadSide<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const url = this.direction === 'forward' ? this.env.source.url : this.env.target.url;
    const client = await openKitClient(url, 'cutover-replicator');
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** The worker's log (detached mode), for `replicate status --verbose` and failure messages. */
  logTail(lines = 40, wave?: string): string {
    const file = streamNames(this.env, this.direction, wave).logFile;
    if (!existsSync(file)) return '';
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  }
}
