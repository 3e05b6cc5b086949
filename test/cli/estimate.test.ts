import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RehearsalFigures } from '../../lib/estimate/rehearsal-figures.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/** `cutover estimate --env NAME`: a forecast of that environment from a rehearsal's recorded figures. */
describe('cutover estimate', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  let figuresFile: string;
  const figures = (applyChangesPerSec: number): RehearsalFigures => ({
    version: 1,
    recordedAt: '2026-12-06T10:00:00.000Z',
    orders: 1000,
    parallelTables: 2,
    tables: [{ source: 'public.t_order', rows: 1000, bytes: 200_000, loadSeconds: 0.5 }],
    fullLoad: { seconds: 0.5 },
    cdc: { applyChangesPerSec, writeChangesPerSec: 20, catchUpSeconds: 0.2 },
    validate: { seconds: 0.4, rowsCompared: 2000 },
    hold: { partsMs: { 'validator.validate(frozen)': 300 }, frozenValidateMs: 300, totalMs: 400 },
  });

  beforeAll(async () => {
    server = await startTestPostgres();
    await sql(server.url, 'create database blue');
    await sql(server.url, 'create database green');
    await sql(server.urlFor('blue'), `create table t_order (order_id int primary key, note text); create table t_other (id int primary key);
      insert into t_order select g, repeat('x', 100) from generate_series(1, 20000) g; analyze t_order`);
    const env = { platform: 'postgres', source: { url: server.urlFor('blue') }, target: { url: server.urlFor('green') }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } };
    cfg = tempConfig({ real: env });
    const rule = { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's1', 'object-locator': { 'schema-name': 'public', 'table-name': 't_order' }, 'rule-action': 'include' };
    writeFileSync(path.join(cfg.dir, 'forward.json'), JSON.stringify({ rules: [rule] }));
    writeFileSync(path.join(cfg.dir, 'reverse.json'), JSON.stringify({ rules: [] }));
    figuresFile = path.join(cfg.dir, 'figures.json');
  });
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('forecasts the selected tables from the figures, each figure a labelled range (exit 0, go)', async () => {
    writeFileSync(figuresFile, JSON.stringify(figures(5000)));
    const r = await runCli(['estimate', '--json', '--figures', figuresFile, '--write-rate', '50', '--config', cfg.file, '--env', 'real']);
    expect(r.code, r.stderr).toBe(0);
    const fc = JSON.parse(r.stdout);
    expect(fc.rows).toBe(20000); // t_other is not selected
    expect(fc.writeRateFrom).toBe('--write-rate');
    for (const key of ['fullLoadSeconds', 'cdcCatchUpSeconds', 'validateSeconds', 'writeHoldMs']) {
      expect(fc[key].basis, key).toBe('extrapolated');
      expect(fc[key].high, key).toBeGreaterThan(fc[key].low);
    }
    expect(fc.go).toBe(true);
  });

  test("measures the write rate from the source's statistics when none is given", async () => {
    const r = await runCli(['estimate', '--json', '--figures', figuresFile, '--sample-seconds', '1', '--config', cfg.file, '--env', 'real']);
    expect(r.code, r.stderr).toBe(0);
    const fc = JSON.parse(r.stdout);
    expect(fc.writeRateFrom).toBe('source statistics');
    expect(fc.writeChangesPerSec).toBeGreaterThanOrEqual(0);
  });

  test('two rehearsals of different sizes calibrate each phase as a fixed cost plus a cost per row (--figures A B)', async () => {
    // full load 1 s + 0.1 ms/row and validate 0.1 ms/row: at the environment's 20,000 rows 3 s and 2 s
    // (one file alone scales the larger one by rows: 2.5 s and 2 s, so the full load tells them apart)
    const sized = (rows: number): RehearsalFigures => ({
      ...figures(5000),
      orders: rows / 4,
      tables: [{ source: 'public.t_order', rows, bytes: rows * 200, loadSeconds: 1 + rows / 10_000 }],
      fullLoad: { seconds: 1 + rows / 10_000 },
      validate: { seconds: rows / 10_000, rowsCompared: rows * 2 },
    });
    const small = path.join(cfg.dir, 'figures-10k.json');
    const large = path.join(cfg.dir, 'figures-40k.json');
    writeFileSync(small, JSON.stringify(sized(10_000)));
    writeFileSync(large, JSON.stringify(sized(40_000)));
    const r = await runCli(['estimate', '--json', '--figures', large, small, '--write-rate', '10', '--config', cfg.file, '--env', 'real']);
    expect(r.code, r.stderr).toBe(0);
    const fc = JSON.parse(r.stdout);
    expect(fc.calibration.sizes.map((s: { rows: number }) => s.rows)).toEqual([10_000, 40_000]);
    // the environment's size lies between the two rehearsals: measured, not extrapolated
    expect(fc.fullLoadSeconds).toMatchObject({ basis: 'measured', low: expect.closeTo(3 * 0.85, 5), high: expect.closeTo(3 * 1.2, 5) });
    expect(fc.validateSeconds).toMatchObject({ basis: 'measured', low: expect.closeTo(2 * 0.85, 5), high: expect.closeTo(2 * 1.2, 5) });
    expect(fc.figuresFile).toBe(`${large}, ${small}`);

    const text = await runCli(['estimate', '--figures', small, large, '--write-rate', '10', '--config', cfg.file, '--env', 'real']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/calibrated on 2 rehearsals \(10000 rows, 40000 rows\): per phase a fixed cost plus a cost per row/);
  });

  test('fails (exit 1, NO-GO) when apply is not faster than the write rate', async () => {
    writeFileSync(figuresFile, JSON.stringify(figures(40)));
    const r = await runCli(['estimate', '--figures', figuresFile, '--write-rate', '50', '--config', cfg.file, '--env', 'real']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NO-GO[\s\S]*apply capacity 40 changes\/s is not above the write rate 50/);
  });

  test('fails (exit 2, USAGE) without rehearsal figures, naming the file and the fix', async () => {
    const r = await runCli(['estimate', '--figures', path.join(cfg.dir, 'none.json'), '--write-rate', '1', '--config', cfg.file, '--env', 'real']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/USAGE: no rehearsal figures at .*none\.json[\s\S]*npm start/);
  });
});
