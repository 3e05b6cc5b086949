import { readFileSync } from 'node:fs';

/**
 * Whether a process is alive, and when it started: shared by the worker status files (local
 * control plane) and the changed-key log's hold owners (engine), hence a neutral file.
 */
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
 * Whether the process a status file names is still running: alive, and — when the file has its
 * start mark — started when that process did. After a reboot or a long stop a worker's pid can
 * belong to an unrelated process: `replicate start` then said "already running" and started
 * nothing, and `replicate stop` sent it SIGTERM and SIGKILL.
 */
export function recordedProcessAlive(recorded: { pid: number; start?: string | null } | undefined): boolean {
  if (!recorded || !processAlive(recorded.pid)) return false;
  if (!recorded.start) return true;
  const now = processStartMark(recorded.pid);
  return now === null || now === recorded.start;
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
