import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresInspector } from '../../lib/assess/postgres-inspector.ts';
import { replicationSettings } from '../../lib/assess/replication-settings.ts';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { CutoverError } from '../../lib/errors.ts';
import { freePort } from '../../lib/net/free-port.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { testEnvironment } from '../diff/validation-env.ts';

type Server = Awaited<ReturnType<typeof startTestPostgres>>;
let sourceServer: Server;
let targetServer: Server;
let source: pg.Client;
let dir: string;
let env: ResolvedPostgresEnvironment;

const select = (id: string, table: string) => ({
  'rule-type': 'selection', 'rule-id': id, 'rule-name': `s${id}`, 'object-locator': { 'schema-name': 'public', 'table-name': table }, 'rule-action': 'include',
});

beforeAll(async () => {
  [sourceServer, targetServer] = await Promise.all([startTestPostgres('legacy', { timezone: 'Asia/Shanghai' }), startTestPostgres('new')]);
  source = await connect(sourceServer.url);
  const target = await connect(targetServer.url);
  await source.query(`
    create table t_customer (cust_id int primary key, email text, phone text, balance money);
    insert into t_customer values (1, 'a@x.cn', '13800000000', 1), (2, 'broken-at-x.cn', '138', 2), (3, 'A@X.CN', '13800000000', 3),
      (4, 'no-at', null, 4), (5, 'e@x.cn', '1', 5), (6, 'f', '2', 6), (7, 'g', '3', 7), (8, 'h', '4', 8);
    create table t_log (at timestamp, line text);
    create table t_audit (at timestamptz, line text);
    create table t_order (order_id int primary key, cust_id int, total numeric(12,2));
    create sequence t_order_seq;
    select lo_create(0);
  `);
  await target.query(`create table t_customer (cust_id int primary key, email text, phone text, balance money);
    create table t_log (at timestamptz, line text);`);
  await target.end();
  dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-assess-'));
  env = testEnvironment({
    dir,
    sourceUrl: sourceServer.url,
    targetUrl: targetServer.url,
    forward: { rules: [select('1', 't_customer'), select('2', 't_log'), select('3', 't_order')] },
    checks: [
      {
        id: 'malformed-emails',
        description: 'customers whose e-mail has no @',
        table: 'public.t_customer',
        sql: `select cust_id from t_customer where email !~ '@' order by cust_id`,
        severity: 'warning',
        handling: 'the mapping moves them with email NULL',
      },
      { id: 'duplicate-customers', description: 'duplicate customers by normalized e-mail', sql: `select min(cust_id) as cust_id from t_customer group by lower(email) having count(*) > 1` },
      { id: 'no-findings', description: 'nothing wrong here', sql: `select cust_id from t_customer where cust_id < 0` },
    ],
  });
});

