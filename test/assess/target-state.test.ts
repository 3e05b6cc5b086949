import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestPostgres } from '../_helpers/pg.ts';
import { runCli, tempConfig } from '../cli/run-cli.ts';
import { sql } from '../replication/_env.ts';

/**
 * assess, before any slot exists, blocks what would make `replicate start` die: a target table
 * that already has rows (duplicate key), a target column the database generates (generated
 * column / identity ALWAYS outside the key) and a target enum that lacks labels of the source's.
 * A kept table (assess.keepTargetRows) is info.
 */
describe('assess: what the target already holds', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  const urls = { blue: '', green: '' };
  const env = (extra: Record<string, unknown> = {}) => ({ platform: 'postgres', source: { url: urls.blue }, target: { url: urls.green }, ...extra });

  beforeAll(async () => {
    server = await startTestPostgres();
    await sql(server.url, 'create database blue');
    await sql(server.url, 'create database green');
    urls.blue = server.urlFor('blue');
    urls.green = server.urlFor('green');
    await sql(urls.blue, `create table orders (id int primary key, qty int not null, price int not null, total int not null, seq int not null);
                          create table items (id int primary key, name text);
                          insert into orders select g, 1, 2, 2, g from generate_series(1, 5) g; insert into items values (1, 'a')`);
    await sql(urls.green, `create table orders (id int generated always as identity primary key, qty int not null, price int not null,
                             total int generated always as (qty * price) stored, seq int generated always as identity);
                           create table items (id int primary key, name text);
                           insert into items values (1, 'left over'), (2, 'another')`);
    cfg = tempConfig({ plain: env(), keep: env({ assess: { keepTargetRows: ['public.items', 'public.itmes'] } }) }, { mappings: 'identity' });
  }, 60_000);
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('fails if a target table has rows or the mapping writes a generated column: blockers, exit 1, nothing created', async () => {
    const r = await runCli(['--config', cfg.file, '--env', 'plain', '--json', 'assess']);
    expect(r.code, r.stderr).toBe(1);
    const findings = JSON.parse(r.stdout).verify.result.findings as { id: string; severity: string; table?: string; message: string; handling: string }[];
    const ids = (id: string) => findings.filter((f) => f.id === id);
    expect(ids('target-not-empty')).toEqual([
      expect.objectContaining({ severity: 'blocker', table: 'public.items', message: expect.stringMatching(/public\.items already has 2 row\(s\).*duplicate key/), handling: expect.stringMatching(/TRUNCATE "public"\."items".*assess\.keepTargetRows/) }),
    ]);
    const generated = ids('target-column-generated');
    expect(generated.map((f) => f.message)).toEqual([
      expect.stringMatching(/public\.orders\.total is GENERATED ALWAYS AS \(\(qty \* price\)\) STORED on the target.*is a generated column/),
      expect.stringMatching(/public\.orders\.seq is an identity GENERATED ALWAYS column on the target, not in its key/),
    ]);
    expect(generated.every((f) => f.severity === 'blocker')).toBe(true);
    expect(generated[0]!.handling).toMatch(/remove-column rule for public\.orders\.total/);
    // the identity ALWAYS key (orders.id) is written through COPY / OVERRIDING SYSTEM VALUE: no finding
    expect(findings.some((f) => f.message.includes('orders.id'))).toBe(false);
    expect((await sql(urls.blue, 'select count(*)::int as n from pg_replication_slots')).rows[0].n).toBe(0);
  }, 60_000);

  test('assess.keepTargetRows turns the non-empty table into info; a name the mapping does not fill is a warning', async () => {
    const r = await runCli(['--config', cfg.file, '--env', 'keep', '--json', 'assess']);
    const findings = JSON.parse(r.stdout).verify.result.findings as { id: string; severity: string; message: string }[];
    expect(findings.filter((f) => f.id === 'target-not-empty')).toEqual([expect.objectContaining({ severity: 'info' })]);
    expect(findings.filter((f) => f.id === 'keep-target-rows-unknown')).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringContaining('public.itmes') })]);
  }, 60_000);

  test('fails if keepTargetRows is not schema.table: CONFIG_INVALID (exit 2)', async () => {
    const bad = tempConfig({ bad: env({ assess: { keepTargetRows: ['items'] } }) });
    try {
      const r = await runCli(['--config', bad.file, '--env', 'bad', 'assess']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/CONFIG_INVALID[\s\S]*assess\.keepTargetRows\.0: got "items"; expected a target table as schema\.table/);
    } finally {
      bad.dispose();
    }
  });

  test('fails if an enum column goes into a target enum that lacks some of its labels: a blocker naming them, with the ALTER TYPE', async () => {
    await sql(server.url, 'create database blue_e');
    await sql(server.url, 'create database green_e');
    const ddl = (labels: string) => `create type status as enum (${labels}); create table shipments (id int primary key, s status, note text);`;
    await sql(server.urlFor('blue_e'), ddl(`'new', 'paid', '已发货', 'it''s'`) + ` insert into shipments values (1, '已发货', 'x')`);
    await sql(server.urlFor('green_e'), ddl(`'new', 'paid'`));
    const enums = tempConfig({ e: { platform: 'postgres', source: { url: server.urlFor('blue_e') }, target: { url: server.urlFor('green_e') } } }, { mappings: 'identity' });
    try {
      const r = await runCli(['--config', enums.file, '--env', 'e', '--json', 'assess']);
      expect(r.code, r.stderr).toBe(1);
      const findings = JSON.parse(r.stdout).verify.result.findings as { id: string; severity: string; message: string; handling: string }[];
      expect(findings.filter((f) => f.id === 'enum-label-missing')).toEqual([
        expect.objectContaining({
          severity: 'blocker',
          message: expect.stringContaining(`public.shipments.s is of enum status, whose label(s) '已发货', 'it''s' the target column public.shipments.s (enum status) lacks`),
          handling: `on the target: ALTER TYPE status ADD VALUE IF NOT EXISTS '已发货';  ALTER TYPE status ADD VALUE IF NOT EXISTS 'it''s';  (or change-data-type the column to text in the mapping)`,
        }),
      ]);
      await sql(server.urlFor('green_e'), "alter type status add value '已发货'; alter type status add value 'it''s'");
      const again = JSON.parse((await runCli(['--config', enums.file, '--env', 'e', '--json', 'assess'])).stdout).verify.result.findings as { id: string }[];
      expect(again.filter((f) => f.id === 'enum-label-missing')).toEqual([]);
    } finally {
      enums.dispose();
    }
  }, 60_000);
});
