/**
 * What the replication benchmarks (replication-cdc.ts, replication-large-txn.ts) measure the same
 * way for the replicator and for a native subscription: processes' CPU from /proc, when a slot's
 * consumer was accepted, and a slot settled before its consumer stops.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export async function connectClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** A process's peak resident memory in MB (Linux /proc VmHWM; null elsewhere). */
export function peakRssMb(pid: number): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds processes used so far (Linux /proc; null elsewhere). */
export function processCpu(pids: readonly number[]): number | null {
  try {
    return pids.reduce((sum, pid) => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
    }, 0);
  } catch {
    return null;
  }
}

/**
 * Seconds the processes' threads were ready to run but waited for a CPU (Linux schedstat's
 * run_delay; null elsewhere): on a machine with fewer cores than busy processes, what the
 * contention cost them.
 */
export function processWaited(pids: readonly number[]): number | null {
  try {
    let ns = 0;
    for (const pid of pids) {
      for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[1]);
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** Seconds the server processes matching `where` waited for a CPU so far (see processWaited). */
export async function backendWaited(c: pg.Client, where: string): Promise<number | null> {
  const { rows } = await c.query<{ pid: number }>(`select pid from pg_stat_activity where ${where}`);
  return processWaited(rows.map((r) => r.pid));
}

/** CPU seconds the server processes matching `where` (over pg_stat_activity) used so far. */
export async function backendCpu(c: pg.Client, where: string): Promise<number | null> {
  const { rows } = await c.query<{ pid: number }>(`select pid from pg_stat_activity where ${where}`);
  return processCpu(rows.map((r) => r.pid));
}

/** When `slot` turned active (its consumer's stream accepted), polled every 2 ms on `watch`. */
export async function slotActiveAt(watch: pg.Client, slot: string): Promise<number> {
  for (;;) {
    const { rows } = await watch.query<{ active: boolean }>('select active from pg_replication_slots where slot_name = $1', [slot]);
    if (rows[0]?.active) return performance.now();
    await sleep(2);
  }
}

/**
 * Where a slot's consumer starts decoding (restart_lsn) moves only when it confirms a position
 * past a running-transactions record, which the source writes every 15 s or at a checkpoint:
 * left to chance, the next run of one consumer may decode the whole previous backlog again
 * before its first new row, and the other's not. Before each consumer stops: a checkpoint, and
 * up to 12 s for its slot's restart_lsn to pass it — the same for both.
 */
export async function settleSlot(source: pg.Client, slot: string): Promise<void> {
  // the position before the checkpoint: its running-transactions record lies after it, and a
  // restart_lsn moves to such a record — one read after the checkpoint waited for the next record,
  // written every 15 s, and mostly ran out of time
  const at = (await source.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn;
  await source.query('checkpoint');
  for (let i = 0; i < 240; i++) {
    const { rows } = await source.query<{ ok: boolean }>('select restart_lsn >= $2::pg_lsn as ok from pg_replication_slots where slot_name = $1', [slot, at]);
    if (rows[0]?.ok) return;
    await sleep(50);
  }
  process.stdout.write(`(slot ${slot}: restart_lsn did not pass ${at} within 12 s)\n`);
}
