import type mysql from 'mysql2/promise';
import type { ResolvedPostgresEnvironment } from '../../config/load.ts';
import { CutoverError } from '../../errors.ts';
import type { Side, WriteFence } from '../../platform/roles.ts';
import { PostgresWriteFence } from '../../traffic/postgres-write-fence.ts';
import { engineOfUrl } from '../engine-of-url.ts';
import { connectMysql, kitSessionSql, mysqlRows } from './mysql-connection.ts';

/** What a fence of a MySQL-family side proved when it closed. */
export interface MysqlFenceProof {
  readonly side: Side;
  /** Client sessions ended (open transactions first, then every other client session). */
  readonly killed: number;
  /** Write transactions still open after the fence (always 0, or the fence fails). */
  readonly openWriteTransactions: number;
  /** The binary log position at the fence: everything before it is what blue acknowledged. */
  readonly binlogFile: string | null;
  readonly binlogPosition: number | null;
  /** MariaDB `gtid_binlog_pos` / MySQL `gtid_executed`, when there is one. */
  readonly gtid: string | null;
  /**
   * Accounts that can still write into the fenced side, as `'user'@'host'`: read_only does not
   * stop them (the reverse replication's must be one, and the kit's own when the kit applies it).
   */
  readonly writersWhileFenced: readonly string[];
}

/** Sessions never ended by the fence: the binlog readers (DMS CDC) and the server's own threads. */
export const SPARED_COMMANDS: readonly string[] = ['Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker'];

/**
 * The write fence for a MySQL-family side (and, through PostgresWriteFence, a PostgreSQL one):
 *
 * 1. ends every client session with an open InnoDB transaction (never acknowledged: the router
 *    holds writes meanwhile), so step 2 does not wait on them;
 * 2. `SET GLOBAL read_only = ON` — on MySQL 8 deliberately not `super_read_only`, see below;
 * 3. ends every other client session (pools reconnect into a read-only server);
 * 4. proves that no write transaction is open any more and records the binary log position.
 *
 * The account reverse replication writes with must still write into a fenced blue: `read_only`
 * lets through accounts with MariaDB's `READ ONLY ADMIN` privilege (10.11: not part of SUPER any
 * more) or MySQL 8's `CONNECTION_ADMIN`/`SUPER` — so grant that to the DMS reverse-task account
 * only, never to the application's account; `super_read_only` would stop it too and is left off.
 * The fence lists the accounts that can still write (`writersWhileFenced`) in the proof that
 * `refuseWrites` returns (the switch journals it and prints it). Only the kit's own sessions are
 * spared — those tagged by KIT_SESSION_TAG (mysql-connection.ts), in any process: the replication
 * workers' — never a session merely because it uses the kit's account (an app sharing that account
 * would otherwise keep writing into the fenced blue, through read_only). On RDS/Aurora `SET GLOBAL` is refused: set `read_only` in
 * the DB parameter group (the aws control plane does) and sessions are ended with
 * `CALL mysql.rds_kill(id)`.
 */
export class MysqlWriteFence implements WriteFence {
  private readonly urls: Record<Side, string>;
  private readonly postgres: PostgresWriteFence;
  lastProof: MysqlFenceProof | null = null;

  constructor(env: ResolvedPostgresEnvironment) {
    this.urls = { blue: env.source.url, green: env.target.url };
    this.postgres = new PostgresWriteFence(env);
  }

  async refuseWrites(side: Side): Promise<MysqlFenceProof | void> {
    if (engineOfUrl(this.urls[side]) === 'postgres') return this.postgres.refuseWrites(side);
    return this.withConnection(side, async (c) => {
      await c.query('SET SESSION lock_wait_timeout = 10');
      let killed = await endSessions(c, true);
      await setGlobal(c, 'read_only', 'ON', side);
      killed += await endSessions(c, false);
      const openWriteTransactions = await openWriteTransactionsAfterKill(c);
      if (openWriteTransactions) {
        throw new CutoverError('PRECONDITION_FAILED', `${side} still has ${openWriteTransactions} open write transaction(s) after the fence`, {
          fix: 'run the step again (it is idempotent); if it repeats, look at information_schema.INNODB_TRX for a session the fence may not end',
        });
      }
      const position = await binlogPosition(c);
      this.lastProof = { side, killed, openWriteTransactions, ...position, writersWhileFenced: await writersWhileFenced(c) };
      return this.lastProof;
    });
  }

  async allowWrites(side: Side): Promise<void> {
    if (engineOfUrl(this.urls[side]) === 'postgres') return this.postgres.allowWrites(side);
    await this.withConnection(side, async (c) => {
      const [row] = await mysqlRows<{ ro: number | string; sro: number | string | null }>(c, 'SELECT @@global.read_only AS ro, NULL AS sro');
      if (Number(row?.ro) === 1) await setGlobal(c, 'read_only', 'OFF', side);
    });
  }

  async isRefusingWrites(side: Side): Promise<boolean> {
    if (engineOfUrl(this.urls[side]) === 'postgres') return this.postgres.isRefusingWrites(side);
    return this.withConnection(side, async (c) => {
      const [row] = await mysqlRows<{ ro: number | string }>(c, 'SELECT @@global.read_only AS ro');
      return Number(row?.ro) === 1;
    });
  }

