import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresSnapshotter } from '../../lib/backup/postgres-snapshotter.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment } from '../replication/_env.ts';

const SCHEMA = `
  create table customers (id serial primary key, name text not null, email text unique, created timestamptz default now());
  create table orders (id bigint generated always as identity primary key, customer_id int references customers(id),
                       total numeric(12,2) check (total >= 0), doc jsonb, raw bytea, note text);
  create index orders_customer on orders (customer_id);`;

describe('PostgresSnapshotter', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let env: ResolvedPostgresEnvironment;
  let snapshotter: PostgresSnapshotter;
  const out = new RecordingOutput();

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(
      source.url,
      `insert into customers (name, email) select '客户 ' || g, 'c' || g || '@example.com' from generate_series(1, 400) g;
       insert into orders (customer_id, total, doc, raw, note)
         select 1 + g % 400, g * 1.25, jsonb_build_object('g', g, '品', '茶'), decode(md5(g::text), 'hex'),
                case when g % 5 = 0 then null else E'line\\nnext\\ttab \\\\ ' || g end
         from generate_series(1, 3000) g;`,
    );
    env = testEnvironment(source.url, target.url);
    snapshotter = new PostgresSnapshotter(env, out);
  });
  afterAll(async () => {
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('fails if the forward mapping selects no table, naming its rules and schemas, before any slot exists', async () => {
    const nothing = {
      rules: [{ 'rule-type': 'selection', 'rule-id': '7', 'rule-name': 'x', 'object-locator': { 'schema-name': 'sales', 'table-name': '%' }, 'rule-action': 'include' }],
    };
    const empty = testEnvironment(source.url, target.url, {}, { forward: nothing }, 'empty');
    const err = await new PostgresSnapshotter(empty, out).snapshot().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MAPPING_INVALID', message: expect.stringContaining('schema(s) sales') });
    expect((err as { details: { problems: string[] } }).details.problems.join()).toContain('rule 7 (include sales.%)');
    const slots = await sql(source.url, "select count(*)::int as n from pg_replication_slots where slot_name like 'cutover_empty%'");
    expect(slots.rows[0].n).toBe(0);
  });

  test('a snapshot that fails midway (no SELECT on one table) leaves no backup files and no slot; a re-run after the grant works', async () => {
    await sql(source.url, `create role snap_reader login replication password 'pw';
      grant usage on schema public to snap_reader; grant select on customers, customers_id_seq, orders_id_seq to snap_reader;
      create publication cutover_denied for table customers, orders`);
    const url = new URL(source.url);
    url.username = 'snap_reader';
    url.password = 'pw';
    const denied = testEnvironment(url.toString(), target.url, {}, {}, 'denied');
    const failing = new PostgresSnapshotter(denied, out);
    await expect(failing.snapshot()).rejects.toThrow(/permission denied for table orders/);
    // customers was written before orders failed: nothing of it may stay (no folder, no temp file)
    expect(existsSync(denied.backupDir) ? readdirSync(denied.backupDir) : []).toEqual([]);
    const slots = await sql(source.url, "select count(*)::int as n from pg_replication_slots where slot_name like 'cutover_denied%'");
    expect(slots.rows[0].n).toBe(0);
    // the publication was there before the run (the owner made it for the read-only role): it stays
    expect((await sql(source.url, "select count(*)::int as n from pg_publication where pubname = 'cutover_denied'")).rows[0].n).toBe(1);
    await sql(source.url, 'grant select on orders to snap_reader');
    const manifest = await failing.snapshot();
    expect(manifest.slot).toEqual({ name: 'cutover_denied', persistent: true });
    expect((await failing.list()).map((m) => m.id)).toEqual([manifest.id]);
    expect(readdirSync(denied.backupDir)).toEqual([manifest.id]);
    await sql(source.url, "select pg_drop_replication_slot('cutover_denied')");
  });

  test('Ctrl-C during a snapshot stops it after the table being copied: ABORTED, nothing left behind', async () => {
    const stop = new AbortController();
    const watching = new (class extends RecordingOutput {
      override ok(topic: string, message: string): void {
        super.ok(topic, message);
        if (message.startsWith('public.customers:')) stop.abort(); // the first table is written
      }
    })();
    const interrupted = testEnvironment(source.url, target.url, {}, {}, 'interrupted');
    await expect(new PostgresSnapshotter(interrupted, watching).snapshot({ signal: stop.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(existsSync(interrupted.backupDir) ? readdirSync(interrupted.backupDir) : []).toEqual([]);
    const slots = await sql(source.url, "select count(*)::int as n from pg_replication_slots where slot_name like 'cutover_interrupted%'");
    expect(slots.rows[0].n).toBe(0);
    // the run created the publication: it goes too (a re-run would otherwise take it as it is)
    expect((await sql(source.url, "select count(*)::int as n from pg_publication where pubname like 'cutover_interrupted%'")).rows[0].n).toBe(0);
    expect(watching.lines.map((l) => l.message)).toContain('failed: dropped publication cutover_interrupted, which this run had created');
  });

  test('snapshot writes gzip files and a manifest at the slot\'s consistent point', async () => {
    const manifest = await snapshotter.snapshot();
    expect(manifest.tables.map((t) => [t.name, t.rows])).toEqual([
      ['public.customers', 400],
      ['public.orders', 3000],
    ]);
    expect(manifest.tables.every((t) => /^[0-9a-f]{64}$/.test(t.sha256) && t.bytes > 0)).toBe(true);
    expect(manifest.toolVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.ddl).toMatch(/create table "public"."orders"/);
    const slot = await sql(source.url, "select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = 'cutover_lab'");
    expect(slot.rows[0].lsn).toBe(manifest.position);
    expect((await snapshotter.verify(manifest.id)).ok).toBe(true);
    expect((await snapshotter.list()).map((m) => m.id)).toEqual([manifest.id]);
  });

  test('restore into an empty database recreates tables, rows, constraints and sequences, and verifies them', async () => {
    await source.createDatabase('restored');
    const restoredUrl = source.urlFor('restored');
    const result = await snapshotter.restore({ targetUrl: restoredUrl });
    expect(result).toEqual({ ok: true, problems: [] });
    for (const t of ['customers', 'orders']) expect(await tableDigest(restoredUrl, t)).toEqual(await tableDigest(source.url, t));
    const { rows } = await sql(restoredUrl, "insert into customers (name) values ('next') returning id");
    expect(rows[0].id).toBe(401);
    await expect(sql(restoredUrl, 'insert into orders (customer_id, total) values (999999, 1)')).rejects.toThrow(/foreign key/);
    expect((await sql(restoredUrl, "select count(*)::int as n from pg_indexes where indexname = 'orders_customer'")).rows[0].n).toBe(1);
  });

  test('fails if the restore target database is not empty', async () => {
    await expect(snapshotter.restore({ targetUrl: source.url })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  test('fails verification if a backup file was altered', async () => {
    const [manifest] = await snapshotter.list();
    const file = path.join(env.backupDir, manifest!.tables[0]!.file);
    const original = readFileSync(file);
    appendFileSync(file, Buffer.from([0]));
    try {
      const result = await snapshotter.verify();
      expect(result.ok).toBe(false);
      expect(result.problems.join('\n')).toMatch(/public\.customers/);
    } finally {
      writeFileSync(file, original);
    }
  });

  test('replication continues from the snapshot\'s slot: writes made after the snapshot arrive, none twice', async () => {
    await sql(target.url, SCHEMA.replace(/references customers\(id\)/, ''));
    await sql(source.url, "insert into customers (name) values ('after snapshot'); update orders set note = 'changed' where id <= 50; delete from orders where id between 51 and 60");
    const forward = new PostgresReplicator(env, 'forward', out);
    try {
      await forward.start({ foreground: true });
      expect(await forward.waitForPosition(await forward.sourcePosition(), 15_000)).toBe(true);
      for (const t of ['customers', 'orders']) expect(await tableDigest(target.url, t)).toEqual(await tableDigest(source.url, t));
    } finally {
      await forward.stop();
    }
  });
});
