import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { readStatusFile, recordedProcessAlive } from './status-file.ts';
import type { StreamNames } from './stream-names.ts';
import { workerCommand } from './worker-bundle.ts';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A worker run in this process (`--foreground`), kept by its stream id. */
export interface ForegroundWorker<W> {
  readonly controller: AbortController;
  readonly done: Promise<void>;
  readonly worker: W;
}

export interface WorkerLaunch<W extends { run(signal: AbortSignal): Promise<void> }> {
  readonly env: ResolvedPostgresEnvironment;
  readonly names: StreamNames;
  readonly out: Output;
  /** The replicator's workers running in this process: a foreground start adds one. */
  readonly foreground: Map<string, ForegroundWorker<W>>;
  /** Run in this process (true) or as a detached process that survives the command. */
  readonly inProcess: boolean;
  /** The in-process worker; it writes `runId` into every status it writes. */
  createWorker(runId: string): W;
  /** The detached worker's entry module and its arguments after `--env-file FILE` (the launcher adds `--run-id ID`). */
  readonly main: string;
  readonly args: readonly string[];
  /** @default 60000 */
  readonly startTimeoutMs?: number;
  /** What a healthy CDC start is called in the message. @default 'CDC streaming' */
  readonly cdcLabel?: string;
}

/**
 * Starts one stream's replication worker — in this process, or detached (the environment in a
 * 0600 file the worker reads and removes, its output appended to the stream's log) — and returns
 * once it proved healthy through its status file: it survived its start, connected, and committed
 * its first full-load chunk or accepted its CDC stream — judged only by a status that carries this
 * start's own run id, never by one an earlier run left. A worker of the stream already running
 * is left alone. Shared by the WAL (postgres-replicator.ts) and binlog (binlog-replicator.ts)
 * replicators.
 */
export async function launchWorker<W extends { run(signal: AbortSignal): Promise<void> }>(o: WorkerLaunch<W>): Promise<void> {
  const { names, out } = o;
  if (o.foreground.has(names.id)) return;
  const previous = readStatusFile(names.statusFile);
  if (previous?.worker && previous.worker.pid !== process.pid && recordedProcessAlive(previous.worker) && previous.phase !== 'stopped' && previous.phase !== 'failed') {
    out.info(`replicate ${names.id}`, `worker ${previous.worker.pid} is already running`);
    return;
  }
  mkdirSync(o.env.stateDir, { recursive: true });
  const startedAt = Date.now();
  const runId = randomUUID();
  let exited: string | null = null;
  let pid: number;
  if (o.inProcess) {
    const controller = new AbortController();
    const worker = o.createWorker(runId);
    const done = worker.run(controller.signal).catch((err: Error) => {
      exited = err.message;
    });
    o.foreground.set(names.id, { controller, done, worker });
    pid = process.pid;
  } else {
    // plain node on a cached bundle of the entry (tsx compiling it costs seconds per start)
    const command = await workerCommand(o.main);
    writeFileSync(names.envFile, JSON.stringify(o.env), { mode: 0o600 });
    const log = openSync(names.logFile, 'a');
    writeSync(log, `${new Date().toISOString().slice(11, 19)} info  replicate ${names.id}: starting the worker: ${command.description}\n`);
    const child = spawn(process.execPath, [...command.nodeArgs, '--env-file', names.envFile, ...o.args, '--run-id', runId], { cwd: PACKAGE_ROOT, detached: true, stdio: ['ignore', log, log], env: process.env });
    closeSync(log);
    child.on('exit', (code, signal) => {
      exited = `worker exited (${signal ?? `code ${code}`})`;
    });
    child.unref();
    pid = child.pid!;
  }
  const timeoutMs = o.startTimeoutMs ?? 60_000;
  for (;;) {
    const s = readStatusFile(names.statusFile);
    const fresh = s !== null && s.runId === runId;
    // healthy = survived its start: connected, its stream in place, and its first full-load chunk
    // committed or the CDC stream accepted (a non-empty target fails before that)
    if (fresh && s.liveSince && (s.phase === 'full-load' || s.phase === 'cdc')) {
      out.ok(`replicate ${names.id}`, `worker ${pid} healthy (${s.phase === 'cdc' ? (o.cdcLabel ?? 'CDC streaming') : 'full load: first chunk committed'})`);
      return;
    }
    if ((fresh && s.phase === 'failed') || exited) {
      o.foreground.delete(names.id);
      throw new CutoverError('PRECONDITION_FAILED', `replication worker ${names.id} failed to start: ${(fresh && s.error) || exited}`, {
        fix: o.inProcess ? 'see the error above' : `see ${names.logFile}`,
      });
    }
    if (Date.now() - startedAt > timeoutMs) {
      throw new CutoverError('TIMEOUT', `replication worker ${names.id} did not prove healthy within ${timeoutMs} ms (phase ${s?.phase ?? 'unknown'}: no full-load chunk committed and no CDC stream yet)`, {
        fix: `see ${names.logFile}; stop it with replicate stop`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
