import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkMappingsFile, findUnmatchedRules, parseTableMappings } from '../../lib/mappings/index.ts';
import { closestName } from '../../lib/mappings/closest-name.ts';
import { cainiao, select, transform } from './fixtures.ts';

const unmatched = (...rules: Record<string, unknown>[]) => findUnmatchedRules(parseTableMappings({ rules }), cainiao);
const orders = select('cainiao', 't_order', 'include', { 'rule-id': 'sel-order' });

describe('findUnmatchedRules: selection rules', () => {
  test('fails if a literal table name selects nothing: an error with the rule id and the closest source table', () => {
    const [u, ...rest] = unmatched(orders, select('cainiao', 't_orderz', 'include', { 'rule-id': '4' }));
    expect(rest).toEqual([]);
    expect(u).toMatchObject({ ruleId: '4', severity: 'error', value: 'cainiao.t_orderz' });
    expect(u!.message).toBe('rule 4 (include) selects cainiao.t_orderz: no such table on the source (did you mean cainiao.t_order?)');
  });

  test('fails if an explicit rule or a wrong schema selects nothing; lists the tables when nothing is close', () => {
    const found = unmatched(orders, select('cainaio', 't_order', 'explicit', { 'rule-id': 'x' }), select('cainiao', 'zzzzzzzzzzzz', 'include', { 'rule-id': 'far' }));
    expect(found.map((u) => [u.ruleId, u.severity])).toEqual([
      ['x', 'error'],
      ['far', 'error'],
    ]);
    expect(found[0]!.message).toContain('did you mean cainiao.t_order?');
    expect(found[1]!.message).toMatch(/source tables: .*cainiao\.t_customer/);
  });

  test('a pattern that matches nothing is a warning, and a literal underscore name still counts as a name', () => {
    const found = unmatched(orders, select('cainiao', 't_arch%', 'include', { 'rule-id': 'p' }), select('archive', 't[_]order[_]2020', 'include', { 'rule-id': 'lit' }));
    expect(found.map((u) => [u.ruleId, u.severity])).toEqual([
      ['p', 'warning'],
      ['lit', 'error'],
    ]);
    expect(found[0]!.message).toBe('rule p (include) pattern cainiao.t_arch% matches no source table');
    expect(found[1]!.message).toContain('did you mean archive.t_order_2019?');
  });

  test('a rule that matches a table is never reported, whatever the other rules do', () => {
    expect(unmatched(select('cainiao', '%', 'include', { 'rule-id': '1' }), select('cainiao', 'tmp_import', 'exclude', { 'rule-id': '2' }))).toEqual([]);
  });
});

