import { describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { compileFilters, parseTableMappings, resolveTableMappings } from '../../lib/mappings/index.ts';
import type { ColumnFilter } from '../../lib/mappings/types.ts';
import { matchesPattern } from '../../lib/mappings/wildcard.ts';
import { cainiao, catalog, select, table } from './fixtures.ts';

const resolve = (rules: Record<string, unknown>[], cat = cainiao) => resolveTableMappings(parseTableMappings({ rules }), cat);
const names = (r: ReturnType<typeof resolve>) => r.tables.map((t) => `${t.source.schema}.${t.source.table}`).sort();

function filterRule(id: string, tableName: string, filters: unknown[]): Record<string, unknown> {
  return select('cainiao', tableName, 'include', { 'rule-id': id, filters });
}
const f = (column: string, ...conditions: Record<string, string>[]) => ({ 'filter-type': 'source', 'column-name': column, 'filter-conditions': conditions });

describe('DMS wildcards', () => {
  test('% is any run, _ one character, [_] a literal underscore, [ab] a set, [a-d] a range; names are case-sensitive', () => {
    expect(matchesPattern('%', '')).toBe(true);
    expect(matchesPattern('t_%', 'tmp_import')).toBe(true);
    expect(matchesPattern('t[_]%', 'tmp_import')).toBe(false);
    expect(matchesPattern('t[_]%', 't_order')).toBe(true);
    expect(matchesPattern('t_order_[0-9]', 't_order_7')).toBe(true);
    expect(matchesPattern('[ab]x', 'bx')).toBe(true);
    expect(matchesPattern('[a-d]x', 'ex')).toBe(false);
    expect(matchesPattern('DMS%', 'dms_audit')).toBe(false);
    expect(matchesPattern('订单%', '订单明细')).toBe(true);
    expect(matchesPattern('a.b', 'aXb')).toBe(false);
  });
});

describe('selection rules', () => {
  test('includes every table of a schema with %', () => {
    expect(names(resolve([select('cainiao', '%')]))).toEqual(['cainiao.DMS_audit', 'cainiao.t_customer', 'cainiao.t_order', 'cainiao.t_order_item', 'cainiao.tmp_import']);
  });

  test('an exclude rule wins over an include rule, and is reported with its rule id', () => {
    const r = resolve([select('cainiao', '%', 'include', { 'rule-id': '1' }), select('cainiao', 'DMS%', 'exclude', { 'rule-id': '2' }), select('cainiao', 'tmp%', 'exclude', { 'rule-id': '3' })]);
    expect(names(r)).toEqual(['cainiao.t_customer', 'cainiao.t_order', 'cainiao.t_order_item']);
    expect(r.excluded).toEqual([
      { schema: 'cainiao', table: 'DMS_audit', ruleId: '2' },
      { schema: 'cainiao', table: 'tmp_import', ruleId: '3' },
    ]);
  });

  test('exclude wins even over an explicit rule for the same table', () => {
    const r = resolve([select('cainiao', 't_order', 'explicit', { 'rule-id': '1' }), select('cainiao', 't%', 'exclude', { 'rule-id': '2' })]);
    expect(r.tables).toHaveLength(0);
    expect(r.excluded.map((e) => e.table)).toContain('t_order');
  });

  test('explicit selects one exact table (its _ is not a wildcard)', () => {
    const cat = catalog(table('s', 'a_b', ['id int'], ['id']), table('s', 'axb', ['id int'], ['id']));
    expect(names(resolve([select('s', 'a_b', 'explicit')], cat))).toEqual(['s.a_b']);
    expect(names(resolve([select('s', 'a_b', 'include')], cat))).toEqual(['s.a_b', 's.axb']);
  });

  test('load-order: higher loads first; a table takes the highest of its selecting rules', () => {
    const r = resolve([
      select('cainiao', 't_order_item', 'include', { 'load-order': '1' }),
      select('cainiao', 't_customer', 'include', { 'load-order': 3 }),
      select('cainiao', 't_order', 'include', { 'load-order': '2' }),
      select('cainiao', 't[_]%', 'include', { 'load-order': '0' }),
    ]);
    expect(r.tables.map((t) => `${t.source.table}:${t.loadOrder}`)).toEqual(['t_customer:3', 't_order:2', 't_order_item:1']);
  });

  test('reports tables without a primary key and rules that matched nothing', () => {
    const r = resolve([select('cainiao', 'tmp%'), select('nowhere', '%', 'include', { 'rule-id': 'ghost' })]);
    expect(r.withoutPrimaryKey).toEqual(['cainiao.tmp_import']);
    expect(r.notes.join('\n')).toContain('rule ghost');
  });
});

describe('selection filters', () => {
  test('gte on a bigint column: SQL over the source column and the same row test', () => {
    const r = resolve([filterRule('1', 't_order', [f('order_id', { 'filter-operator': 'gte', value: '100' })])]);
    const t = r.tables[0]!;
    expect(t.filterSql).toBe(`"order_id" >= '100'::bigint`);
    const { test: pass } = compileFilters(t.filters, t.sourceColumns);
    expect([99, 100, '101', null].map((order_id) => pass({ order_id }))).toEqual([false, true, true, false]);
  });

  test('conditions on one column are OR-ed: ste OR between OR gte', () => {
    const r = resolve([
      filterRule('1', 't_order', [
        f('order_id', { 'filter-operator': 'ste', value: '10' }, { 'filter-operator': 'between', 'start-value': '50', 'end-value': '75' }, { 'filter-operator': 'gte', value: '100' }),
      ]),
    ]);
    const t = r.tables[0]!;
    expect(t.filterSql).toBe(`("order_id" <= '10'::bigint OR ("order_id" >= '50'::bigint AND "order_id" <= '75'::bigint) OR "order_id" >= '100'::bigint)`);
    const { test: pass } = compileFilters(t.filters, t.sourceColumns);
    expect([5, 10, 11, 50, 60, 75, 76, 99, 100, 1000].filter((order_id) => pass({ order_id }))).toEqual([5, 10, 50, 60, 75, 100, 1000]);
  });

  test('filters are AND-ed: amount <= 100 AND status = paid', () => {
    const r = resolve([filterRule('1', 't_order', [f('amount', { 'filter-operator': 'ste', value: '100' }), f('status', { 'filter-operator': 'eq', value: 'paid' })])]);
    const t = r.tables[0]!;
    expect(t.filterSql).toBe(`"amount" <= '100'::numeric(12,2) AND "status" COLLATE "C" = 'paid'`);
    const { test: pass } = compileFilters(t.filters, t.sourceColumns);
    expect(pass({ amount: '99.99', status: 'paid' })).toBe(true);
    expect(pass({ amount: '100.00', status: 'paid' })).toBe(true);
    expect(pass({ amount: '100.01', status: 'paid' })).toBe(false);
    expect(pass({ amount: '5', status: 'void' })).toBe(false);
  });

  test('null and notnull; noteq and notbetween leave NULLs out', () => {
    const cols = cainiao.tables.find((t) => t.table === 't_customer')!.columns;
    const run = (filters: ColumnFilter[], row: Record<string, unknown>) => compileFilters(filters, cols).test(row);
    expect(run([{ column: 'cust_email', conditions: [{ operator: 'null' }] }], { cust_email: null })).toBe(true);
    expect(run([{ column: 'cust_email', conditions: [{ operator: 'null' }] }], { cust_email: 'a@b' })).toBe(false);
    expect(run([{ column: 'cust_email', conditions: [{ operator: 'notnull' }] }], { cust_email: 'a@b' })).toBe(true);
    expect(run([{ column: 'cust_id', conditions: [{ operator: 'noteq', value: '50' }] }], { cust_id: null })).toBe(false);
    expect(run([{ column: 'cust_id', conditions: [{ operator: 'noteq', value: '50' }] }], { cust_id: '51' })).toBe(true);
    expect(run([{ column: 'cust_id', conditions: [{ operator: 'notbetween', start: '50', end: '75' }] }], { cust_id: 49 })).toBe(true);
    expect(run([{ column: 'cust_id', conditions: [{ operator: 'notbetween', start: '50', end: '75' }] }], { cust_id: 60 })).toBe(false);
    expect(compileFilters([{ column: 'cust_email', conditions: [{ operator: 'notnull' }] }], cols).sql).toBe('"cust_email" IS NOT NULL');
  });

  test('dates, timestamptz (UTC when no offset), char(n) and Chinese text compare by type, from node-pg values or text', () => {
    const cols = [...cainiao.tables.find((t) => t.table === 't_order')!.columns, ...cainiao.tables.find((t) => t.table === 't_customer')!.columns];
    const run = (column: string, cond: Record<string, string>, v: unknown) =>
      compileFilters([{ column, conditions: [cond as never] }], cols).test({ [column]: v });
    expect(run('placed_on', { operator: 'gte', value: '2002-01-01' }, new Date(2002, 0, 1))).toBe(true);
    expect(run('placed_on', { operator: 'gte', value: '2002-01-01' }, '2001-12-31')).toBe(false);
    expect(run('created_at', { operator: 'gte', value: '2024-01-01 00:00:00' }, new Date('2023-12-31T23:59:59Z'))).toBe(false);
    expect(run('created_at', { operator: 'gte', value: '2024-01-01 00:00:00' }, '2024-01-01 08:00:00+08')).toBe(true);
    expect(run('country', { operator: 'eq', value: 'CN' }, 'CN')).toBe(true);
    expect(run('status', { operator: 'between', start: '北京', end: '上海' }, '北京')).toBe(false); // 北 U+5317 > 上 U+4E0A
    expect(run('status', { operator: 'between', start: '上海', end: '北京' }, '中国')).toBe(true); // 中 U+4E2D
    expect(compileFilters([{ column: 'created_at', conditions: [{ operator: 'gte', value: '2024-01-01' }] }], cols).sql).toBe(
      `"created_at" >= ('2024-01-01'::timestamp AT TIME ZONE 'UTC')`,
    );
  });

  test('fails if a filter names a missing column (MAPPING_INVALID) or compares a jsonb column (MAPPING_UNSUPPORTED)', () => {
    const err = (rules: Record<string, unknown>[]) => {
      try {
        resolve(rules);
      } catch (e) {
        return e as CutoverError;
      }
      throw new Error('expected an error');
    };
    const missing = err([filterRule('f-missing', 't_order', [f('nope', { 'filter-operator': 'eq', value: '1' })])]);
    expect(missing.code).toBe('MAPPING_INVALID');
    expect(missing.details.problems?.[0]).toContain('rule f-missing');
    const json = err([filterRule('f-json', 'DMS_audit', [f('payload', { 'filter-operator': 'eq', value: '{}' })])]);
    expect(json.code).toBe('MAPPING_UNSUPPORTED');
    expect(json.details.problems?.[0]).toContain('rule f-json');
    const badValue = err([filterRule('f-int', 't_order', [f('order_id', { 'filter-operator': 'gte', value: 'ten' })])]);
    expect(badValue.code).toBe('MAPPING_UNSUPPORTED');
    expect(badValue.details.problems?.[0]).toMatch(/"ten" is not a valid bigint/);
  });

  test('fails if two selection rules both filter one table (MAPPING_INVALID)', () => {
    expect(() =>
      resolve([filterRule('a', 't_order', [f('order_id', { 'filter-operator': 'gte', value: '1' })]), filterRule('b', 't_order', [f('status', { 'filter-operator': 'eq', value: 'x' })])]),
    ).toThrowError(expect.objectContaining({ code: 'MAPPING_INVALID' }));
  });
});
