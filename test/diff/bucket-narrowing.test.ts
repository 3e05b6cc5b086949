import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { ValidationReport } from '../../lib/platform/roles.ts';
import { startServerPair, type ServerPair } from './server-pair.ts';
import { testEnvironment } from './validation-env.ts';

/**
 * Narrowing a mismatching bucket inside the databases (bucket-narrowing.ts), several chunks' at a
 * time (mismatch-batches.ts): integer sub-ranges for dense integer keys, key-hash groups for
 * sparse integer keys, open-ended buckets and text keys, more than one step for large buckets,
 * runs of differences, and the row transformer's tables (not narrowed: the whole chunk is
 * diffed). Every difference is found exactly, and a scattered one ships a few dozen rows, not its
 * bucket.
 */
let servers: ServerPair;
let source: pg.Client;
let target: pg.Client;

const DDL = `
  create table dense (id bigint primary key, payload text, amount numeric(12,2));
  create table sparse (id bigint primary key, payload text);
  create table texty (code text primary key, payload text);`;
const FILL = `
  truncate dense, sparse, texty;
  insert into dense select g, 'row ' || g, g * 0.25 from generate_series(1, 20000) g;
  insert into sparse select g, 's' || g from generate_series(1, 3000) g;
  insert into sparse select 1000000000000 + g, 's' || g from generate_series(1, 3000) g;
  insert into texty select 'K' || lpad(g::text, 6, '0'), 'text ' || g from generate_series(1, 6000) g;`;

beforeAll(async () => {
  servers = await startServerPair('cutover-narrowing');
  ({ source, target } = servers);
  await Promise.all([source.query(DDL), target.query(DDL)]);
  // compared through the row transformer: `$qty / 2` has no PostgreSQL form
  await source.query(`create table halves (id int primary key, qty int)`);
  await target.query(`create table halves (id int primary key, qty int, half int)`);
}, 30_000);

afterAll(async () => {
  await servers?.dispose();
});

beforeEach(async () => {
  await Promise.all([source.query(FILL), target.query(FILL)]);
});

function environment(name: string, chunkRows: number) {
  const select = (id: string, table: string) => ({ 'rule-type': 'selection', 'rule-id': id, 'rule-name': `s${id}`, 'object-locator': { 'schema-name': 'public', 'table-name': table }, 'rule-action': 'include' });
  return testEnvironment({
    dir: path.join(servers.dir, name),
    sourceUrl: servers.sourceServer.url,
    targetUrl: servers.targetServer.url,
    forward: { rules: [select('1', 'dense'), select('2', 'sparse'), select('3', 'texty')] },
    validation: { chunkRows, concurrency: 2 },
  });
}

function differences(report: ValidationReport, table: string) {
  const t = report.tables.find((x) => x.source === `public.${table}`)!;
  const keys = (list: readonly Record<string, unknown>[]) => list.map((k) => Object.values(k)[0]).sort((a, b) => String(a).localeCompare(String(b), 'en', { numeric: true }));
  return { missing: keys(t.missing), extra: keys(t.extra), different: keys(t.different) };
}