describe('findUnmatchedRules: transformation and table-settings rules', () => {
  const customers = select('cainiao', 't_customer', 'include', { 'rule-id': 'sel-cust' });

  test('fails if a column rename names no source column: the error names the rule and the bad value', () => {
    const [u] = unmatched(customers, transform('rename', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer', 'column-name': 'cust_email_typo' }, { 'rule-id': '8', value: 'email' }));
    expect(u).toMatchObject({ ruleId: '8', severity: 'error', value: 'cust_email_typo' });
    expect(u!.message).toBe('rule 8 (rename column) names column cust_email_typo of cainiao.t_customer: no such column on the source (did you mean cust_email?)');
  });

  test('fails if a column rule names a column far from any: lists the columns of the table', () => {
    const [u] = unmatched(customers, transform('remove-column', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer', 'column-name': 'cust_name_typo' }, { 'rule-id': '9' }));
    expect(u!.message).toMatch(/^rule 9 \(remove-column column\) names column cust_name_typo of cainiao\.t_customer: no such column on the source \(columns: cust_id, FIRST_NAME/);
  });

  test('fails if a table rule names a table that does not exist, or one no rule selects', () => {
    const found = unmatched(
      customers,
      transform('rename', 'table', { 'schema-name': 'cainiao', 'table-name': 't_custmer' }, { 'rule-id': 't1', value: 'customers' }),
      transform('rename', 'table', { 'schema-name': 'cainiao', 'table-name': 't_order' }, { 'rule-id': 't2', value: 'orders' }),
      { 'rule-type': 'table-settings', 'rule-id': 'ts', 'rule-name': 'ts', 'object-locator': { 'schema-name': 'cainiao', 'table-name': 't_order_item' }, 'parallel-load': { type: 'partitions-auto' } },
    );
    expect(found.map((u) => [u.ruleId, u.severity, u.value])).toEqual([
      ['t1', 'error', 'cainiao.t_custmer'],
      ['t2', 'error', 'cainiao.t_order'],
      ['ts', 'error', 'cainiao.t_order_item'],
    ]);
    expect(found[0]!.message).toContain('did you mean cainiao.t_customer?');
    expect(found[1]!.message).toBe('rule t2 (rename table) names cainiao.t_order: cainiao.t_order exists on the source but no selection rule selects it');
  });

  test('names the exclude rule when the table a transformation names is excluded', () => {
    const [u] = unmatched(
      select('cainiao', '%', 'include', { 'rule-id': 'all' }),
      select('cainiao', 'tmp_import', 'exclude', { 'rule-id': 'ex' }),
      transform('rename', 'table', { 'schema-name': 'cainiao', 'table-name': 'tmp_import' }, { 'rule-id': 'r', value: 'imports' }),
    );
    expect(u!.message).toContain('rule ex excludes it');
  });

  test('a wildcard transformation that reaches nothing is a warning; add-column of a new column is not checked', () => {
    const found = unmatched(
      customers,
      transform('remove-column', 'column', { 'schema-name': 'cainiao', 'table-name': '%', 'column-name': 'legacy%' }, { 'rule-id': 'w' }),
      transform('add-column', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer' }, { 'rule-id': 'add', value: 'brand_new', expression: "'x'", 'data-type': { type: 'string', length: 5 } }),
      transform('remove-column', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer', 'column-name': 'col_legacy_' }, { 'rule-id': 'one' }),
    );
    expect(found.map((u) => [u.ruleId, u.severity])).toEqual([['w', 'warning']]);
  });
});

describe('checkMappingsFile with a catalog', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-unmatched-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, rules: unknown[]): string => {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify({ rules }));
    return file;
  };

  test('fails if a selection rule names a missing table (MAPPING_INVALID, rule id and did-you-mean in problems)', async () => {
    const file = write('typo.json', [select('cainiao', 't_customer', 'include', { 'rule-id': '1' }), select('cainiao', 't_orderz', 'include', { 'rule-id': '4' })]);
    const result = await checkMappingsFile(file, cainiao);
    expect(result).toMatchObject({ ok: false, code: 'MAPPING_INVALID' });
    expect(result.problems).toEqual(['rule 4 (include) selects cainiao.t_orderz: no such table on the source (did you mean cainiao.t_order?)']);
    // without a catalog only syntax is checked (nothing to compare against)
    expect((await checkMappingsFile(file)).ok).toBe(true);
  });

  test('reports a rename typo together with the resolver problems, and a pattern matching nothing as a warning', async () => {
    const file = write('mixed.json', [
      select('cainiao', 't_customer', 'include', { 'rule-id': '1' }),
      select('cainiao', 'zz%', 'include', { 'rule-id': '2' }),
      transform('rename', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer', 'column-name': 'cust_nm' }, { 'rule-id': '7', value: 'name' }),
    ]);
    const result = await checkMappingsFile(file, cainiao);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/^rule 7 \(rename column\) names column cust_nm of cainiao\.t_customer/);
    expect(result.warnings).toEqual(['rule 2 (include) pattern cainiao.zz% matches no source table']);
    expect(result.summary).toContain('warning: rule 2 (include) pattern cainiao.zz% matches no source table');
  });
});

describe('closestName', () => {
  test('suggests a near name only', () => {
    expect(closestName('t_orderz', ['t_order', 't_order_item', 't_customer'])).toBe('t_order');
    expect(closestName('T_ORDER', ['t_order'])).toBe('t_order');
    expect(closestName('cust_name_typo', ['cust_nm', 'email'])).toBeUndefined();
  });
});
