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

export function openComparisonPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, options: CANONICAL_SESSION, application_name: 'cutover-validate' });
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
 * Opens `clients` connections of the pool at once and returns them to it: this checks the
 * endpoint (the error is the driver's, for connectionError) and spares the first chunks the
 * connection set-up, all in one round of parallel connects.
 */
export async function warmPool(pool: pg.Pool, clients: number, timeoutMs = 10_000): Promise<void> {
  let settled = false;
  const held: pg.PoolClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  const connects = Array.from({ length: clients }, () =>
    pool.connect().then((client) => {
      // one that connects after a failure or the timeout goes straight back (pool.end() waits for it)
      if (settled) client.release();
      else held.push(client);
    }),
  );
  try {
    await Promise.race([Promise.all(connects), timeout]);
  } finally {
    settled = true;
    clearTimeout(timer);
    for (const c of held) c.release();
    for (const c of connects) c.catch(() => {});
  }
}

