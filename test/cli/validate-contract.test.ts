import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { runCli } from './run-cli.ts';

/**
 * The `validate --json` contract of shared/CONTRACTS.md, end to end through the CLI against two
 * real servers: the JSON shape, keys as objects keyed by the SOURCE key column names, and the
 * exit codes 0 equal / 1 differences / 2 error.
 */
describe('cutover validate --json (contract)', () => {
  let legacy: Awaited<ReturnType<typeof startTestPostgres>>;
  let modern: Awaited<ReturnType<typeof startTestPostgres>>;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    [legacy, modern] = await Promise.all([startTestPostgres('legacy'), startTestPostgres('modern')]);
    const s = await connect(legacy.url);
    await s.query(`create table t_item (item_no int primary key, item_nm text, price numeric(10,2));
                   insert into t_item select g, '商品' || g, g * 1.5 from generate_series(1, 500) g;`);
    await s.end();
    const t = await connect(modern.url);
    await t.query(`create table items (item_no int primary key, name text, price numeric(10,2));
                   insert into items select g, '商品' || g, g * 1.5 from generate_series(1, 500) g;`);
    await t.end();
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-validate-cli-'));
    const forward = {
      rules: [
        { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'items', 'object-locator': { 'schema-name': 'public', 'table-name': 't_item' }, 'rule-action': 'include' },
        { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'table', 'rule-target': 'table', 'object-locator': { 'schema-name': 'public', 'table-name': 't_item' }, 'rule-action': 'rename', value: 'items' },
        { 'rule-type': 'transformation', 'rule-id': '3', 'rule-name': 'name', 'rule-target': 'column', 'object-locator': { 'schema-name': 'public', 'table-name': 't_item', 'column-name': 'item_nm' }, 'rule-action': 'rename', value: 'name' },
      ],
    };
    writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(forward));
    writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify({ rules: [forward.rules[0]] }));
    const env = (sourceUrl: string) => ({ platform: 'postgres', source: { url: sourceUrl }, target: { url: modern.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } });
    config = path.join(dir, 'cutover.config.json');
    writeFileSync(config, JSON.stringify({ environments: { lab: env(legacy.url), broken: env(legacy.url.replace(encodeURIComponent(legacy.password), 'wrong')) } }));
  });
  afterAll(async () => {
    await Promise.all([legacy?.dispose(), modern?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('equal data: exit 0 and the contract shape', async () => {
    const r = await runCli(['validate', '--json', '--config', config, '--env', 'lab']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.equal).toBe(true);
    expect(report.tables).toEqual([
      expect.objectContaining({ source: 'public.t_item', target: 'public.items', sourceRows: 500, targetRows: 500, missing: [], extra: [], different: [] }),
    ]);
  });

  test('differences: exit 1, keys keyed by the source primary-key column names', async () => {
    const t = await connect(modern.url);
    await t.query(`update items set name = '改名' where item_no = 7; delete from items where item_no = 9; insert into items values (900, 'x', 1)`);
    await t.end();
    const r = await runCli(['validate', '--json', '--config', config, '--env', 'lab']);
    expect(r.code, r.stderr).toBe(1);
    const table = JSON.parse(r.stdout).tables[0];
    expect(table.different).toEqual([{ item_no: 7 }]);
    expect(table.missing).toEqual([{ item_no: 9 }]);
    expect(table.extra).toEqual([{ item_no: 900 }]);
  });

  test('fails with exit 2 if --table names a table the mapping does not select, naming it and the nearest mapped one', async () => {
    for (const [value, near] of [['public.t_itme', 'public.t_item'], ['t_item', 'public.t_item']]) {
      const r = await runCli(['validate', '--config', config, '--env', 'lab', '--table', value!]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--table ${value}`);
      expect(r.stderr).toContain(`did you mean ${near}?`);
    }
  });

  test('prints one line per table, a warning when it differs (not one from the validator and one from the phase)', async () => {
    const r = await runCli(['validate', '--config', config, '--env', 'lab']);
    expect(r.code, r.stderr).toBe(1);
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('public.t_item -> public.items'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warn\s+validate: .*500 \/ 500 rows, missing 1, extra 1, different 1/);
  });

  test('fails with exit 2 on a wrong password, without printing it', async () => {
    const r = await runCli(['validate', '--json', '--config', config, '--env', 'broken']);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).not.toContain(legacy.password);
  });
});