  private async withConnection<T>(side: Side, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
    const c = await connectMysql(this.urls[side], side === 'blue' ? 'source' : 'target');
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }
}

/**
 * Write transactions of other sessions than the kit's still open. `KILL CONNECTION` only flags the session: its
 * thread then rolls the transaction back and exits on its own, so a transaction can still be
 * listed (rolling back) for a moment after the kill. Poll until none is left, up to
 * `lock_wait_timeout`-like 10 s; what is still open then is reported.
 */
async function openWriteTransactionsAfterKill(c: mysql.Connection, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [open] = await mysqlRows<{ n: number | string }>(
      c,
      `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
        WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND NOT ${kitSessionSql('p.ID')}
          AND (t.trx_rows_modified > 0 OR t.trx_is_read_only = 0 AND t.trx_tables_locked > 0)`,
    );
    const n = Number(open?.n ?? 0);
    if (n === 0 || Date.now() >= deadline) return n;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function setGlobal(c: mysql.Connection, name: string, value: string, side: Side): Promise<void> {
  try {
    await c.query(`SET GLOBAL ${name} = ${value}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_ERROR') {
      throw new CutoverError('PRECONDITION_FAILED', `${side} refused SET GLOBAL ${name}: the kit's account lacks the privilege (RDS/Aurora never grant it)`, {
        fix: `grant SUPER (MariaDB: READ_ONLY ADMIN; MySQL 8: SYSTEM_VARIABLES_ADMIN) to the kit's account, or on RDS/Aurora set ${name}=${value === 'ON' ? 1 : 0} in the DB parameter group`,
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Ends client sessions other than the kit's own (KIT_SESSION_TAG) and the binlog readers: with
 * `onlyInTransaction`, those holding an open InnoDB transaction.
 */
async function endSessions(c: mysql.Connection, onlyInTransaction: boolean): Promise<number> {
  const sessions = await mysqlRows<{ id: number | string }>(
    c,
    `SELECT p.ID AS id FROM information_schema.PROCESSLIST p
      WHERE p.ID <> CONNECTION_ID() AND p.USER NOT IN ('system user', 'event_scheduler', 'unauthenticated user')
        AND NOT ${kitSessionSql('p.ID')}
        AND p.COMMAND NOT IN (${SPARED_COMMANDS.map(() => '?').join(', ')})
        ${onlyInTransaction ? 'AND p.ID IN (SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX)' : ''}`,
    [...SPARED_COMMANDS],
  );
  let ended = 0;
  for (const s of sessions) {
    try {
      await c.query(`KILL CONNECTION ${Number(s.id)}`);
      ended++;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ER_NO_SUCH_THREAD') continue;
      try {
        await c.query('CALL mysql.rds_kill(?)', [Number(s.id)]);
        ended++;
      } catch {
        throw new CutoverError('PRECONDITION_FAILED', `cannot end session ${s.id}: ${(err as Error).message}`, {
          fix: "grant the kit's account CONNECTION_ADMIN (MySQL 8) or CONNECTION ADMIN (MariaDB), or on RDS use an account allowed to CALL mysql.rds_kill",
          cause: err,
        });
      }
    }
  }
  return ended;
}

async function binlogPosition(c: mysql.Connection): Promise<{ binlogFile: string | null; binlogPosition: number | null; gtid: string | null }> {
  let rows: Record<string, unknown>[] = [];
  try {
    rows = await mysqlRows(c, 'SHOW MASTER STATUS');
  } catch {
    rows = await mysqlRows(c, 'SHOW BINARY LOG STATUS').catch(() => []); // MySQL 8.4
  }
  let gtid: string | null = null;
  for (const v of ['@@global.gtid_binlog_pos', '@@global.gtid_executed']) {
    try {
      const [g] = await mysqlRows<{ g: string | null }>(c, `SELECT ${v} AS g`);
      if (g?.g) {
        gtid = String(g.g);
        break;
      }
    } catch {
      /* not this server's variable */
    }
  }
  const r = rows[0];
  return { binlogFile: r ? String(r.File) : null, binlogPosition: r ? Number(r.Position) : null, gtid };
}

/** Accounts `read_only` does not stop: MariaDB's READ ONLY ADMIN, MySQL 8's CONNECTION_ADMIN or SUPER. */
async function writersWhileFenced(c: mysql.Connection): Promise<string[]> {
  const rows = await mysqlRows<{ g: string; p: string }>(
    c,
    `SELECT GRANTEE AS g, PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES
      WHERE PRIVILEGE_TYPE IN ('READ_ONLY ADMIN', 'READ ONLY ADMIN', 'CONNECTION_ADMIN', 'SUPER')`,
  ).catch(() => []);
  const maria = rows.some((r) => /READ.ONLY ADMIN/.test(r.p));
  return [...new Set(rows.filter((r) => (maria ? /READ.ONLY ADMIN/.test(r.p) : true)).map((r) => r.g))].sort();
}
