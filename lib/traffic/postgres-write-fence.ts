import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Side, WriteFence } from '../platform/roles.ts';
import { USER_SESSION_SQL } from '../postgres/user-sessions.ts';

/** Sessions whose application_name starts with this are the kit's own and are never ended. */
export const KIT_SESSION_PREFIX = 'cutover-';

/** How long the fence lets running read queries finish before ending their sessions anyway. */
const ACTIVE_GRACE_MS = 2000;

/**
 * Makes one side's PostgreSQL database refuse writes, for the write switch and the rollback.
 *
 * `ALTER DATABASE … SET default_transaction_read_only = on` only reaches sessions opened after
 * it, so the fence also ends every older client session of that database (server-side
 * `pg_terminate_backend`): open write transactions at once (they are rolled back, never
 * acknowledged: the router holds writes while this runs), idle ones at once, and ones running a
 * query after a short grace. The kit's own sessions (`application_name` starting `cutover-`,
 * e.g. `cutover-replicator-…`) and replication walsenders are spared.
 *
 * Consequences: apps must survive a pooled connection being ended (node-postgres: a
 * `pool.on('error')` handler); and the kit's replicator, which must still apply changes to a
 * fenced side, sets `default_transaction_read_only = off` in its own sessions.
 * Needs the database owner or a superuser (ALTER DATABASE, ending other sessions).
 */
export class PostgresWriteFence implements WriteFence {
  private readonly urls: Record<Side, string>;

  constructor(env: ResolvedPostgresEnvironment) {
    this.urls = { blue: env.source.url, green: env.target.url };
  }

  async refuseWrites(side: Side): Promise<void> {
    await this.withClient(side, async (c, db) => {
      await c.query(`ALTER DATABASE ${ident(db)} SET default_transaction_read_only = on`);
      // older sessions still have read/write as their default: end them
      await endOlderSessions(c);
    });
  }

  async allowWrites(side: Side): Promise<void> {
    await this.withClient(side, async (c, db) => {
      if (!(await readOnlySetting(c))) return;
      await c.query(`ALTER DATABASE ${ident(db)} RESET default_transaction_read_only`);
      // sessions opened while fenced default to read-only: end them so the pool reconnects read/write
      await endOlderSessions(c);
    });
  }

  async isRefusingWrites(side: Side): Promise<boolean> {
    return this.withClient(side, (c) => readOnlySetting(c));
  }

  private async withClient<T>(side: Side, fn: (c: pg.Client, database: string) => Promise<T>): Promise<T> {
    const url = this.urls[side];
    const c = new pg.Client({ connectionString: url, application_name: `${KIT_SESSION_PREFIX}fence`, connectionTimeoutMillis: 5000 });
    c.on('error', () => {}); // a server-side disconnect surfaces on the next query, not as a crash
    try {
      await c.connect();
    } catch (err) {
      throw new CutoverError('CONNECTION_FAILED', `cannot reach ${side}'s database at ${redact(url)} to change its write fence: ${(err as Error).message}`, {
        received: redact(url),
        fix: `check that ${side === 'blue' ? 'source' : 'target'}.url is right and the server is up`,
        cause: err,
      });
    }
    try {
      // this session must never be read-only itself, whatever the database default; one round trip
      // for both (refuseWrites runs inside the write hold)
      const results = (await c.query('SET default_transaction_read_only = off; SELECT current_database() AS db')) as unknown as pg.QueryResult<{ db: string }>[];
      const db = results[1]!.rows[0]!.db;
      return await fn(c, db);
    } finally {
      await c.end().catch(() => {});
    }
  }
}

async function readOnlySetting(c: pg.Client): Promise<boolean> {
  const r = await c.query<{ setconfig: string[] | null }>(
    `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
      WHERE d.datname = current_database() AND s.setrole = 0`,
  );
  const settings = r.rows[0]?.setconfig ?? [];
  return settings.some((s) => /^default_transaction_read_only=(on|true|1|yes)$/i.test(s));
}

/**
 * Ends client sessions of the current database that started before now, except the kit's own:
 * those in a transaction or idle at once, those running a query once it finished or after
 * ACTIVE_GRACE_MS.
 *
 * A role that is not a superuser and lacks pg_read_all_stats sees other roles' sessions in
 * pg_stat_activity with pid, user, database and application name only: backend_type,
 * backend_start, state and backend_xid are null. Such a session (a user's, not a walsender) is
 * counted as older and ended at once — left alone, the app's pooled sessions kept their
 * read/write default through the fence and could still write to blue.
 */
async function endOlderSessions(c: pg.Client): Promise<number> {
  const cutoff = (await c.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
  const deadline = Date.now() + ACTIVE_GRACE_MS;
  const endedPids = new Set<number>();
  for (;;) {
    const force = Date.now() >= deadline;
    const r = await c.query<{ pids: number[]; left: string }>(
      `WITH older AS (
         SELECT pid, state, backend_xid FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND ${USER_SESSION_SQL}
            AND coalesce(application_name, '') NOT LIKE $1
            AND (backend_start < $2 OR backend_start IS NULL)),
       ended AS (
         SELECT pid, pg_terminate_backend(pid) AS t FROM older
          WHERE $3 OR backend_xid IS NOT NULL OR state IS DISTINCT FROM 'active')
       SELECT coalesce((SELECT array_agg(pid) FROM ended WHERE t), '{}') AS pids, (SELECT count(*) FROM older) AS left`,
      [`${KIT_SESSION_PREFIX}%`, cutoff, force],
    );
    const pids = r.rows[0]!.pids;
    for (const pid of pids) endedPids.add(pid);
    if (Number(r.rows[0]!.left) - pids.length <= 0 || force) break;
    // the write switch runs this inside its write hold: a coarse poll is held writes' time
    await new Promise((res) => setTimeout(res, 10));
  }
  // pg_terminate_backend only signals: wait until the ended backends are gone, so that the caller's
  // next move (releasing held writes to this side) does not meet a session still being ended
  const gone = Date.now() + ACTIVE_GRACE_MS;
  while (endedPids.size && Date.now() < gone) {
    const r = await c.query<{ left: string }>('SELECT count(*) AS left FROM pg_stat_activity WHERE pid = ANY($1::int[])', [[...endedPids]]);
    if (Number(r.rows[0]!.left) === 0) break;
    await new Promise((res) => setTimeout(res, 10));
  }
  return endedPids.size;
}

function ident(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
