import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReplicationStatus } from '../platform/roles.ts';

/** What the worker writes every heartbeat; `replicate status` reads it. */
export interface WorkerStatusFile extends ReplicationStatus {
  readonly stream: string;
  readonly slot: string;
  readonly wave?: string;
  readonly startedAt: string;
  /** Every transaction before this position is applied and committed on the target. */
  readonly appliedPosition?: string;
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

export function processAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    // a killed child not yet reaped by its parent is a zombie: dead for our purposes
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When process `pid` started, as the kernel counts it (Linux: clock ticks since boot, from
 * /proc/PID/stat), so a pid reused by a later process is told apart; null where unknown.
 */
export function processStartMark(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
