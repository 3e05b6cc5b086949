import pg from 'pg';
import { CutoverError } from '../errors.ts';
import { withoutPassword } from './kit-client.ts';
import { KIT_SESSION_OPTIONS } from './kit-session.ts';

/** An unused session closes after this long. */
const IDLE_MS = 10_000;

/**
 * One kit session to a server, kept open between short read-only queries that callers poll (a
 * replicator's status, several times a second while a gate waits) instead of a new connection per
 * query: each new one costs the server a backend start and both sides a password exchange, which
 * on a busy 2-core machine is tens of milliseconds of wall time and CPU every time. The session is
 * a kit session as openKitClient's (named `cutover-…`, so the write fence never ends it; writes
 * through a fenced side). A session the server dropped (a restart, the fence's terminate) is never
 * trusted: a query that fails on a reused session runs once more on a new one, so a caller sees
 * what a fresh connection would have answered. Idle, it closes after IDLE_MS, and never keeps the
 * process alive. Only for queries that may run twice (reads, harmless messages).
 */
export class ReusedKitSession {
  private pool: pg.Pool | null = null;
  /** Sessions that already answered a query: a failure on one of those is retried on a new one. */
  private readonly used = new WeakSet<pg.PoolClient>();

  constructor(
    private readonly url: string,
    private readonly applicationName: `cutover-${string}`,
  ) {}

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await this.connect();
    const reused = this.used.has(client);
    try {
      const result = await client.query<R>(text, params);
      this.used.add(client);
      client.release();
      return result;
    } catch (err) {
      // never put a session that failed back: the next query gets a new one
      client.release(err as Error);
      if (!reused) throw err;
      return this.query<R>(text, params);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end().catch(() => {});
  }

  private async connect(): Promise<pg.PoolClient> {
    this.pool ??= this.newPool();
    try {
      const client = await this.pool.connect();
      if (!this.used.has(client)) client.on('error', () => {}); // a drop while checked out surfaces on the query
      return client;
    } catch (err) {
      throw new CutoverError('CONNECTION_FAILED', `cannot connect to ${withoutPassword(this.url)}: ${(err as Error).message}`, {
        fix: 'check the URL, that the server runs, and the credentials',
        cause: err,
      });
    }
  }

  private newPool(): pg.Pool {
    const pool = new pg.Pool({
      connectionString: this.url,
      application_name: this.applicationName,
      options: KIT_SESSION_OPTIONS,
      max: 1,
      idleTimeoutMillis: IDLE_MS,
      allowExitOnIdle: true,
    });
    pool.on('error', () => {}); // an idle session the server ended: the pool drops it, the next query opens a new one
    return pool;
  }
}
