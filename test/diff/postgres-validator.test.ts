import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { ReplicationStatus, Replicator, ValidationReport } from '../../lib/platform/roles.ts';
import { FORWARD_MAPPING, mutateTarget, nextUlp, replicateByCopy, SOURCE_DDL, TARGET_DDL, type Expected } from './legacy-fixture.ts';
import { startServerPair, type ServerPair } from './server-pair.ts';
import { testEnvironment } from './validation-env.ts';

let servers: ServerPair;
let source: pg.Client;
let target: pg.Client;
let dir: string;
let env: ResolvedPostgresEnvironment;

beforeAll(async () => {
  servers = await startServerPair('cutover-validate');
  ({ source, target, dir } = servers);
  await source.query(SOURCE_DDL);
  await target.query(TARGET_DDL);
  env = testEnvironment({ dir, sourceUrl: servers.sourceServer.url, targetUrl: servers.targetServer.url, forward: FORWARD_MAPPING, validation: { chunkRows: 250, concurrency: 3 } });
});

afterAll(async () => {
  await servers?.dispose();
});

beforeEach(async () => {
  await replicateByCopy(source, target);
  await target.query('drop schema if exists _cutover cascade');
});

function keys(list: readonly Record<string, unknown>[]): string[] {
  return list.map((x) => JSON.stringify(x)).sort();
}

function expectExactly(report: ValidationReport, expected: Record<string, Expected>): void {
  for (const [table, e] of Object.entries(expected)) {
    const t = report.tables.find((x) => x.source === table)!;
    expect({ table, missing: keys(t.missing), extra: keys(t.extra), different: keys(t.different) }).toEqual({
      table,
      missing: [...e.missing].sort(),
      extra: [...e.extra].sort(),
      different: [...e.different].sort(),
    });
  }
}

