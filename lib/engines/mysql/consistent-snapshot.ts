import type mysql from 'mysql2/promise';
import { compareBinlogPositions, currentBinlogPosition, gtidState, type BinlogPosition } from './binlog-position.ts';
import { connectMysql, mysqlRows } from './mysql-connection.ts';

/** One session reading in its own InnoDB snapshot, and where that snapshot sits in the binlog. */
export interface SnapshotSession {
  readonly connection: mysql.Connection;
  readonly position: BinlogPosition;
}

export interface ConsistentSnapshots {
  readonly sessions: SnapshotSession[];
  /**
   * How the positions were obtained: `binlog_snapshot` (MariaDB, exact per session, no lock),
   * `flush-tables-read-lock` (MySQL: a global read lock held only while the sessions open), or
   * `bracketed` (MySQL where FTWRL is refused, e.g. RDS/Aurora: no lock at all; the position before
   * the sessions opened and the one after bound every snapshot).
   */
  readonly method: 'binlog_snapshot' | 'flush-tables-read-lock' | 'bracketed';
  /** CDC starts here: no snapshot has anything committed after it missing. */
  readonly low: BinlogPosition;
  /** Every snapshot holds everything committed before it; between `low` and `high` CDC replays idempotently. */
  readonly high: BinlogPosition;
}

/**
 * `count` sessions, each in a consistent InnoDB snapshot (`START TRANSACTION WITH CONSISTENT
 * SNAPSHOT`), with binlog positions that bound them — without a long global lock:
 * - MariaDB gives each snapshot's exact position (`binlog_snapshot_file` / `_position` status
 *   variables, taken atomically with the snapshot);
 * - MySQL 8 has no such variables: a brief `FLUSH TABLES WITH READ LOCK` while the sessions open
 *   and `SHOW MASTER STATUS` is read (milliseconds; it waits for running statements, as
 *   mysqldump --single-transaction --master-data does);
 * - where FTWRL is refused (RDS/Aurora lack the RELOAD privilege it needs), no lock: the position
 *   read just before the sessions open and the one read just after. A transaction committed in
 *   between is in some snapshots and not in others; CDC starts at the lower bound and applies
 *   full row images idempotently (upserts by key) up to the higher one, so every table converges.
 *   This replaces Vitess's per-table `LOCK TABLES … READ`: no table is ever locked.
 */
export async function openConsistentSnapshots(url: string, count: number): Promise<ConsistentSnapshots> {
  const sessions: SnapshotSession[] = [];
  const opened: mysql.Connection[] = [];
  const openOne = async (): Promise<mysql.Connection> => {
    const c = await connectMysql(url, 'source');
    opened.push(c);
    await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    return c;
  };
  try {
    const first = await openOne();
    const own = await snapshotPosition(first);
    if (own) {
      sessions.push({ connection: first, position: { ...own, gtid: null } });
      // each MariaDB snapshot carries its own exact position: the others open side by side
      const more = await Promise.all(
        Array.from({ length: count - 1 }, async () => {
          const c = await openOne();
          return { connection: c, position: { ...(await snapshotPosition(c))!, gtid: null } };
        }),
      );
      sessions.push(...more);
      return finish(sessions, 'binlog_snapshot');
    }
    // MySQL: the first session's snapshot predates any lock; start over under FTWRL or bracketed
    await first.query('ROLLBACK');
    const lock = await connectMysql(url, 'source');
    opened.push(lock);
    let locked = true;
    try {
      await lock.query('FLUSH TABLES WITH READ LOCK');
    } catch {
      locked = false;
    }
    const before = await currentBinlogPosition(lock);
    const conns = [first];
    await first.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    for (let i = 1; i < count; i++) conns.push(await openOne());
    const after = locked ? before : await currentBinlogPosition(lock);
    if (locked) await lock.query('UNLOCK TABLES');
    await lock.end().catch(() => {});
    opened.splice(opened.indexOf(lock), 1);
    for (const [i, c] of conns.entries()) sessions.push({ connection: c, position: i === 0 ? before : after });
    return finish(sessions, locked ? 'flush-tables-read-lock' : 'bracketed', before, after);
  } catch (err) {
    await Promise.all(opened.map((c) => c.end().catch(() => {})));
    throw err;
  }
}

async function snapshotPosition(c: mysql.Connection): Promise<BinlogPosition | null> {
  const rows = await mysqlRows<{ Variable_name: string; Value: string }>(c, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'");
  const file = rows.find((r) => r.Variable_name.toLowerCase() === 'binlog_snapshot_file')?.Value;
  const pos = rows.find((r) => r.Variable_name.toLowerCase() === 'binlog_snapshot_position')?.Value;
  return file ? { file, position: Number(pos) } : null;
}

async function finish(sessions: SnapshotSession[], method: ConsistentSnapshots['method'], low?: BinlogPosition, high?: BinlogPosition): Promise<ConsistentSnapshots> {
  const sorted = sessions.map((s) => s.position).sort(compareBinlogPositions);
  const gtid = await gtidState(sessions[0]!.connection).catch(() => null);
  return { sessions, method, low: { ...(low ?? sorted[0]!), gtid: method === 'binlog_snapshot' ? null : gtid }, high: high ?? sorted.at(-1)! };
}
