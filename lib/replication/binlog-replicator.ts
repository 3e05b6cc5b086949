import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { maxHeartbeatAgeMs } from '../config/common-schema.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Replicator, ReplicationStatus } from '../platform/roles.ts';
import { binlogBytesBetween, compareBinlogPositions, currentBinlogPosition, formatBinlogPosition, parseBinlogPosition } from '../engines/mysql/binlog-position.ts';
import { connectMysql } from '../engines/mysql/mysql-connection.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { deleteBinlogState } from './binlog-state.ts';
import { resetStream } from './control-schema.ts';
import { BinlogReplicationWorker } from './binlog-worker.ts';
import { unknownWave } from './postgres-replicator.ts';
import { readStatusFile, recordedProcessAlive, type WorkerStatusFile } from './status-file.ts';
import { judgeStream } from './stream-health.ts';
import { streamNames, type StreamNames } from './stream-names.ts';
import { launchWorker } from './worker-launcher.ts';
import { stopWorkers } from './worker-stop.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const WORKER_MAIN = fileURLToPath(new URL('./binlog-worker-main.ts', import.meta.url));

export interface BinlogReplicatorOptions {
  /** How long start() waits for the worker to prove healthy. @default 60000 */
  readonly startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. @default 10000 */
  readonly stopTimeoutMs?: number;
}

/**
 * The forward replicator of the local control plane for a MySQL-family source (`mysql://`,
 * `mariadb://`) into PostgreSQL: one detached BinlogReplicationWorker per stream (the direction,
 * or one per wave), full load aligned with a binlog position then CDC from the binlog, with the
 * forward DMS mapping. Positions are binlog `file:offset` (`replicate status` prints the one
 * applied; `sourcePosition()` returns the source's current one for `waitForPosition`). Reads
 * nothing into the source: no slot exists, so teardown only forgets the stream's state.
 */
