import os from 'node:os';
import { processAlive } from '../platform/process-liveness.ts';

/** Who is running this command, as journal and lock records name them. */
export interface OperatorIdentity {
  readonly operator: string;
  readonly host: string;
  readonly pid: number;
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
  return { operator: user, host: os.hostname(), pid: process.pid };
}

/**
 * True only when `pid` is provably not running: same host and the kernel says no such process.
 * A holder on another host can never be proven dead from here.
 */
export function isProvablyDead(holder: { host: string; pid: number }): boolean {
  if (holder.host !== os.hostname()) return false;
  // a killed child its parent has not reaped yet is a zombie: dead, though kill(pid, 0) succeeds
  return !processAlive(holder.pid);
}
