import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresInspector } from '../../lib/assess/postgres-inspector.ts';
import { asCutoverError } from '../../lib/errors.ts';
import type { Finding } from '../../lib/platform/roles.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { ensurePublication, slotInfo } from '../../lib/replication/replication-slot.ts';
import type { MappedTable } from '../../lib/mappings/types.ts';
import { canStartMajor, connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from '../replication/_env.ts';

/**
 * The kit with ordinary roles, as on a managed service: on the source a role with REPLICATION
 * and SELECT on the mapped tables, on the target the owner of the target tables. `assess` names
 * every missing privilege with the statement that grants it; once those statements ran, forward
 * replication works with these roles (PostgreSQL 15, or 18). On PostgreSQL 12 the statements say what
 * that version cannot grant (superuser), and a server without logical WAL is a blocker before
 * any slot exists.
 */
const SCHEMA = `create schema shop;
  create table shop.orders (id bigint primary key, note text);
  create table shop.lines (order_id bigint, line int, qty int, primary key (order_id, line));`;
const MAPPING = {
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' }, 'rule-action': 'include' }],
};

type Server = Awaited<ReturnType<typeof startTestPostgres>>;
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
});

/** Two databases on one server, roles `reader` (source) and `writer` (owner of the target tables). */
async function prepare(server: Server): Promise<{ blue: string; green: string; asReader: string; asWriter: string }> {
  await server.createDatabase('blue');
  await server.createDatabase('green');
  const blue = server.urlFor('blue');
  const green = server.urlFor('green');
  await sql(server.url, "create role reader login replication password 'r-pw'; create role writer login password 'w-pw'");
  await sql(blue, SCHEMA + " insert into shop.orders select g, 'o' || g from generate_series(1, 200) g; insert into shop.lines select g, 1, g from generate_series(1, 200) g;");
  await sql(green, SCHEMA + ' alter schema shop owner to writer; alter table shop.orders owner to writer; alter table shop.lines owner to writer;');
  const as = (url: string, role: string, pw: string) => url.replace(/\/\/postgres:[^@]*@/, `//${role}:${pw}@`);
  return { blue, green, asReader: as(blue, 'reader', 'r-pw'), asWriter: as(green, 'writer', 'w-pw') };
}

const envFor = (sourceUrl: string, targetUrl: string, name: string) => {
  const env = testEnvironment(sourceUrl, targetUrl, { chunkRows: 100 }, { forward: MAPPING, reverse: MAPPING }, name);
  return { ...env, source: { ...env.source, schemas: ['shop'] }, target: { ...env.target, schemas: ['shop'] } };
};

/** The SQL of a finding's fix (the part before a parenthesised alternative or a closing remark). */
function statementOf(f: Finding): string {
  return f.handling!.replace(/^as the owner of the tables \(or a superuser\), once: /, '').split(/;\s+/)[0]! + ';';
}

const byId = (findings: readonly Finding[]) => Object.fromEntries(findings.filter((f) => /privilege/.test(f.id)).map((f) => [f.id, f]));