export class BinlogReplicator implements Replicator {
  readonly direction = 'forward' as const;
  readonly method =
    'full load in consistent-snapshot sessions aligned with a binlog position (MariaDB: binlog_snapshot_file/position, no lock; MySQL 8: a brief FLUSH TABLES WITH READ LOCK, none where refused), then CDC from the binlog (ROW events) from that position';
  private readonly foreground = new Map<string, { controller: AbortController; done: Promise<void>; worker: BinlogReplicationWorker }>();
  private source: ReturnType<typeof connectMysql> | null = null;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    private readonly options: BinlogReplicatorOptions = {},
  ) {}

  private streams(wave?: string): StreamNames[] {
    if (wave) return [streamNames(this.env, 'forward', wave)];
    if (this.env.replication.waves.length) return this.env.replication.waves.map((w) => streamNames(this.env, 'forward', w.name));
    return [streamNames(this.env, 'forward')];
  }

  async start(options: { wave?: string; foreground?: boolean; fromPosition?: string } = {}): Promise<ReplicationStatus> {
    const badWave = unknownWave(this.env, options.wave);
    if (badWave) throw badWave;
    if (options.fromPosition !== undefined) {
      throw new CutoverError('USAGE', 'forward replication from a MySQL source starts from its own full load: it takes no start position', { received: options.fromPosition });
    }
    for (const names of this.streams(options.wave)) await this.startStream(names, options.foreground === true);
    return this.status();
  }

  private async startStream(names: StreamNames, foreground: boolean): Promise<void> {
    await launchWorker({
      env: this.env,
      names,
      out: this.out,
      foreground: this.foreground,
      inProcess: foreground,
      createWorker: (runId) => new BinlogReplicationWorker(this.env, { wave: names.wave, runId }, this.out),
      main: WORKER_MAIN,
      args: names.wave ? ['--wave', names.wave] : [],
      startTimeoutMs: this.options.startTimeoutMs,
      cdcLabel: 'CDC streaming the binlog',
    });
  }

  private views(): (WorkerStatusFile & { lagBytes: number | null })[] {
    return this.streams()
      .map((n) => readStatusFile(n.statusFile))
      .filter((s): s is WorkerStatusFile => s !== null)
      .map((s) => {
        const alive = s.worker ? this.foreground.has(s.stream) || recordedProcessAlive(s.worker) : false;
        const judged = judgeStream({ file: s, alive, source: null, target: null, localNowMs: Date.now(), maxHeartbeatAgeMs: maxHeartbeatAgeMs(this.env.gates) });
        const { error: _old, ...rest } = s;
        return { ...rest, ...judged, ...(judged.error ? { error: judged.error } : {}), worker: s.worker ? { ...s.worker, alive } : undefined };
      });
  }

  async status(): Promise<ReplicationStatus> {
    const views = this.views();
    if (!views.length) return { phase: 'not-started', direction: 'forward', lagMs: null, lagBytes: null, appliedRowsPerSec: 0, tables: [], deadLetters: 0 };
    // bytes behind, measured on the source: its binlog end minus each stream's applied position
    const current = await this.withSource((c) => currentBinlogPosition(c)).catch(() => null);
    for (const v of views) {
      if (!current || !v.appliedPosition) continue;
      v.lagBytes = await this.withSource((c) => binlogBytesBetween(c, parseBinlogPosition(v.appliedPosition!), current)).catch(() => null);
    }
    const phases = views.map((v) => v.phase);
    const phase: ReplicationStatus['phase'] = phases.includes('failed') ? 'failed' : phases.includes('stalled') ? 'stalled' : phases.includes('full-load') ? 'full-load' : phases.includes('cdc') ? 'cdc' : 'stopped';
    const maxOf = (xs: (number | null | undefined)[]) => (xs.some((x) => x === null || x === undefined) ? null : Math.max(...(xs as number[])));
    const positions = views.map((v) => v.appliedPosition).filter((p): p is string => !!p);
    const error = views.map((v) => v.error).filter(Boolean).join('; ');
    // a stream still running that is re-establishing a lost connection (ISO times sort in order)
    const reconnecting = views.filter((v) => v.phase === 'cdc' || v.phase === 'full-load').map((v) => v.reconnectingSince).filter((x): x is string => !!x);
    return {
      phase,
      direction: 'forward',
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
      worker: views[0]!.worker,
      appliedPosition: positions.length === views.length ? positions.sort((a, b) => compareBinlogPositions(parseBinlogPosition(a), parseBinlogPosition(b)))[0] : undefined,
      heartbeatAgeMs: null,
      ...(reconnecting.length ? { reconnectingSince: reconnecting.sort()[0] } : {}),
      ...(error ? { error } : {}),
    };
  }

  async stop(): Promise<void> {
    await stopWorkers({ foreground: this.foreground, streams: this.streams(), timeoutMs: this.options.stopTimeoutMs ?? 10_000, out: this.out });
  }

  /** The source's binlog end as `file:offset`. */
  async sourcePosition(): Promise<string> {
    return formatBinlogPosition(await this.withSource((c) => currentBinlogPosition(c)));
  }

  async waitForPosition(position: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const wanted = parseBinlogPosition(position);
    const until = Date.now() + timeoutMs;
    while (!signal?.aborted) {
      const views = this.views();
      const positions = views.map((v) => v.appliedPosition).filter((p): p is string => !!p);
      if (views.length && positions.length === views.length && positions.every((p) => compareBinlogPositions(parseBinlogPosition(p), wanted) >= 0)) return true;
      if (views.some((v) => v.phase === 'failed' || v.phase === 'stalled')) return false;
      if (Date.now() >= until) return false;
      await sleep(25);
    }
    return false;
  }

  /** Stops the workers and forgets their load plan and binlog positions (nothing of the kit lives in the source). */
  async teardown(): Promise<void> {
    await this.stop();
    const client = await openKitClient(this.env.target.url, 'cutover-replicator').catch(() => null);
    try {
      for (const n of [streamNames(this.env, 'forward'), ...this.env.replication.waves.map((w) => streamNames(this.env, 'forward', w.name))]) {
        if (client) {
          await resetStream(client, n.slot).catch(() => {});
          await deleteBinlogState(client, n.slot);
        }
        if (existsSync(n.envFile)) rmSync(n.envFile);
      }
    } finally {
      await client?.end().catch(() => {});
    }
  }

  logTail(lines = 40, wave?: string): string {
    const file = streamNames(this.env, 'forward', wave).logFile;
    if (!existsSync(file)) return '';
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /**
   * One source session kept open between calls: the write switch reads the source's position
   * while writes are held, and opening a connection then costs hundreds of milliseconds on a
   * loaded machine. Dropped (and opened again next time) on any error.
   */
  private async withSource<T>(fn: (c: Awaited<ReturnType<typeof connectMysql>>) => Promise<T>, retry = true): Promise<T> {
    const reused = this.source !== null;
    this.source ??= connectMysql(this.env.source.url, 'source');
    const opening = this.source;
    try {
      const c = await opening;
      return await fn(c);
    } catch (err) {
      if (this.source === opening) this.source = null;
      await opening.then((c) => c.end()).catch(() => {});
      // a kept session may have been closed meanwhile (wait_timeout, a server restart): once more, fresh
      if (reused && retry) return this.withSource(fn, false);
      throw err;
    }
  }

  /** Ends the kept source session (the platform's close()). */
  async close(): Promise<void> {
    const opening = this.source;
    this.source = null;
    await opening?.then((c) => c.end()).catch(() => {});
  }
}
