import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { PostgresWriteFence } from '../../lib/traffic/postgres-write-fence.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { testEnvironment } from './fakes/test-env.ts';

let server: Awaited<ReturnType<typeof startTestPostgres>>;
let fence: PostgresWriteFence;
const clients: pg.Client[] = [];

async function session(applicationName: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: server.urlFor('blue'), application_name: applicationName });
  c.on('error', () => {}); // ended by the fence on purpose
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startTestPostgres('blue');
  await server.createDatabase('green');
  const admin = await session('setup');
  await admin.query('CREATE TABLE t_order (id serial primary key, note text)');
  fence = new PostgresWriteFence(testEnvironment({ source: { url: server.urlFor('blue') }, target: { url: server.urlFor('green') } }));
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await server?.dispose();
});

const alive = (c: pg.Client) => c.query('SELECT 1').then(() => true, () => false);

describe('PostgresWriteFence', () => {
  test('refuses writes: new sessions are read-only, open write transactions and idle app sessions are ended, the kit\'s replicator is spared', async () => {
    const writer = await session('blue-app');
    await writer.query('BEGIN');
    await writer.query("INSERT INTO t_order (note) VALUES ('in flight')");
    const idle = await session('blue-app');
    const replicator = await session('cutover-replicator-reverse');

    await fence.refuseWrites('blue');

    expect(await fence.isRefusingWrites('blue')).toBe(true);
    expect(await fence.isRefusingWrites('green')).toBe(false);
    expect(await alive(writer)).toBe(false);
    expect(await alive(idle)).toBe(false);
    expect(await alive(replicator)).toBe(true);

    const fresh = await session('blue-app');
    const err = (await fresh.query("INSERT INTO t_order (note) VALUES ('refused')").catch((e: unknown) => e)) as { code?: string };
    expect(err.code).toBe('25006'); // read_only_sql_transaction

    // the replicator applies to a fenced side by turning the default off in its own session
    const applier = await session('cutover-replicator-reverse');
    await applier.query('SET default_transaction_read_only = off');
    await applier.query("INSERT INTO t_order (note) VALUES ('replicated')");
    const rows = await applier.query('SELECT note FROM t_order ORDER BY id');
    expect(rows.rows.map((r) => r.note)).toEqual(['replicated']); // the unacknowledged in-flight insert was rolled back
  });

  test('allows writes again, ending sessions opened while fenced; twice is harmless', async () => {
    const openedWhileFenced = await session('blue-app');
    await fence.allowWrites('blue');
    await fence.allowWrites('blue');
    expect(await fence.isRefusingWrites('blue')).toBe(false);
    expect(await alive(openedWhileFenced)).toBe(false);
    const fresh = await session('blue-app');
    await fresh.query("INSERT INTO t_order (note) VALUES ('after')");
  });

  test('fails if the database is unreachable (CONNECTION_FAILED, password hidden)', async () => {
    const dead = new PostgresWriteFence(testEnvironment({ source: { url: 'postgres://u:secret@127.0.0.1:1/x' } }));
    const err = (await dead.refuseWrites('blue').catch((e: unknown) => e)) as CutoverError;
    expect(err).toBeInstanceOf(CutoverError);
    expect(err.code).toBe('CONNECTION_FAILED');
    expect(err.message).not.toContain('secret');
  });
});