describe('narrowing mismatching buckets', () => {
  test('finds scattered differences exactly with a few rows shipped each: dense and sparse integer keys, open-ended buckets, text keys', async () => {
    await target.query(`
      update dense set payload = payload || '*' where id in (17, 5000, 12345, 19999);
      delete from dense where id in (777, 15001);
      insert into dense values (-5, 'below the source keys', 0), (25000, 'above them', 0);
      update sparse set payload = 'changed' where id in (42, 1000000002500);
      delete from sparse where id = 1000000000007;
      update texty set payload = null where code in ('K000001', 'K003333');
      delete from texty where code = 'K005999';
      insert into texty values ('ZZZ', 'extra');`);
    const report = await new PostgresValidator(environment('scattered', 8000), new RecordingOutput()).validate({ frozen: true });
    expect(differences(report, 'dense')).toEqual({ missing: [777, 15001], extra: [-5, 25000], different: [17, 5000, 12345, 19999] });
    expect(differences(report, 'sparse')).toEqual({ missing: [1000000000007], extra: [], different: [42, 1000000002500] });
    expect(differences(report, 'texty')).toEqual({ missing: ['K005999'], extra: ['ZZZ'], different: ['K000001', 'K003333'] });
    // 1,000-row buckets: a bucket per difference would ship ~2,000 rows each; narrowed, ~200
    // (besides a row per bucket and side, and the text key's chunk boundaries)
    const hashed = report.figures.chunks * 16 + 6000 / 1000;
    expect(report.figures.rowsFetched - hashed).toBeLessThan(16 * 250);
  });

  test('runs of differences and differences spread over a whole bucket are reported row by row', async () => {
    await target.query(`
      delete from dense where id between 3001 and 3400;
      update dense set amount = amount + 1 where id between 9100 and 9299;
      update dense set payload = 'every 32nd' where id between 6001 and 7000 and id % 32 = 0`);
    const report = await new PostgresValidator(environment('run', 8000), new RecordingOutput()).validate({ frozen: true, tables: ['public.dense'] });
    const d = differences(report, 'dense');
    expect(d.missing).toEqual(Array.from({ length: 400 }, (_, i) => 3001 + i));
    const spread = Array.from({ length: 1000 }, (_, i) => 6001 + i).filter((id) => id % 32 === 0);
    expect(d.different).toEqual([...spread, ...Array.from({ length: 200 }, (_, i) => 9100 + i)]);
    expect(d.extra).toEqual([]);
  });

  test('a table compared through the row transformer is diffed over its whole mismatching chunk', async () => {
    await source.query(`truncate halves; insert into halves select g, g from generate_series(1, 2000) g`);
    await target.query(`truncate halves; insert into halves select g, g, g / 2 from generate_series(1, 2000) g`);
    // in the last buckets of their 800-row chunks
    await target.query(`update halves set half = half + 1 where id in (750, 1590); delete from halves where id = 1999`);
    const env = testEnvironment({
      dir: path.join(servers.dir, 'halves'),
      sourceUrl: servers.sourceServer.url,
      targetUrl: servers.targetServer.url,
      forward: {
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'halves', 'object-locator': { 'schema-name': 'public', 'table-name': 'halves' }, 'rule-action': 'include' },
          {
            'rule-type': 'transformation',
            'rule-id': '2',
            'rule-name': 'half',
            'rule-target': 'column',
            'object-locator': { 'schema-name': 'public', 'table-name': 'halves' },
            'rule-action': 'add-column',
            value: 'half',
            expression: '$qty / 2',
            'data-type': { type: 'int4' },
          },
        ],
      },
      validation: { chunkRows: 800, concurrency: 2 },
    });
    const out = new RecordingOutput();
    const report = await new PostgresValidator(env, out).validate({ frozen: true });
    expect(out.text()).toContain('row transformer');
    expect(differences(report, 'halves')).toEqual({ missing: [1999], extra: [], different: [750, 1590] });
  });

  test('narrows a large bucket in more than one step', async () => {
    // 400,000-row chunks: 50,000-row buckets, more rows than one step's 1,024 groups narrow to a
    // leaf; 4242 is in the open first bucket (key-hash groups), 77777 in a bounded one (sub-ranges)
    const more = `insert into dense select g, 'row ' || g, g * 0.25 from generate_series(20001, 150000) g; analyze dense`;
    await Promise.all([source.query(more), target.query(more)]);
    await target.query(`update dense set payload = 'x' where id in (4242, 77777)`);
    const report = await new PostgresValidator(environment('deep', 400_000), new RecordingOutput()).validate({ frozen: true, tables: ['public.dense'] });
    expect(differences(report, 'dense')).toEqual({ missing: [], extra: [], different: [4242, 77777] });
    // per bucket and side 1,024 groups in the first step, a few in the second, then a leaf
    expect(report.figures.rowsFetched).toBeLessThan(2 * 2 * 1024 + 300);
  });
});
