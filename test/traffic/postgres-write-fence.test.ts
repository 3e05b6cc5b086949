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

  test('with the least role the docs name (database owner + pg_signal_backend, not a superuser), the app\'s older sessions of another role are ended too', async () => {
    // such a role sees other roles' sessions without backend_type, backend_start or state
    const admin = await session('setup');
    await admin.query(`CREATE ROLE "Kit Fence" LOGIN PASSWORD 'kf'; CREATE ROLE shop_app LOGIN PASSWORD 'sa'; GRANT pg_signal_backend TO "Kit Fence"`);
    await server.createDatabase('blue_least');
    const owner = new pg.Client({ connectionString: server.urlFor('blue_least') });
    await owner.connect();
    await owner.query(`CREATE TABLE t_order (id int primary key); GRANT INSERT ON t_order TO shop_app; ALTER DATABASE blue_least OWNER TO "Kit Fence"`);
    await owner.end();
    const as = (role: string, pw: string) => server.urlFor('blue_least').replace(/\/\/postgres:[^@]*@/, `//${encodeURIComponent(role)}:${pw}@`);
    const app = new pg.Client({ connectionString: as('shop_app', 'sa'), application_name: 'blue-app' });
    app.on('error', () => {});
    await app.connect();
    clients.push(app);
    await app.query('INSERT INTO t_order VALUES (1)'); // a pooled app session, idle now
    const least = new PostgresWriteFence(testEnvironment({ source: { url: as('Kit Fence', 'kf') }, target: { url: server.urlFor('green') } }));

    await least.refuseWrites('blue');

    expect(await least.isRefusingWrites('blue')).toBe(true);
    // before: the session kept its read/write default and this write reached the fenced blue
    const late = await app.query('INSERT INTO t_order VALUES (2)').then(() => 'written', (e: Error) => e.message);
    expect(late).not.toBe('written');
    await least.allowWrites('blue');
    expect(await least.isRefusingWrites('blue')).toBe(false);
  });

  test('fails if the database is unreachable (CONNECTION_FAILED, password hidden)', async () => {
    const dead = new PostgresWriteFence(testEnvironment({ source: { url: 'postgres://u:secret@127.0.0.1:1/x' } }));
    const err = (await dead.refuseWrites('blue').catch((e: unknown) => e)) as CutoverError;
    expect(err).toBeInstanceOf(CutoverError);
    expect(err.code).toBe('CONNECTION_FAILED');
    expect(err.message).not.toContain('secret');
  });
});