describe('PostgresValidator', () => {
  test('reports no difference on equal data across renamed, removed, added and filtered columns', async () => {
    const report = await new PostgresValidator(env, new RecordingOutput()).validate();
    expect(report.tables.map((t) => [t.source, t.target]).sort()).toEqual([
      ['public.t_code', 'public.codes'],
      ['public.t_cust', 'public.customers'],
      ['public.t_order', 'public.orders'],
      ['public.t_tag', 'public.tags'],
    ]);
    for (const t of report.tables) expect({ t: t.source, m: t.missing, e: t.extra, d: t.different }).toEqual({ t: t.source, m: [], e: [], d: [] });
    expect(report.equal).toBe(true);
    const orders = report.tables.find((t) => t.source === 'public.t_order')!;
    expect(orders.sourceRows).toBe(orders.targetRows);
    expect(orders.sourceRows).toBe(2100 - 53 * 3);
    expect(report.figures.mismatchedChunks).toBe(0);
    expect(report.figures.unexplainedChunks).toBe(0);
    expect(report.figures.chunks).toBeGreaterThan(20);
  });

  test('finds every injected difference exactly: NULL<->value, one-ulp floats, timestamp shifts, Chinese text, composite, uuid and text keys', async () => {
    const expected = await mutateTarget(target, 42, 60);
    const report = await new PostgresValidator(env, new RecordingOutput()).validate();
    expect(report.equal).toBe(false);
    expectExactly(report, expected);
    const cust = report.tables.find((t) => t.source === 'public.t_cust')!;
    expect(cust.samples.length).toBeGreaterThan(0);
    expect(cust.samples[0]).toHaveProperty('column');
    // only mismatching chunks ship rows
    expect(report.figures.rowsFetched).toBeLessThan(report.figures.rowsCompared);
    const codes = report.tables.find((t) => t.source === 'public.t_code')!;
    expect(codes.chunks.mismatched).toBeLessThan(codes.chunks.total);
  });

  test('narrows large mismatching buckets inside the databases: exact keys, few rows shipped (integer, composite, uuid and text keys)', async () => {
    // 4,000-row chunks: 500-row buckets, narrowed before any row is shipped
    const wide = testEnvironment({ dir: path.join(dir, 'wide'), sourceUrl: servers.sourceServer.url, targetUrl: servers.targetServer.url, forward: FORWARD_MAPPING, validation: { chunkRows: 4000, concurrency: 2 } });
    const expected = await mutateTarget(target, 5, 10);
    const report = await new PostgresValidator(wide, new RecordingOutput()).validate();
    expectExactly(report, expected);
    const differences = Object.values(expected).reduce((n, e) => n + e.missing.size + e.extra.size + e.different.size, 0);
    // a whole bucket per difference would ship ~1,000 rows each; narrowed leaves ship a few dozen
    expect(report.figures.rowsFetched).toBeLessThan(differences * 250);
    expect(report.figures.rowsFetched).toBeLessThan(report.figures.rowsCompared / 3);
  });

  test('writes repair SQL in target terms that makes the target equal', async () => {
    await mutateTarget(target, 7, 30);
    const file = path.join(dir, 'repair.sql');
    const first = await new PostgresValidator(env, new RecordingOutput()).validate({ repairSqlFile: file });
    expect(first.equal).toBe(false);
    const sql = readFileSync(file, 'utf8');
    expect(sql).toContain('session_replication_role = replica');
    expect(sql).toContain('"public"."customers"');
    expect(sql).not.toContain('t_cust');
    await target.query(sql);
    const second = await new PostgresValidator(env, new RecordingOutput()).validate();
    expect(second.tables.filter((t) => t.missing.length || t.extra.length || t.different.length)).toEqual([]);
    expect(second.equal).toBe(true);
  });

  test('repair: true applies the repair in one transaction', async () => {
    await mutateTarget(target, 9, 12);
    const first = await new PostgresValidator(env, new RecordingOutput()).validate({ repair: true });
    expect(first.equal).toBe(false);
    expect(first.repaired).toBeGreaterThan(0);
    expect((await new PostgresValidator(env, new RecordingOutput()).validate()).equal).toBe(true);
  });

  test('repairs a green fenced read-only by a rollback, with repair: true and with the SQL file', async () => {
    // a rollback leaves green fenced (default_transaction_read_only on its database) while writes go
    // to blue, which is exactly when --repair is allowed; every new session inherits the fence
    const { rows } = await target.query<{ db: string }>('select current_database() as db');
    const db = `"${rows[0]!.db.replace(/"/g, '""')}"`;
    await target.query(`alter database ${db} set default_transaction_read_only = on`);
    try {
      await mutateTarget(target, 11, 12);
      const repaired = await new PostgresValidator(env, new RecordingOutput()).validate({ repair: true });
      expect(repaired.repaired).toBeGreaterThan(0);
      expect((await new PostgresValidator(env, new RecordingOutput()).validate()).equal).toBe(true);

      await mutateTarget(target, 13, 12);
      const file = path.join(dir, 'repair-fenced.sql');
      expect((await new PostgresValidator(env, new RecordingOutput()).validate({ repairSqlFile: file })).equal).toBe(false);
      // as an operator applies it: psql in a new session, which inherits the fence
      const operator = new pg.Client({ connectionString: servers.targetServer.url });
      await operator.connect();
      try {
        await operator.query(readFileSync(file, 'utf8'));
      } finally {
        await operator.end();
      }
      expect((await new PostgresValidator(env, new RecordingOutput()).validate()).equal).toBe(true);
    } finally {
      await target.query(`alter database ${db} reset default_transaction_read_only`);
    }
  });

  test('compares floats within validation.floatTolerance and reports changes beyond it', async () => {
    const tolerant = { ...env, validation: { ...env.validation, floatTolerance: 1e-6 } };
    const { rows } = await target.query<{ id: number; s: number }>('select id, score as s from customers where id in (50, 51, 52) order by id');
    await target.query('update customers set score = $2::float8 where id = $1', [50, String(nextUlp(rows[0]!.s))]);
    await target.query('update customers set score = $2::float8 where id = $1', [51, String(rows[1]!.s * (1 + 1e-9))]);
    await target.query('update customers set score = $2::float8 where id = $1', [52, String(rows[2]!.s * (1 + 1e-4))]);
    const report = await new PostgresValidator(tolerant, new RecordingOutput()).validate({ tables: ['public.t_cust'] });
    expect(keys(report.tables[0]!.different)).toEqual([JSON.stringify({ id: 52 })]);
    // with no tolerance every one of them is a difference
    const out = new RecordingOutput();
    const exact = await new PostgresValidator(env, out).validate({ tables: ['public.t_cust'], frozen: true });
    expect(keys(exact.tables[0]!.different)).toEqual([50, 51, 52].map((id) => JSON.stringify({ id })).sort());
    // every mismatching chunk is explained by its differences: no "hashed differently" warning
    expect(exact.figures.mismatchedChunks).toBeGreaterThan(0);
    expect(exact.figures.unexplainedChunks).toBe(0);
    expect(out.text()).not.toContain('hashed differently');
  });

  test('lag-aware: a difference replication fixes before the re-check is counted in flight, one that persists is reported', async () => {
    await target.query(`update customers set name = 'stale' where id in (100, 200)`);
    const waited: string[] = [];
    const replicator = fakeReplicator(async (position) => {
      waited.push(position);
      // replication catches up: row 100 was in flight, row 200 really differs
      await target.query(`update customers set name = '客户100' where id = 100`);
      return true;
    });
    const report = await new PostgresValidator(env, new RecordingOutput(), replicator).validate({ tables: ['public.t_cust'] });
    const cust = report.tables[0]!;
    expect(keys(cust.different)).toEqual([JSON.stringify({ id: 200 })]);
    expect(cust.inFlight).toBe(1);
    expect(waited.length).toBeGreaterThan(0);
    expect(waited.every((p) => p === '0/16B3748')).toBe(true);
    // frozen: no re-check, no waiting
    await target.query(`update customers set name = 'stale' where id = 100`);
    waited.length = 0;
    const frozen = await new PostgresValidator(env, new RecordingOutput(), replicator).validate({ tables: ['public.t_cust'], frozen: true });
    expect(keys(frozen.tables[0]!.different)).toEqual([100, 200].map((id) => JSON.stringify({ id })).sort());
    expect(waited).toEqual([]);
  });

  test('rows in the dead-letter table are listed as dead letters, not as missing', async () => {
    await target.query('delete from customers where id in (7, 8)');
    await target.query('create schema _cutover; create table _cutover.dead_letter (source_table text, source_key jsonb, error text)');
    await target.query(`insert into _cutover.dead_letter values ('public.t_cust', '{"id": 7}', 'check violation')`);
    const report = await new PostgresValidator(env, new RecordingOutput()).validate({ tables: ['public.t_cust'] });
    const cust = report.tables[0]!;
    expect(cust.deadLetter).toEqual([{ id: 7 }]);
    expect(cust.missing).toEqual([{ id: 8 }]);
  });

  test('fails if the only difference is a dead letter: a row the target refused is not on the target, never EQUAL', async () => {
    // trial6: rows of a new source partition green had no partition for were dead letters, and
    // validate said EQUAL with 2 source rows more than the target (the shift gate opened)
    await target.query('delete from customers where id = 9');
    await target.query('create schema _cutover; create table _cutover.dead_letter (source_table text, source_key jsonb, error text)');
    await target.query(`insert into _cutover.dead_letter values ('public.t_cust', '{"id": 9}', 'no partition of relation "customers" found for row')`);
    const out = new RecordingOutput();
    const report = await new PostgresValidator(env, out).validate({ tables: ['public.t_cust'] });
    expect(report.tables[0]).toMatchObject({ missing: [], extra: [], different: [], deadLetter: [{ id: 9 }] });
    expect(report.equal).toBe(false);
    expect(out.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^public\.t_cust -> public\.customers: .*missing 0, extra 0, different 0 \(dead letters 1\)$/) }));
  });

  test('a failing reconciliation fails equal; a passing one does not', async () => {
    const withChecks = (reconciliation: unknown[]) => ({ ...env, validation: { ...env.validation, reconciliation } }) as ResolvedPostgresEnvironment;
    const passing = {
      name: 'orders per status',
      source: `select status, count(*), sum(amount) from t_order where status <> 'INVALID' group by 1 order by 1`,
      target: `select status, count(*), sum(amount) from orders group by 1 order by 1`,
    };
    const ok = await new PostgresValidator(withChecks([passing]), new RecordingOutput()).validate({ tables: ['public.t_order'] });
    expect(ok.reconciliation).toEqual([expect.objectContaining({ name: 'orders per status', equal: true })]);
    expect(ok.equal).toBe(true);
    const failing = { name: 'orders count', source: 'select count(*) from t_order', target: 'select count(*) from orders' };
    const bad = await new PostgresValidator(withChecks([passing, failing]), new RecordingOutput()).validate({ tables: ['public.t_order'] });
    expect(bad.tables[0]!.different).toEqual([]);
    expect(bad.reconciliation.find((r) => r.name === 'orders count')).toMatchObject({ equal: false, source: [['2100']], target: [['1941']] });
    expect(bad.equal).toBe(false);
  });

  test('a filter that selects none of a table\'s rows compared nothing: refused naming the table and the filter, never equal; an empty table is equal', async () => {
    await source.query("create table t_ship (id int primary key, status text); insert into t_ship select g, 'shipped' from generate_series(1, 100) g");
    await target.query('create table t_ship (id int primary key, status text)');
    const rule = (value: string) => ({
      rules: [
        {
          'rule-type': 'selection',
          'rule-id': '1',
          'rule-name': 'select-t_ship',
          'object-locator': { 'schema-name': 'public', 'table-name': 't_ship' },
          'rule-action': 'include',
          filters: [{ 'filter-type': 'source', 'column-name': 'status', 'filter-conditions': [{ 'filter-operator': 'eq', value }] }],
        },
      ],
    });
    const envWith = (value: string) => testEnvironment({ dir: path.join(dir, `ship-${value}`), sourceUrl: servers.sourceServer.url, targetUrl: servers.targetServer.url, forward: rule(value) });
    try {
      // misspelt: selects none of the 100 rows, and the target (loaded by the same mapping) has none
      const err = await new PostgresValidator(envWith('shiped'), new RecordingOutput()).validate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverError);
      expect((err as CutoverError).code).toBe('MAPPING_INVALID');
      expect((err as CutoverError).message).toContain('public.t_ship');
      expect(JSON.stringify((err as CutoverError).details.received)).toContain('shiped');
      // the right value: 100 rows missing on the target, reported as differences
      const right = await new PostgresValidator(envWith('shipped'), new RecordingOutput()).validate();
      expect(right.equal).toBe(false);
      expect(right.tables[0]!.missing).toHaveLength(100);
      // an empty source table: nothing to miss, equal over 0 rows
      await source.query('truncate t_ship');
      const empty = await new PostgresValidator(envWith('shiped'), new RecordingOutput()).validate();
      expect(empty.equal).toBe(true);
    } finally {
      await source.query('drop table t_ship');
      await target.query('drop table t_ship');
    }
  });

  test('fails if a mapped target table does not exist', async () => {
    await target.query('alter table codes rename to codes_old');
    try {
      const err = await new PostgresValidator(env, new RecordingOutput()).validate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverError);
      expect((err as CutoverError).code).toBe('MAPPING_INVALID');
      expect((err as CutoverError).message).toContain('public.codes');
    } finally {
      await target.query('alter table codes_old rename to codes');
    }
  });
});

function fakeReplicator(wait: (position: string) => Promise<boolean>): Replicator {
  const status: ReplicationStatus = { phase: 'cdc', direction: 'forward', lagMs: 0, lagBytes: 0, appliedRowsPerSec: 0, tables: [], deadLetters: 0 };
  return {
    direction: 'forward',
    start: async () => status,
    status: async () => status,
    stop: async () => {},
    sourcePosition: async () => '0/16B3748',
    waitForPosition: (position) => wait(position),
    teardown: async () => {},
  };
}
