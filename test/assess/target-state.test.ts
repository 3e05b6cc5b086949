import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestPostgres } from '../_helpers/pg.ts';
import { runCli, tempConfig } from '../cli/run-cli.ts';
import { sql } from '../replication/_env.ts';

/**
 * assess, before any slot exists, blocks what would make `replicate start` die: a target table
 * that already has rows (duplicate key) and a target column the database generates (generated
 * column / identity ALWAYS outside the key). A kept table (assess.keepTargetRows) is info.
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
});
