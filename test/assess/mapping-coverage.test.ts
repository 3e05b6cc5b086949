import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresInspector } from '../../lib/assess/postgres-inspector.ts';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { AssessReport } from '../../lib/platform/roles.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { renameColumn, renameTable, testEnvironment } from '../diff/validation-env.ts';

/**
 * assess against real servers: a mapping rule that names nothing on its side is a blocker (a typo
 * silently drops a table), and so is a forward target the reverse mapping does not bring back
 * (green's writes to it would be lost on rollback) unless replication.reverseExempt names it.
 */
let server: Awaited<ReturnType<typeof startTestPostgres>>;
let dir: string;

const select = (id: string, table: string) => ({
  'rule-type': 'selection', 'rule-id': id, 'rule-name': `s${id}`, 'object-locator': { 'schema-name': 'public', 'table-name': table }, 'rule-action': 'include',
});
const forwardRules = (orderTable = 't_order', nameColumn = 'cust_nm') => ({
  rules: [
    select('1', 't_customer'),
    renameTable('2', 't_customer', 'customers'),
    renameColumn('3', 't_customer', 'cust_id', 'id'),
    select('4', orderTable),
    renameTable('5', 't_order', 'orders'),
    renameColumn('6', 't_order', 'order_id', 'id'),
    renameColumn('7', 't_customer', nameColumn, 'name'),
  ],
});
/** Green -> blue for `tables`; `select` may name a table green lacks (a typo). */
const reverseRules = (tables: string[], selectAs: string[] = tables) => ({
  rules: [
    ...selectAs.map((t, i) => select(`s${i}`, t)),
    ...(tables.includes('customers')
      ? [renameTable('r1', 'customers', 't_customer'), renameColumn('r2', 'customers', 'id', 'cust_id'), renameColumn('r3', 'customers', 'name', 'cust_nm')]
      : []),
    ...(tables.includes('orders') ? [renameTable('r4', 'orders', 't_order'), renameColumn('r5', 'orders', 'id', 'order_id')] : []),
  ],
});

function environment(name: string, forward: unknown, reverse: unknown, reverseExempt?: { table: string; reason: string }[]): ResolvedPostgresEnvironment {
  const sub = path.join(dir, name);
  const env = testEnvironment({ dir: sub, sourceUrl: server.urlFor('blue'), targetUrl: server.urlFor('green'), forward });
  writeFileSync(path.join(sub, 'reverse.json'), JSON.stringify(reverse));
  return reverseExempt ? { ...env, replication: { ...env.replication, reverseExempt } } : env;
}
const assess = (env: ResolvedPostgresEnvironment): Promise<AssessReport> => new PostgresInspector(env, new RecordingOutput()).assess();
const blockers = (r: AssessReport) => r.findings.filter((f) => f.severity === 'blocker');

beforeAll(async () => {
  server = await startTestPostgres('postgres');
  await server.createDatabase('blue');
  await server.createDatabase('green');
  const blue = await connect(server.urlFor('blue'));
  const green = await connect(server.urlFor('green'));
  await blue.query(`create table t_customer (cust_id int primary key, cust_nm text);
    create table t_order (order_id int primary key, cust_id int, amt numeric(12,2));
    insert into t_customer values (1, 'a'); insert into t_order values (1, 1, 9.5);`);
  await green.query(`create table customers (id int primary key, name text);
    create table orders (id int primary key, cust_id int, amt numeric(12,2));`);
  await Promise.all([blue.end(), green.end()]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-assess-coverage-'));
});

afterAll(async () => {
  await server?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('assess: mapping rules and reverse coverage', () => {
  test('passes with a forward mapping whose rules all match and a reverse mapping covering every target', async () => {
    const report = await assess(environment('clean', forwardRules(), reverseRules(['customers', 'orders'])));
    expect(blockers(report)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  test('fails if a selection rule names a missing table: a blocker with the rule id and the closest table', async () => {
    const report = await assess(environment('typo-table', forwardRules('t_orderz'), reverseRules(['customers', 'orders'])));
    expect(report.ok).toBe(false);
    const f = report.findings.find((x) => x.id === 'mapping-rule-matches-nothing')!;
    expect(f.severity).toBe('blocker');
    expect(f.message).toContain('rule 4 (include) selects public.t_orderz: no such table on the source (did you mean public.t_order?)');
    expect(f.sampleKeys).toEqual([{ rule: '4', value: 'public.t_orderz' }]);
  });

  test('fails if a column rename names a missing column: the blocker names the bad value, not only its consequence', async () => {
    const report = await assess(environment('typo-column', forwardRules('t_order', 'cust_name_typo'), reverseRules(['customers', 'orders'])));
    const f = report.findings.find((x) => x.id === 'mapping-rule-matches-nothing')!;
    expect(f).toMatchObject({ severity: 'blocker', sampleKeys: [{ rule: '7', value: 'cust_name_typo' }] });
    expect(f.message).toContain('rule 7 (rename column) names column cust_name_typo of public.t_customer: no such column on the source');
  });

  test('fails if a forward target is not in the reverse mapping; passes once exempted, reporting the reason', async () => {
    const uncovered = await assess(environment('uncovered', forwardRules(), reverseRules(['orders'])));
    expect(uncovered.ok).toBe(false);
    expect(blockers(uncovered).map((f) => [f.id, f.table])).toEqual([['reverse-coverage-missing', 'public.customers']]);
    expect(blockers(uncovered)[0]!.handling).toContain('replication.reverseExempt');

    const reason = 'customers are created on blue only; green never writes them';
    const exempted = await assess(environment('exempted', forwardRules(), reverseRules(['orders']), [{ table: 'public.customers', reason }]));
    expect(exempted.ok).toBe(true);
    expect(exempted.findings.find((f) => f.id === 'reverse-coverage-exempt')).toMatchObject({ severity: 'info', table: 'public.customers', message: expect.stringContaining(reason) });
  });

  test('the switch asks the same question at the point of no return: a refusal naming the green table, none once exempted', async () => {
    const inspector = (env: ResolvedPostgresEnvironment) => new PostgresInspector(env, new RecordingOutput());
    const refusal = await inspector(environment('switch-uncovered', forwardRules(), reverseRules(['orders']))).reverseCoverageRefusal();
    expect(refusal).toMatch(/a rollback would lose green's writes to public\.customers/);
    expect(refusal).toContain('replication.reverseExempt');
    const exempt = [{ table: 'public.customers', reason: 'written on blue only' }];
    expect(await inspector(environment('switch-exempted', forwardRules(), reverseRules(['orders']), exempt)).reverseCoverageRefusal()).toBeNull();
    expect(await inspector(environment('switch-covered', forwardRules(), reverseRules(['customers', 'orders']))).reverseCoverageRefusal()).toBeNull();
  });

  test('fails if the reverse mapping names a table green does not have', async () => {
    const report = await assess(environment('reverse-typo', forwardRules(), reverseRules(['customers'], ['customers', 'order'])));
    const messages = blockers(report).map((f) => f.message);
    expect(messages.some((m) => m.includes('reverse.json') && m.includes('selects public.order: no such table on the target (did you mean public.orders?)'))).toBe(true);
    expect(blockers(report).map((f) => f.id)).toContain('reverse-coverage-missing');
  });
});
