import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canStartMajor, startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/**
 * An inactive slot of the kit keeps every WAL segment on the source: `status` and `assess` show
 * how much, and warn above `replication.retainedWalWarnMb`.
 */
describe('WAL retained by the kit\'s slots', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  let blue = '';
  const base = (...args: string[]) => ['--config', cfg.file, '--env', 'wal', ...args];

  beforeAll(async () => {
    server = await startTestPostgres();
    await sql(server.url, 'create database blue');
    await sql(server.url, 'create database green');
    blue = server.urlFor('blue');
    await sql(blue, 'create table orders (id int primary key, note text not null)');
    await sql(server.urlFor('green'), 'create table orders (id int primary key, note text not null)');
    await sql(blue, "insert into orders select g, 'o' || g from generate_series(1, 20) g");
    cfg = tempConfig({
      wal: { platform: 'postgres', source: { url: blue }, target: { url: server.urlFor('green') }, replication: { retainedWalWarnMb: 2 } },
    }, { mappings: 'identity' });
  }, 60_000);
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('status and assess show the WAL an inactive slot retains, and warn once it is above replication.retainedWalWarnMb', async () => {
    expect((await runCli(base('assess'))).code).toBe(0);
    const noSlot = await runCli(base('status'));
    expect(noSlot.stdout).not.toMatch(/^slots/m);
    const snap = await runCli(base('snapshot')); // creates cutover_wal, read by nobody until replicate start
    expect(snap.code, snap.stderr).toBe(0);

    const small = JSON.parse((await runCli(base('--json', 'status'))).stdout);
    expect(small.slots).toHaveLength(1);
    expect(small.slots[0]).toMatchObject({ slot: 'cutover_wal', side: 'source', active: false, warn: false, warnAboveBytes: 2 * 1024 * 1024, walStatus: 'reserved' });
    expect(small.slots[0].retainedBytes).toBeLessThan(2 * 1024 * 1024);

    // about 6 MB of WAL the slot must keep (outside the mapped schema)
    await sql(blue, "create schema junk; create table junk.filler as select g, repeat(md5(g::text), 30) as pad from generate_series(1, 6000) g");
    const json = JSON.parse((await runCli(base('--json', 'status'))).stdout);
    const independent = Number((await sql(blue, "select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint as b from pg_replication_slots where slot_name = 'cutover_wal'")).rows[0].b);
    expect(json.slots[0].retainedBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(json.slots[0].retainedBytes).toBeLessThanOrEqual(independent);
    expect(json.slots[0].warn).toBe(true);
    const text = await runCli(base('status'));
    expect(text.stdout).toMatch(/^slots +WARNING cutover_wal on the source: inactive, retains \d+\.\d MB of WAL.*\(over replication\.retainedWalWarnMb, 2\.0 MB\)/m);

    const assess = await runCli(base('assess'));
    expect(assess.code, assess.stderr).toBe(0); // a warning, not a blocker
    expect(assess.stderr).toMatch(/warn +assess: kit-slot-wal: 1 — replication slot cutover_wal on the source: inactive, retains \d+\.\d MB of WAL .*cutover cancel/);
  }, 120_000);
});

/** PostgreSQL 12 has no `wal_status` / `safe_wal_size`: the retention is still shown, and cancel still removes everything. */
describe.skipIf(!canStartMajor(12))('on PostgreSQL 12', () => {
  test('status reports the slot with walStatus null; cancel leaves no slot, publication or _cutover', async () => {
    const server = await startTestPostgres('app', undefined, 12);
    const cfg = tempConfig({
      old: { platform: 'postgres', source: { url: server.urlFor('blue') }, target: { url: server.urlFor('green') } },
    }, { mappings: 'identity' });
    try {
      await sql(server.url, 'create database blue');
      await sql(server.url, 'create database green');
      for (const db of ['blue', 'green']) await sql(server.urlFor(db), 'create table orders (id int primary key, note text)');
      await sql(server.urlFor('blue'), "insert into orders select g, 'o' || g from generate_series(1, 10) g");
      const base = (...a: string[]) => ['--config', cfg.file, '--env', 'old', ...a];
      for (const step of [['assess'], ['snapshot'], ['replicate', 'start']]) {
        const r = await runCli(base(...step));
        expect(r.code, `${step.join(' ')}: ${r.stderr}`).toBe(0);
      }
      const status = JSON.parse((await runCli(base('--json', 'status'))).stdout);
      expect(status.slots).toEqual([expect.objectContaining({ slot: 'cutover_old', side: 'source', walStatus: null, retainedBytes: expect.any(Number) })]);
      const cancel = await runCli(base('--yes', 'cancel'));
      expect(cancel.code, cancel.stderr).toBe(0);
      const left = await sql(
        server.urlFor('blue'),
        `select slot_name::text as o from pg_replication_slots union all select roname::text from pg_replication_origin
         union all select pubname::text from pg_publication union all select nspname::text from pg_namespace where nspname = '_cutover'`,
      );
      const leftGreen = await sql(server.urlFor('green'), `select pubname::text as o from pg_publication union all select nspname::text from pg_namespace where nspname = '_cutover'`);
      expect([...left.rows, ...leftGreen.rows]).toEqual([]);
      expect((await sql(server.urlFor('green'), 'select count(*)::int as n from orders')).rows[0].n).toBe(10);
    } finally {
      cfg.dispose();
      await server.dispose();
    }
  }, 180_000);
});