describe('least privilege', () => {
  let granting: Server;
  let urls: Awaited<ReturnType<typeof prepare>>;
  beforeAll(async () => {
    // Debian's 15 when the machine has it (the oldest major that can grant both), else 18
    granting = await startTestPostgres('postgres', undefined, canStartMajor(15) ? 15 : canStartMajor(18) ? 18 : 17);
    servers.push(granting);
    urls = await prepare(granting);
  });

  test('assess prints the exact GRANT / ALTER ROLE / CREATE PUBLICATION for each missing privilege; after them forward replication runs with the ordinary roles', async () => {
    const env = envFor(urls.asReader, urls.asWriter, 'lp');
    const first = await new PostgresInspector(env, new RecordingOutput()).assess();
    expect(first.ok).toBe(false);
    const missing = byId(first.findings);
    expect(Object.keys(missing).sort()).toEqual([
      'source-create-privilege', // reverse replication's _cutover on blue (warning)
      'source-fence-privilege', // the write switch fences blue
      'source-monitor-privilege', // pacing counts blue's active sessions (warning)
      'source-origin-privilege',
      'source-publication-privilege',
      'source-replica-role-privilege',
      'source-schema-privilege',
      'source-select-privilege',
      'source-write-privilege',
      'target-create-privilege',
      'target-fence-privilege', // a rollback after the switch fences green (warning)
      'target-origin-privilege',
      'target-publication-privilege', // reverse replication's publication on green (warning; writer owns the tables but may not CREATE yet)
      'target-replica-role-privilege',
      'target-replication-privilege', // reverse replication reads green (warning)
    ]);
    expect(missing['target-publication-privilege']!).toMatchObject({ severity: 'warning', handling: expect.stringContaining('CREATE PUBLICATION "cutover_lp_rev" FOR TABLE "shop"."lines", "shop"."orders";') });
    expect(missing['source-fence-privilege']!).toMatchObject({ severity: 'blocker', handling: 'ALTER DATABASE "blue" OWNER TO "reader";  GRANT pg_signal_backend TO "reader";' });
    expect(missing['target-fence-privilege']!).toMatchObject({ severity: 'warning', handling: 'ALTER DATABASE "green" OWNER TO "writer";  GRANT pg_signal_backend TO "writer";' });
    expect(missing['source-schema-privilege']!).toMatchObject({ severity: 'blocker', handling: 'GRANT USAGE ON SCHEMA "shop" TO "reader";' });
    expect(missing['source-select-privilege']!).toMatchObject({ severity: 'blocker', handling: 'GRANT SELECT ON "shop"."lines", "shop"."orders" TO "reader";' });
    expect(missing['source-publication-privilege']!.handling).toBe(
      'as the owner of the tables (or a superuser), once: CREATE PUBLICATION "cutover_lp" FOR TABLE "shop"."lines", "shop"."orders";  The kit then uses it as it is.',
    );
    expect(missing['target-create-privilege']!).toMatchObject({ severity: 'blocker', handling: 'GRANT CREATE ON DATABASE "green" TO "writer";' });
    expect(missing['target-replica-role-privilege']!).toMatchObject({ severity: 'blocker', handling: 'GRANT SET ON PARAMETER session_replication_role TO "writer";' });
    expect(missing['target-origin-privilege']!.handling).toBe(
      'GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text), pg_replication_origin_drop(text) TO "writer";',
    );
    expect(missing['source-write-privilege']!.severity).toBe('warning');
    expect(missing['source-monitor-privilege']!).toMatchObject({ severity: 'warning', handling: 'GRANT pg_monitor TO "reader";  (or pacing.enabled: false when blue is quiet)' });
    expect(missing['target-write-privilege']).toBeUndefined(); // writer owns the target tables

    // the forward blockers' statements, run as a superuser on the database they name
    for (const id of ['source-schema-privilege', 'source-select-privilege', 'source-publication-privilege']) await sql(urls.blue, statementOf(missing[id]!));
    for (const statement of missing['source-fence-privilege']!.handling!.split(/;\s*/).filter(Boolean)) await sql(urls.blue, statement);
    for (const id of ['target-create-privilege', 'target-replica-role-privilege', 'target-origin-privilege']) await sql(urls.green, statementOf(missing[id]!));
    const second = await new PostgresInspector(env, new RecordingOutput()).assess();
    expect(second.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(Object.keys(byId(second.findings)).sort()).toEqual([
      // no source-create-privilege: reader now owns blue (the fence), which gives CREATE on it
      'source-monitor-privilege',
      'source-origin-privilege',
      'source-replica-role-privilege',
      'source-write-privilege',
      'target-fence-privilege',
      'target-replication-privilege',
    ]);

    const forward = new PostgresReplicator(env, 'forward', new RecordingOutput());
    try {
      await forward.start({ foreground: true });
      await until(async () => (await forward.status()).phase === 'cdc', 30_000, 'CDC');
      await sql(urls.blue, "insert into shop.orders values (1000, 'after the load'); update shop.lines set order_id = order_id + 5000 where order_id < 10");
      expect(await forward.waitForPosition(await forward.sourcePosition(), 20_000)).toBe(true);
      for (const [t, key] of [['shop.orders', 'id'], ['shop.lines', 'order_id, line']] as const) {
        expect(await tableDigest(urls.green, t, key)).toEqual(await tableDigest(urls.blue, t, key));
      }
      const c = await connect(urls.blue);
      expect((await slotInfo(c, 'cutover_lp')).exists).toBe(true);
      await c.end();
      // the kit used the owner's publication as it was
      expect((await sql(urls.blue, "select pubowner::regrole::text as owner from pg_publication where pubname = 'cutover_lp'")).rows[0].owner).toBe('postgres');
      // removing the kit's traces: the slot goes; the owner's publication is the owner's to drop, and the error says how
      const refused = await forward.teardown().then(() => null, (e: unknown) => e as { code: string; details: { fix: string } });
      expect(refused).toMatchObject({ code: 'PRECONDITION_FAILED', details: { fix: expect.stringContaining('DROP PUBLICATION "cutover_lp";') } });
      const after = await connect(urls.blue);
      expect((await slotInfo(after, 'cutover_lp')).exists).toBe(false);
      await after.end();
    } finally {
      await forward.stop();
    }
  });

  test('a target role granted the tables but not the schema (capitals, Chinese names): assess names the GRANT USAGE instead of failing with "permission denied for schema"', async () => {
    await granting.createDatabase('blue_u');
    await granting.createDatabase('green_u');
    const tables = `create schema "Ventes"; create table "Ventes"."订单 Orders" ("Id" int generated by default as identity primary key, "Betrag" numeric(12,2), "备注" text);`;
    await sql(granting.urlFor('blue_u'), tables + ` insert into "Ventes"."订单 Orders" values (1, 2.50, 'x');`);
    await sql(granting.urlFor('green_u'), tables + ` create role applier login password 'a-pw'; grant select, insert, update, delete, truncate on "Ventes"."订单 Orders" to applier;`);
    const mapping = {
      rules: [
        // a filter on a text column: the large-value check looks the source table up too
        { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'Ventes', 'table-name': '订单 Orders' }, 'rule-action': 'include', filters: [{ 'filter-type': 'source', 'column-name': '备注', 'filter-conditions': [{ 'filter-operator': 'noteq', value: 'z' }] }] },
      ],
    };
    const asApplier = granting.urlFor('green_u').replace(/\/\/postgres:[^@]*@/, '//applier:a-pw@');
    const asReader = granting.urlFor('blue_u').replace(/\/\/postgres:[^@]*@/, '//reader:r-pw@'); // no USAGE on "Ventes" either
    const env = testEnvironment(asReader, asApplier, {}, { forward: mapping, reverse: mapping }, 'lpu');
    const report = await new PostgresInspector(env, new RecordingOutput()).assess();
    const missing = byId(report.findings);
    expect(missing['target-schema-privilege']).toMatchObject({ severity: 'blocker', handling: 'GRANT USAGE ON SCHEMA "Ventes" TO "applier";' });
    expect(missing['source-schema-privilege']).toMatchObject({ severity: 'blocker', handling: 'GRANT USAGE ON SCHEMA "Ventes" TO "reader";' });
    expect(missing['target-write-privilege']).toBeUndefined(); // the tables are granted…
    expect(missing['target-publication-privilege']).toMatchObject({ severity: 'warning' }); // …but not owned: reverse replication's publication is the owner's to make
    // …but not their sequences: the snapshot reads blue's, the write switch moves green's (setval)
    expect(missing['source-sequence-privilege']).toMatchObject({ severity: 'blocker', handling: 'GRANT SELECT ON SEQUENCE "Ventes"."订单 Orders_Id_seq" TO "reader";' });
    expect(missing['target-sequence-write-privilege']).toMatchObject({ severity: 'blocker', handling: 'GRANT SELECT, UPDATE ON SEQUENCE "Ventes"."订单 Orders_Id_seq" TO "applier";' });
    expect(report.findings.find((f) => f.id === 'target-table-missing')).toBeUndefined(); // it exists: the role just may not use its schema
    // a command that meets a missing privilege anyway (the snapshot reading the sequence) is exit 2 pointing at assess, not 3 INTERNAL
    const refused = await sql(asReader, 'select last_value from "Ventes"."订单 Orders_Id_seq"').then(() => null, asCutoverError);
    expect(refused).toMatchObject({ code: 'PERMISSION_DENIED', exitCode: 2, message: expect.stringContaining('permission denied'), details: { fix: expect.stringContaining('npx cutover assess') } });
    await sql(granting.urlFor('green_u'), statementOf(missing['target-schema-privilege']!) + statementOf(missing['target-sequence-write-privilege']!));
    await sql(granting.urlFor('blue_u'), statementOf(missing['source-sequence-privilege']!));
    const after = byId((await new PostgresInspector(env, new RecordingOutput()).assess()).findings);
    for (const id of ['target-schema-privilege', 'target-sequence-write-privilege', 'source-sequence-privilege']) expect(after[id]).toBeUndefined();
  });

  test('a partitioned table: the publication assess prints publishes through the root, and its CDC changes reach the target with the ordinary roles', async () => {
    await granting.createDatabase('blue_p');
    await granting.createDatabase('green_p');
    const events = `create schema shop; create table shop.events (id int, at date, what text, primary key (id, at)) partition by range (at);
      create table shop.events_a partition of shop.events for values from ('2025-01-01') to ('2026-01-01');
      create table shop.events_b partition of shop.events for values from ('2026-01-01') to ('2027-01-01');`;
    const [blue, green] = [granting.urlFor('blue_p'), granting.urlFor('green_p')];
    await sql(blue, events + ` insert into shop.events select g, date '2025-12-01' + g, 'e' || g from generate_series(1, 60) g;
      grant usage on schema shop to reader; grant select on shop.events to reader; alter database blue_p owner to reader;`);
    await sql(green, events + ` alter schema shop owner to writer; alter table shop.events owner to writer; grant create on database green_p to writer;
      grant execute on function pg_replication_origin_create(text), pg_replication_origin_session_setup(text), pg_replication_origin_drop(text) to writer;`);
    const as = (url: string, role: string, pw: string) => url.replace(/\/\/postgres:[^@]*@/, `//${role}:${pw}@`);
    const env = envFor(as(blue, 'reader', 'r-pw'), as(green, 'writer', 'w-pw'), 'lpp');
    // what assess used to print (no publish_via_partition_root): PostgreSQL then sends the
    // changes under the partitions' names, which the worker dropped as unmapped
    await sql(blue, 'create publication cutover_lpp for table shop.events');
    const first = byId((await new PostgresInspector(env, new RecordingOutput()).assess()).findings);
    expect(first['source-publication-privilege']).toMatchObject({
      severity: 'blocker',
      message: expect.stringContaining('lacks WITH (publish_via_partition_root = true)'),
      handling: 'as the owner of the tables (or a superuser), once: ALTER PUBLICATION "cutover_lpp" SET (publish_via_partition_root = true);  The kit then uses it as it is.',
    });
    await sql(blue, statementOf(first['source-publication-privilege']!));
    expect(byId((await new PostgresInspector(env, new RecordingOutput()).assess()).findings)['source-publication-privilege']).toBeUndefined();
    await sql(blue, 'drop publication cutover_lpp');
    expect(byId((await new PostgresInspector(env, new RecordingOutput()).assess()).findings)['source-publication-privilege']!.handling).toContain(
      'CREATE PUBLICATION "cutover_lpp" FOR TABLE "shop"."events" WITH (publish_via_partition_root = true);',
    );
    await sql(blue, 'create publication cutover_lpp for table shop.events with (publish_via_partition_root = true)');

    const forward = new PostgresReplicator(env, 'forward', new RecordingOutput());
    try {
      await forward.start({ foreground: true });
      await until(async () => (await forward.status()).phase === 'cdc', 30_000, 'CDC');
      await sql(blue, "insert into shop.events values (100, '2026-03-03', 'cdc'); update shop.events set at = at + 60 where id = 1; delete from shop.events where id = 2");
      expect(await forward.waitForPosition(await forward.sourcePosition(), 20_000)).toBe(true);
      expect(await tableDigest(green, 'shop.events', 'id, at')).toEqual(await tableDigest(blue, 'shop.events', 'id, at'));
    } finally {
      await forward.stop();
    }
  });
});

