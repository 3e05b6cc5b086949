import type { ResolvedAwsEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Side, WriteFence } from '../platform/roles.ts';
import { USER_SESSION_SQL } from '../postgres/user-sessions.ts';
import type { AwsClients } from './aws-clients.ts';
import { AwsDatabaseEndpoints } from './aws-database-endpoints.ts';
import type { SqlConnector, SqlRunner } from './sql-runner.ts';

/** Sessions the fence never terminates: RDS's own agents. */
const RDS_INTERNAL_USERS = ['rdsadmin', 'rdsrepladmin', 'rdsproxyadmin'];
/** MySQL family: RDS's agents and the server's own threads. */
const MYSQL_SPARED_USERS = ['rdsadmin', 'rdsrepladmin', 'system user', 'event_scheduler'];
/** Processlist commands of sessions that read the binlog (DMS's CDC, replicas). */
const MYSQL_BINLOG_READERS = ['Binlog Dump', 'Binlog Dump GTID'];

export function quotePgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * `WriteFence` on RDS/Aurora.
 *
 * PostgreSQL family (no superuser on RDS, so no `ALTER SYSTEM`):
 *   `ALTER DATABASE <db> SET default_transaction_read_only = on`, then every other client
 *   session of that database is terminated — the setting applies to new sessions only, and an
 *   already-open pooled session would otherwise keep writing. Walsenders (DMS's logical
 *   replication) are not client backends and keep streaming. Apps reconnect and get read-only
 *   sessions; in-flight reads on blue are cut too (their clients retry). `allowWrites` RESETs
 *   the setting and terminates the sessions opened during the fence (they are read-only).
 *   Note: a DMS source heartbeat (`HeartbeatEnable`) writes to the source and fails while fenced.
 * MySQL family: `SET GLOBAL read_only = ON` and `CALL mysql.rds_kill(id)` for every other user
 *   session but the binlog readers (DMS's CDC keeps reading; RDS has no SUPER; `rds_kill` is its KILL). On RDS/Aurora MySQL the master user may
 *   lack SYSTEM_VARIABLES_ADMIN for `SET GLOBAL read_only`: the fence then fails with the fix (set
 *   `read_only=1` in the DB parameter group, a dynamic parameter). Needs an injected MySQL
 *   `SqlConnector` (no driver installed).
 */
export class AuroraWriteFence implements WriteFence {
  private readonly endpoints: AwsDatabaseEndpoints;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    clients: AwsClients,
    private readonly out: Output,
    options: { postgresConnector?: SqlConnector; mysqlConnector?: SqlConnector; endpoints?: AwsDatabaseEndpoints } = {},
  ) {
    this.endpoints = options.endpoints ?? new AwsDatabaseEndpoints(env, clients, { postgres: options.postgresConnector, mysql: options.mysqlConnector });
  }

  private async with<T>(side: Side, fn: (db: SqlRunner, database: string) => Promise<T>): Promise<T> {
    const e = await this.endpoints.endpoint(side);
    const db = await this.endpoints.connect(side);
    try {
      // This session may have been opened while the database defaults to read-only (a re-run,
      // or allowWrites): the fence itself must be able to write the setting.
      if (e.family === 'postgres') await db.query('SET default_transaction_read_only = off');
      return await fn(db, e.database);
    } finally {
      await db.close();
    }
  }

  async refuseWrites(side: Side): Promise<void> {
    if (this.endpoints.family(side) === 'postgres') {
      const killed = await this.with(side, async (db, database) => {
        await db.query(`ALTER DATABASE ${quotePgIdent(database)} SET default_transaction_read_only = on`);
        return this.terminatePostgresSessions(db, database);
      });
      this.out.ok('fence', `${side} refuses writes (default_transaction_read_only=on, ${killed} session(s) terminated)`);
      return;
    }
    const killed = await this.with(side, async (db) => {
      try {
        await db.query('SET GLOBAL read_only = ON');
      } catch (err) {
        throw new CutoverError('PRECONDITION_FAILED', `cannot set read_only on ${side}: ${(err as Error).message}`, {
          fix: 'set read_only=1 in the DB (cluster) parameter group of blue (dynamic, applies at once), then re-run',
          cause: err,
        });
      }
      return this.killMysqlSessions(db);
    });
    this.out.ok('fence', `${side} refuses writes (read_only=ON, ${killed} session(s) killed)`);
  }

  async allowWrites(side: Side): Promise<void> {
    if (this.endpoints.family(side) === 'postgres') {
      const killed = await this.with(side, async (db, database) => {
        await db.query(`ALTER DATABASE ${quotePgIdent(database)} RESET default_transaction_read_only`);
        return this.terminatePostgresSessions(db, database);
      });
      this.out.ok('fence', `${side} accepts writes again (${killed} read-only session(s) recycled)`);
      return;
    }
    await this.with(side, (db) => db.query('SET GLOBAL read_only = OFF'));
    this.out.ok('fence', `${side} accepts writes again (read_only=OFF)`);
  }

  async isRefusingWrites(side: Side): Promise<boolean> {
    if (this.endpoints.family(side) === 'postgres') {
      return this.with(side, async (db, database) => {
        const rows = await db.query(
          `select coalesce(bool_or(s = 'default_transaction_read_only=on'), false) as ro
             from pg_db_role_setting r cross join unnest(r.setconfig) s
            where r.setrole = 0 and r.setdatabase = (select oid from pg_database where datname = $1)`,
          [database],
        );
        return rows[0]?.ro === true;
      });
    }
    return this.with(side, async (db) => {
      const rows = await db.query('SELECT @@GLOBAL.read_only AS ro');
      return Number(rows[0]?.ro) === 1;
    });
  }

  private async terminatePostgresSessions(db: SqlRunner, database: string): Promise<number> {
    const rows = await db.query(
      `select count(*) filter (where pg_terminate_backend(pid)) as killed
         from pg_stat_activity
        where datname = $1 and pid <> pg_backend_pid() and ${USER_SESSION_SQL}
          and coalesce(usename, '') <> all($2::text[])`,
      [database, RDS_INTERNAL_USERS],
    );
    return Number(rows[0]?.killed ?? 0);
  }

  /**
   * Kills every other client session but RDS's own agents and the binlog readers (`Binlog Dump`:
   * DMS's CDC, replicas): they only read, and the switch's hold waits for DMS to apply blue's last
   * writes — a killed reader stops that inside the hold until DMS reconnects. As the local MySQL
   * fence (mysql-write-fence.ts) and, for PostgreSQL, the walsenders (not client backends).
   */
  private async killMysqlSessions(db: SqlRunner): Promise<number> {
    const rows = await db.query(`SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()`);
    let killed = 0;
    for (const r of rows) {
      if (MYSQL_SPARED_USERS.includes(String(r.user)) || MYSQL_BINLOG_READERS.includes(String(r.command))) continue;
      try {
        await db.query('CALL mysql.rds_kill(?)', [r.id]);
        killed++;
      } catch {
        // the session ended by itself meanwhile
      }
    }
    return killed;
  }
}
