import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ReplicationStatus } from '../platform/roles.ts';

/** Re-exported for the local control plane's callers; it lives in a neutral file so engines may use it too. */
import { processStartMark } from '../platform/process-liveness.ts';
export { processAlive, processStartMark, recordedProcessAlive } from '../platform/process-liveness.ts';

/** This process's start mark, read once (see recordedProcessAlive). */
const OWN_START_MARK = processStartMark(process.pid);

/** The `worker` a worker writes into its status: this process, heartbeat at `nowMs`. */
export function thisWorker(nowMs: number): NonNullable<WorkerStatusFile['worker']> {
  return { pid: process.pid, host: os.hostname(), heartbeatAt: new Date(nowMs).toISOString(), alive: true, start: OWN_START_MARK };
}

/** What the worker writes every heartbeat; `replicate status` reads it. */
export interface WorkerStatusFile extends ReplicationStatus {
  readonly stream: string;
  readonly slot: string;
  readonly wave?: string;
  readonly startedAt: string;
  /**
   * The start that launched this worker (worker-launcher.ts): the launcher judges its start only by a
   * status carrying its own id — a foreground start right after a failed one has the same pid and
   * a startedAt moments apart, so neither tells the runs apart. @default - absent: a worker started
   * without a launcher (never judged by one)
   */
  readonly runId?: string;
  /** Every transaction before this position is applied and committed on the target. */
  readonly appliedPosition?: string;
  /**
   * When the worker last committed changes on the target or applied a part of a large transaction
   * (its clock, on this machine): a worker applying a backlog is catching up, not stalled, however
   * old the newest heartbeat it applied so far. @default - absent: nothing applied yet
   */
  readonly appliedAt?: string;
  /** The newest position a full-load snapshot used (below it CDC tolerates missing rows). */
  readonly replayUntil?: string;
  /** When the CDC stream was accepted by the source (START_REPLICATION answered). */
  readonly cdcSince?: string;
  /** When the worker proved it survived its start: its first full-load chunk committed, or CDC streaming. */
  readonly liveSince?: string;
  /** The source heartbeat this worker emits during CDC; `error` when the source refuses it. */
  readonly heartbeat?: { readonly everyMs: number; readonly error?: string };
}

export function writeStatusFile(file: string, status: WorkerStatusFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(status, null, 2) + '\n');
  renameSync(tmp, file); // readers never see half a file
}

/** The same, off the event loop (the worker's heartbeat must not stall the apply pipeline). */
export async function writeStatusFileAsync(file: string, status: WorkerStatusFile): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const text = JSON.stringify(status, null, 2) + '\n';
  try {
    await writeFile(tmp, text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, text);
  }
  await rename(tmp, file);
}

export function readStatusFile(file: string): WorkerStatusFile | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as WorkerStatusFile;
  } catch {
    return null;
  }
}