afterAll(async () => {
  await source?.end().catch(() => {});
  await Promise.all([sourceServer?.dispose(), targetServer?.dispose()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('PostgresInspector', () => {
  test('finds a selected table without primary key as a blocker, an unselected one as info', async () => {
    const report = await new PostgresInspector(env, new RecordingOutput()).assess();
    const noPk = report.findings.filter((f) => f.id === 'no-primary-key');
    expect(noPk.find((f) => f.table === 'public.t_log')?.severity).toBe('blocker');
    expect(noPk.find((f) => f.table === 'public.t_audit')?.severity).toBe('info');
    expect(report.ok).toBe(false);
    expect(report.tables.find((t) => t.name === 'public.t_customer')).toMatchObject({ rows: 8, primaryKey: ['cust_id'] });
    expect(report.estimatedFullLoadSeconds).toBeGreaterThanOrEqual(1);
  });

  test('never reports a guessed 0 rows for a table without a primary key whose estimate is not known', async () => {
    // analysed while empty, filled since: reltuples says 0 over a non-empty file
    await source.query(`create table t_stale (line text); analyze t_stale; insert into t_stale select 'x' || g from generate_series(1, 20) g;
      create table t_secret (line text); insert into t_secret values ('a'), ('b');
      create role inspector_ro login password 'pw'; grant select on t_customer, t_log, t_audit, t_order, t_stale to inspector_ro`);
    try {
      const report = await new PostgresInspector(env, new RecordingOutput()).assess();
      expect(report.findings.find((f) => f.table === 'public.t_stale')).toMatchObject({ id: 'no-primary-key', count: 20 });
      // never analysed, and the role may not count it: no figure at all
      const url = new URL(sourceServer.url);
      url.username = 'inspector_ro';
      url.password = 'pw';
      const limited = testEnvironment({ dir: mkdtempSync(path.join(dir, 'limited-')), sourceUrl: url.toString(), targetUrl: targetServer.url, forward: { rules: [select('1', 't_customer')] } });
      const secret = (await new PostgresInspector(limited, new RecordingOutput()).assess()).findings.find((f) => f.id === 'no-primary-key' && f.table === 'public.t_secret');
      expect(secret).toMatchObject({ count: null, message: expect.stringContaining('rows: unknown, table not analysed') });
    } finally {
      await source.query('drop table t_stale, t_secret; drop owned by inspector_ro; drop role inspector_ro');
    }
  });

  test("runs the config's data-quality checks with counts and at most five sample keys, showing progress per step and per check", async () => {
    const out = new RecordingOutput();
    const report = await new PostgresInspector(env, out).assess();
    const steps = out.progressUpdates.filter((u) => u.topic === 'assess');
    expect(steps.map((u) => u.figures?.step)).toEqual(expect.arrayContaining(['mapping and catalog', 'privileges', 'check malformed-emails', 'check duplicate-customers', 'check no-findings']));
    expect(steps[steps.length - 1]).toMatchObject({ total: 11, done: 10, figures: { step: 'check no-findings' } });
    const emails = report.findings.find((f) => f.id === 'malformed-emails')!;
    expect(emails).toMatchObject({ count: 5, severity: 'warning', table: 'public.t_customer', handling: 'the mapping moves them with email NULL' });
    expect(emails.sampleKeys).toEqual([{ cust_id: 2 }, { cust_id: 4 }, { cust_id: 6 }, { cust_id: 7 }, { cust_id: 8 }]);
    expect(report.findings.find((f) => f.id === 'duplicate-customers')).toMatchObject({ count: 1, sampleKeys: [{ cust_id: 1 }] });
    expect(report.findings.find((f) => f.id === 'no-findings')).toMatchObject({ count: 0, severity: 'info' });
  });

  test('reports mapping problems, lossy types, large objects, sequences and replication settings', async () => {
    const report = await new PostgresInspector(env, new RecordingOutput()).assess();
    const ids = report.findings.map((f) => f.id);
    expect(report.findings.find((f) => f.id === 'target-table-missing')).toMatchObject({ severity: 'blocker', table: 'public.t_order' });
    expect(report.findings.find((f) => f.id === 'lossy-type')?.message).toContain('balance');
    expect(ids).toContain('large-objects');
    expect(report.findings.find((f) => f.id === 'sequences')?.sampleKeys).toEqual([{ sequence: 'public.t_order_seq', lastValue: null }]);
    expect(report.settings['source.wal_level']).toBe('logical');
    expect(Number(report.settings['source.free_replication_slots'])).toBeGreaterThan(0);
    expect(ids).not.toContain('source-wal-level');
  });

  test('says that a timestamp -> timestamptz column is read as UTC, as a warning when a server runs in another zone', async () => {
    const report = await new PostgresInspector(env, new RecordingOutput()).assess();
    expect(report.findings.filter((f) => f.id === 'time-zone-change')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        count: 1,
        sampleKeys: [{ column: 'public.t_log.at timestamp without time zone -> public.t_log.at timestamp with time zone' }],
        message: expect.stringContaining("the kit reads a zone-less value as UTC; the source's TimeZone is Asia/Shanghai, the target's Etc/UTC"),
      }),
    ]);
  });

  test('reports a wal_level that is not logical as a blocker on the source', async () => {
    const fake = {
      query: async (sql: string) =>
        sql.includes('pg_settings')
          ? { rows: [{ name: 'wal_level', setting: 'replica' }, { name: 'max_replication_slots', setting: '10' }, { name: 'max_wal_senders', setting: '10' }, { name: 'server_version_num', setting: '170006' }] }
          : { rows: [{ n: '10' }] },
    } as unknown as pg.ClientBase;
    const { settings, findings } = await replicationSettings(fake, 'source');
    expect(settings['source.wal_level']).toBe('replica');
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['source-wal-level', 'blocker'],
      ['source-replication-slots', 'blocker'],
    ]);
  });

  test('fails if a target column cannot hold the source column\'s values: a blocker naming table, column, both types and the ALTER; a wider one passes', async () => {
    // a narrower integer, fewer decimals (numeric rounds silently, and validate compares in the target type) and a shorter varchar were only "may lose" warnings
    await source.query('create table t_stock (id int primary key, qty int, price numeric(10,2), code varchar(12), note text)');
    const target = await connect(targetServer.url);
    try {
      await target.query('create table t_stock (id int primary key, qty smallint, price numeric(10,1), code varchar(8), note varchar(50))');
      const stockEnv = testEnvironment({ dir: path.join(dir, 'stock'), sourceUrl: sourceServer.url, targetUrl: targetServer.url, forward: { rules: [select('1', 't_stock')] } });
      const report = await new PostgresInspector(stockEnv, new RecordingOutput()).assess();
      expect(report.ok).toBe(false);
      expect(report.findings.filter((f) => f.id === 'target-type-too-narrow').map((f) => [f.severity, f.message])).toEqual([
        ['blocker', 'public.t_stock.qty integer -> public.t_stock.qty smallint: smallint holds integers up to 32767, integer up to 2147483647'],
        ['blocker', 'public.t_stock.price numeric(10,2) -> public.t_stock.price numeric(10,1): numeric(10,1) keeps 1 decimal(s), numeric(10,2) 2: values are rounded silently'],
        ['blocker', 'public.t_stock.code character varying(12) -> public.t_stock.code character varying(8): character varying(8) holds 8 character(s), character varying(12) 12 (a longer value is refused)'],
      ]);
      // text into varchar(50): a longer value would be refused, but the type allows any length: a warning
      expect(report.findings.filter((f) => f.id === 'lossy-type-change').map((f) => [f.severity, f.message.split(' ')[0]])).toEqual([['warning', 'public.t_stock.note']]);
      await target.query('alter table t_stock alter qty type bigint, alter price type numeric(12,2), alter code type text');
      const widened = await new PostgresInspector(stockEnv, new RecordingOutput()).assess();
      expect(widened.findings.filter((f) => f.id === 'target-type-too-narrow')).toEqual([]);
      expect(widened.ok).toBe(true);
    } finally {
      await target.query('drop table if exists t_stock').catch(() => {});
      await target.end();
      await source.query('drop table t_stock');
    }
  });

  test('warns when a selected table references rows a filter keeps off green: count and sample keys, composite keys too', async () => {
    // green's foreign key does not stop them (replicated rows are applied as replica) and validate
    // compares each table alone: these rows reach green without their parent, silently
    await source.query(`
      create table t_acct (id int primary key, region text not null);
      create table t_buy (id int primary key, acct_id int references t_acct(id), note text);
      create table t_line (buy_id int, n int, acct_region text, primary key (buy_id, n));
      create table t_pair (a int, b int, region text, primary key (a, b));
      create table t_pair_ref (id int primary key, a int, b int, foreign key (a, b) references t_pair(a, b));
      insert into t_acct values (1, 'eu'), (2, 'test'), (3, 'eu'), (4, 'test');
      insert into t_buy values (10, 1, 'kept'), (11, 2, 'orphan'), (12, 4, 'orphan'), (13, null, 'no parent at all'), (14, 3, 'kept');
      insert into t_pair values (1, 1, 'eu'), (1, 2, 'test');
      insert into t_pair_ref values (1, 1, 1), (2, 1, 2), (3, 1, 2);`);
    const regionFilter = (id: string, table: string) => ({
      ...select(id, table),
      filters: [{ 'filter-type': 'source', 'column-name': 'region', 'filter-conditions': [{ 'filter-operator': 'noteq', value: 'test' }] }],
    });
    const fkEnv = (rules: unknown[]) => testEnvironment({ dir: path.join(dir, 'fk'), sourceUrl: sourceServer.url, targetUrl: targetServer.url, forward: { rules } });
    try {
      const report = await new PostgresInspector(fkEnv([regionFilter('1', 't_acct'), select('2', 't_buy'), regionFilter('3', 't_pair'), select('4', 't_pair_ref')]), new RecordingOutput()).assess();
      const found = report.findings.filter((f) => f.id === 'filtered-parent-orphans');
      expect(found.map((f) => [f.severity, f.table, f.count, f.sampleKeys])).toEqual([
        ['warning', 'public.t_buy', 2, [{ id: 11 }, { id: 12 }]],
        ['warning', 'public.t_pair_ref', 2, [{ id: 2 }, { id: 3 }]],
      ]);
      expect(found[0]!.message).toMatch(/^2 row\(s\) of public\.t_buy reference \(foreign key t_buy_acct_id_fkey: acct_id\) rows of public\.t_acct that the mapping's filter leaves out/);
      // a child filtered to the same rows, or a parent not filtered: nothing to say
      const childFilter = { ...select('2', 't_buy'), filters: [{ 'filter-type': 'source', 'column-name': 'note', 'filter-conditions': [{ 'filter-operator': 'noteq', value: 'orphan' }] }] };
      const clean = await new PostgresInspector(fkEnv([regionFilter('1', 't_acct'), childFilter, select('3', 't_pair'), select('4', 't_pair_ref')]), new RecordingOutput()).assess();
      expect(clean.findings.filter((f) => f.id === 'filtered-parent-orphans')).toEqual([]);
    } finally {
      await source.query('drop table t_pair_ref, t_pair, t_line, t_buy, t_acct');
    }
  });

  test('fails if the reverse mapping writes a column blue computes: a blocker naming it (green computing it too says no "NULL" warning)', async () => {
    // trial6: every order line green took after the switch was refused by blue (a dead letter)
    await source.query(`create table t_line (id int primary key, qty int, price numeric(10,2), amount numeric(12,2) generated always as (qty * price) stored);
      create table t_line_plain (id int primary key, qty int, price numeric(10,2), amount numeric(12,2) generated always as (qty * price) stored)`);
    const target = await connect(targetServer.url);
    try {
      await target.query(`create table t_line (id int primary key, qty int, price numeric(10,2), amount numeric(12,2) generated always as (qty * price) stored);
        create table t_line_plain (id int primary key, qty int, price numeric(10,2), amount numeric(12,2))`);
      const removeAmount = (id: string, table: string) => ({
        'rule-type': 'transformation', 'rule-id': id, 'rule-name': `r${id}`, 'rule-target': 'column', 'object-locator': { 'schema-name': 'public', 'table-name': table, 'column-name': 'amount' }, 'rule-action': 'remove-column',
      });
      const lineEnv = testEnvironment({ dir: path.join(dir, 'line'), sourceUrl: sourceServer.url, targetUrl: targetServer.url, forward: { rules: [select('1', 't_line'), select('2', 't_line_plain'), removeAmount('3', 't_line'), removeAmount('4', 't_line_plain')] } });
      // the test environment's reverse mapping selects every green table whole: amount included
      const report = await new PostgresInspector(lineEnv, new RecordingOutput()).assess();
      expect(report.ok).toBe(false);
      const refused = report.findings.filter((f) => f.id === 'reverse-target-column-generated');
      expect(refused.map((f) => [f.severity, f.table, f.sampleKeys])).toEqual([
        ['blocker', 'public.t_line', [{ column: 'amount' }]],
        ['blocker', 'public.t_line_plain', [{ column: 'amount' }]],
      ]);
      expect(refused[0]!.message).toMatch(/^public\.t_line\.amount is GENERATED ALWAYS AS \(.*\) STORED on blue \(the source\), and the reverse mapping writes it: .*a rollback stops$/);
      expect(refused[0]!.handling).toMatch(/add a remove-column rule for public\.t_line\.amount to the reverse mapping/);
      // green's own generated t_line.amount: blue refuses it, it does not become NULL there
      expect(report.findings.filter((f) => f.id === 'reverse-column-generated')).toEqual([]);
    } finally {
      await target.query('drop table if exists t_line, t_line_plain').catch(() => {});
      await target.end();
      await source.query('drop table t_line, t_line_plain');
    }
  });

  test('reports a server older than PostgreSQL 12 as a blocker naming its version and the upgrade', async () => {
    const settingsOf = (version: string, num: string) =>
      ({
        query: async (sql: string) =>
          sql.includes('pg_settings')
            ? { rows: [{ name: 'wal_level', setting: 'logical' }, { name: 'max_replication_slots', setting: '10' }, { name: 'max_wal_senders', setting: '10' }, { name: 'server_version', setting: version }, { name: 'server_version_num', setting: num }] }
            : { rows: [{ n: '0' }] },
      }) as unknown as pg.ClientBase;
    const old = await replicationSettings(settingsOf('11.22', '110022'), 'target');
    expect(old.findings).toEqual([
      expect.objectContaining({ id: 'target-version', severity: 'blocker', message: 'target runs PostgreSQL 11.22; the kit supports PostgreSQL 12 to 18', handling: expect.stringMatching(/upgrade the target to PostgreSQL 12 or later/) }),
    ]);
    expect((await replicationSettings(settingsOf('12.22', '120022'), 'source')).findings).toEqual([]);
    expect((await replicationSettings(settingsOf('19.0', '190000'), 'source')).findings.map((f) => [f.id, f.severity])).toEqual([['source-version', 'warning']]);
  });

  test('fails if the password is wrong with AUTH_FAILED, without printing the password', async () => {
    const wrong = targetServer.url.replace(`:${encodeURIComponent(targetServer.password)}@`, ':not-the-password-xyz@');
    const err = await new PostgresInspector({ ...env, target: { ...env.target, url: wrong } }, new RecordingOutput()).checkConnectivity().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('AUTH_FAILED');
    expect((err as CutoverError).describe()).toContain(`127.0.0.1:${targetServer.port}`);
    expect((err as CutoverError).describe()).not.toContain('not-the-password-xyz');
  });

  test('fails if nothing listens on the port with CONNECTION_FAILED naming host:port', async () => {
    const port = await freePort();
    const err = await new PostgresInspector({ ...env, source: { ...env.source, url: `postgres://postgres:secret-pw@127.0.0.1:${port}/legacy` } }, new RecordingOutput())
      .assess()
      .catch((e: unknown) => e);
    expect((err as CutoverError).code).toBe('CONNECTION_FAILED');
    expect((err as CutoverError).message).toContain(`127.0.0.1:${port}`);
    expect((err as CutoverError).details.fix).toBeTruthy();
    expect((err as CutoverError).describe()).not.toContain('secret-pw');
  });
});
