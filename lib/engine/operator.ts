import os from 'node:os';

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
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
