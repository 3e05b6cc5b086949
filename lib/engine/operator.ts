import os from 'node:os';
import { processStartMark, recordedProcessAlive } from '../platform/process-liveness.ts';

/** Who is running this command, as journal and lock records name them. */
export interface OperatorIdentity {
  readonly operator: string;
  readonly host: string;
  readonly pid: number;
  /**
   * When that process started, as the kernel counts it (processStartMark): a pid the kernel has
   * since given to another process is told apart. Absent in records of older kits; null where unknown.
   */
  readonly start?: string | null;
}

export function currentOperator(): OperatorIdentity {
  let user = process.env.USER ?? process.env.USERNAME;
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return { operator: user, host: os.hostname(), pid: process.pid, start: processStartMark(process.pid) };
}

/**
 * True only when the holder is provably not running: same host, and the kernel says no such
 * process, or that its pid now belongs to a process that started at another time. A holder on
 * another host can never be proven dead from here.
 */
export function isProvablyDead(holder: { host: string; pid: number; start?: string | null }): boolean {
  if (holder.host !== os.hostname()) return false;
  // pids are reused (32,768 of them by default on Linux; a busy host goes round in minutes): a lock
  // left by a killed command could name a database server started later, and rollback's SIGINT
  // would shut that server down. A zombie counts as dead (processAlive).
  return !recordedProcessAlive(holder);
}