describe.skipIf(!canStartMajor(12))('least privilege on PostgreSQL 12', () => {
  test('what 12 cannot grant says superuser; wal_level replica is a blocker before any slot exists', async () => {
    const pg12 = await startTestPostgres('postgres', { wal_level: 'replica' }, 12);
    servers.push(pg12);
    const urls = await prepare(pg12);
    const report = await new PostgresInspector(envFor(urls.asReader, urls.asWriter, 'lp12'), new RecordingOutput()).assess();
    const findings = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(findings['source-wal-level']).toMatchObject({ severity: 'blocker', message: expect.stringMatching(/source wal_level is replica/), handling: expect.stringMatching(/wal_level = logical/) });
    expect(findings['target-replica-role-privilege']!.handling).toMatch(/^before PostgreSQL 15 only a superuser may: ALTER ROLE "writer" SUPERUSER;/);
    expect(findings['target-origin-privilege']!.handling).toMatch(/^before PostgreSQL 14 only a superuser may: ALTER ROLE "writer" SUPERUSER;/);
    expect(findings['target-origin-privilege']!.message).toMatch(/on PostgreSQL 12/);
    expect((await sql(urls.blue, 'select count(*)::int as n from pg_replication_slots')).rows[0].n).toBe(0);
    expect(findings['source-partitioned-publication']).toBeUndefined();

    // PostgreSQL 12 cannot publish a partitioned table (its publication would fail on it): a
    // blocker naming the table and the way out, for the superuser too, and the worker refuses;
    // nor send a generated column
    const partitioned = `create table shop.events (id int, at date, primary key (id, at)) partition by range (at);
      create table shop.events_a partition of shop.events for values from ('2025-01-01') to ('2026-01-01');
      create table shop.totals (id int primary key, q int, u numeric, t numeric);
      create table shop.sums (id int primary key, q int, s int);`;
    await sql(urls.blue, partitioned.replace('t numeric)', 't numeric generated always as (q * u) stored)'));
    await sql(urls.green, partitioned.replace('s int)', 's int generated always as (q + 1) stored)'));
    const env = envFor(urls.blue, urls.green, 'lp12p');
    const again = Object.fromEntries((await new PostgresInspector(env, new RecordingOutput()).assess()).findings.map((f) => [f.id, f]));
    expect(again['source-partitioned-publication']).toMatchObject({ severity: 'blocker', message: expect.stringContaining('partitioned table(s) shop.events on the source'), handling: expect.stringContaining('PostgreSQL 13') });
    expect(again['target-partitioned-publication']).toMatchObject({ severity: 'warning' });
    // before 18 pgoutput never sends a generated column: copied to a plain one, CDC would write NULL
    expect(again['source-column-generated']).toMatchObject({
      severity: 'blocker',
      table: 'shop.totals',
      message: expect.stringContaining('shop.totals.t is GENERATED ALWAYS AS (((q)::numeric * u)) STORED on the source'),
      handling: expect.stringContaining('add a remove-column rule for shop.totals.t'),
    });
    // the same on green for reverse replication after the switch (a warning until then)
    expect(again['reverse-column-generated']).toMatchObject({ severity: 'warning', table: 'shop.sums', message: expect.stringContaining('shop.sums.s is GENERATED ALWAYS AS ((q + 1)) STORED on the target') });
    const c = await connect(urls.blue);
    try {
      const refused = await ensurePublication(c, 'cutover_lp12p', [{ source: { schema: 'shop', table: 'events' } } as MappedTable]).then(() => null, (e: unknown) => e);
      expect(refused).toMatchObject({ code: 'PRECONDITION_FAILED', message: expect.stringContaining('shop.events') });
    } finally {
      await c.end();
    }
  });
});
