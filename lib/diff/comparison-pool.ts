import pg from 'pg';

/**
 * Connections the diff engine uses. Every session is pinned to the settings that make a value's
 * text canonical (UTC, ISO dates, shortest-exact floats), so the two servers print the same value
 * the same way whatever their own defaults are.
 */
const CANONICAL_SESSION = [
  '-c TimeZone=UTC',
  '-c DateStyle=ISO,YMD',
  '-c IntervalStyle=postgres',
  '-c extra_float_digits=1',
  '-c bytea_output=hex',
  '-c statement_timeout=0',
].join(' ');

/**
 * The engine's own statements run without parallel workers: its parallelism is one session per
 * chunk in flight, and a statement of a few bucket-sized index scans (side-query.ts) on a table
 * the planner has no statistics for yet (just loaded) would otherwise be planned as a Parallel
 * Append and start workers for every chunk. A plain SET (not a start-up option), so that RESET
 * gives a business query (reconciliation.ts) the server's own setting back. A server without the
 * setting (before 9.6) has no parallel query: its error is ignored.
 */
export const NO_PARALLEL_WORKERS = 'SET max_parallel_workers_per_gather = 0';

export function openComparisonPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // a frozen check's sessions are opened before the write hold (prepareFrozen) and used after its
    // drain, fence and catch-up, seconds later: pg's default 10 s idle timeout would close them first
    idleTimeoutMillis: 60_000,
    options: CANONICAL_SESSION,
    application_name: 'cutover-validate',
    // before the pool hands the new session out
    onConnect: async (client) => {
      await client.query(NO_PARALLEL_WORKERS).catch(() => {});
    },
  });
  // an idle client dropped by the server must not crash the process; the next query reports it
  pool.on('error', () => {});
  // …and so must a checked-out client between two queries (pg-pool only listens while idle)
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Every value as the server's text (no JS parsing: Dates would lose microseconds and zones). */
export const RAW_TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** Rows as arrays of text (or null). */
export async function queryText(
  client: pg.Pool | pg.ClientBase,
  text: string,
  values: unknown[] = [],
): Promise<(string | null)[][]> {
  const res = await client.query({ text, values, rowMode: 'array', types: RAW_TEXT_TYPES });
  return res.rows as (string | null)[][];
}

export async function serverVersionNum(client: pg.Pool | pg.ClientBase): Promise<number> {
  const rows = await queryText(client, 'show server_version_num');
  return Number(rows[0]![0]);
}

/**
 * Opens one connection of the pool, then `clients - 1` more in the background, each returned to
 * the pool as soon as it is up. The first one checks the endpoint (its error is the driver's, for
 * connectionError) and serves the catalog queries at once, while the others authenticate meanwhile
 * instead of all competing with it, so the chunks find them ready.
 */
export async function warmPool(pool: pg.Pool, clients: number, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  const first = pool.connect();
  let probe: pg.PoolClient;
  try {
    probe = await Promise.race([first, timeout]);
  } catch (err) {
    // one that connects after the timeout goes straight back (pool.end() waits for it)
    first.then((client) => client.release(), () => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // while the probe is checked out, each connect opens a new session
  for (let i = 1; i < clients; i++) pool.connect().then((client) => client.release(), () => {});
  probe.release();
}
