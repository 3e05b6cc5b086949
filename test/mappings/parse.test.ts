import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkMappingsFile, loadTableMappings, parseTableMappings } from '../../lib/mappings/index.ts';
import { cainiao, select, transform } from './fixtures.ts';
import { thrownCutoverError as errorOf } from '../_helpers/cutover-error.ts';

describe('parseTableMappings', () => {
  test('reads selection, transformation and table-settings rules into typed views', () => {
    const doc = parseTableMappings({
      rules: [
        select('cainiao', '%', 'include', { 'rule-id': 'sel-1', 'load-order': '3' }),
        transform('rename', 'schema', { 'schema-name': 'cainiao' }, { 'rule-id': 't-1', value: 'duoduo', 'old-value': null }),
        { 'rule-type': 'table-settings', 'rule-id': 'ts-1', 'rule-name': 'ts', 'object-locator': { 'schema-name': 'cainiao', 'table-name': 't_order' }, 'parallel-load': { type: 'partitions-auto' } },
      ],
    });
    expect(doc.selectionRules).toHaveLength(1);
    expect(doc.selectionRules[0]!.loadOrder).toBe(3);
    expect(doc.transformationRules[0]!.value).toBe('duoduo');
    expect(doc.tableSettingsRules[0]!.settings).toEqual({ 'parallel-load': { type: 'partitions-auto' } });
  });

  test('reads lte as its alias ste and numeric rule ids as text', () => {
    const doc = parseTableMappings({
      rules: [
        select('cainiao', 't_order', 'include', {
          'rule-id': 7,
          filters: [{ 'filter-type': 'source', 'column-name': 'order_id', 'filter-conditions': [{ 'filter-operator': 'lte', value: '10' }] }],
        }),
      ],
    });
    expect(doc.selectionRules[0]!.id).toBe('7');
    expect(doc.selectionRules[0]!.filters[0]!.conditions[0]).toEqual({ operator: 'ste', value: '10' });
  });

  test('fails if a rule-action is unsupported, naming the rule id (MAPPING_UNSUPPORTED)', () => {
    const err = errorOf(() =>
      parseTableMappings({
        rules: [select('cainiao', '%'), transform('data-masking-hash-mask', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer', 'column-name': 'cust_email' }, { 'rule-id': 'mask-email' })],
      }),
    );
    expect(err.code).toBe('MAPPING_UNSUPPORTED');
    expect(err.message).toContain('rule mask-email');
    expect(err.details.problems?.join('\n')).toContain('data-masking-hash-mask');
  });

  test('fails if a filter operator, a table type, a tablespace target or a header column is unsupported (MAPPING_UNSUPPORTED)', () => {
    const cases: Record<string, unknown>[] = [
      select('cainiao', 't_order', 'include', { 'rule-id': 'f1', filters: [{ 'filter-type': 'source', 'column-name': 'status', 'filter-conditions': [{ 'filter-operator': 'like', value: 'x%' }] }] }),
      select('cainiao', 'v_%', 'include', { 'rule-id': 'v1', 'object-locator': { 'schema-name': 'cainiao', 'table-name': 'v_%', 'table-type': 'view' } }),
      transform('rename', 'table-tablespace', { 'schema-name': 'cainiao', 'table-name': 't_order', 'table-tablespace-name': 'ts' }, { 'rule-id': 'tbs', value: 'x' }),
      transform('add-column', 'column', { 'schema-name': 'cainiao', 'table-name': 't_order' }, { 'rule-id': 'hdr', value: 'pos', expression: '$AR_H_STREAM_POSITION', 'data-type': { type: 'string', length: 50 } }),
      { 'rule-type': 'object-mapping', 'rule-id': 'om', 'rule-name': 'om' },
    ];
    for (const rule of cases) {
      const err = errorOf(() => parseTableMappings({ rules: [select('cainiao', '%'), rule] }));
      expect(err.code).toBe('MAPPING_UNSUPPORTED');
      expect(err.message).toContain(`rule ${String(rule['rule-id'])}`);
    }
  });

  test('fails if rules are malformed, with one problem line per bad field (MAPPING_INVALID)', () => {
    const err = errorOf(() =>
      parseTableMappings({
        rules: [
          select('cainiao', '%', 'keep', { 'rule-id': 'bad-action' }),
          transform('rename', 'table', { 'schema-name': 'cainiao', 'table-name': 't_order' }, { 'rule-id': 'no-value' }),
          transform('replace-prefix', 'column', { 'schema-name': 'cainiao', 'table-name': '%', 'column-name': '%' }, { 'rule-id': 'no-old', value: 'x_' }),
          select('cainiao', 't_%', 'include', { 'rule-id': 'wild-filter', filters: [{ 'filter-type': 'source', 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'eq', value: '1' }] }] }),
          select('cainiao', 't_order', 'include', { 'rule-id': 'between', filters: [{ 'filter-type': 'source', 'column-name': 'order_id', 'filter-conditions': [{ 'filter-operator': 'between', value: '1' }] }] }),
          select('cainiao', 't_order', 'include', { 'rule-id': 'sel-1' }),
          select('cainiao', 't_order_item', 'include', { 'rule-id': 'sel-1' }),
        ],
      }),
    );
    expect(err.code).toBe('MAPPING_INVALID');
    const problems = err.details.problems ?? [];
    expect(problems.find((p) => p.startsWith('rule bad-action'))).toMatch(/rule-action "keep" — expected "include", "exclude" or "explicit"/);
    expect(problems.find((p) => p.startsWith('rule no-value'))).toMatch(/value \(missing\) — expected the new name/);
    expect(problems.find((p) => p.startsWith('rule no-old'))).toMatch(/old-value/);
    expect(problems.find((p) => p.startsWith('rule wild-filter'))).toMatch(/wildcards/);
    expect(problems.filter((p) => p.startsWith('rule between')).join('\n')).toMatch(/start-value[\s\S]*end-value|value "1" — expected nothing/);
    expect(problems.some((p) => p.includes('rule-id "sel-1"'))).toBe(true);
  });

  test('fails if rules miss several fields: every missing field of every rule is reported in one run, not only the first', () => {
    const err = errorOf(() =>
      parseTableMappings({
        rules: [
          // no rule-id, no object-locator, no rule-action
          { 'rule-type': 'selection', 'rule-name': 'no-id' },
          // no rule-action, no rule-target, no object-locator
          { 'rule-type': 'transformation', 'rule-id': 't1', 'rule-name': 'bare' },
          // no rule-type, and a locator without its schema
          { 'rule-id': 'x1', 'object-locator': { 'table-name': 't_order' } },
          // no rule-id, a locator missing its table
          { 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': 'cainiao' } },
        ],
      }),
    );
    expect(err.code).toBe('MAPPING_INVALID');
    expect(err.details.problems).toEqual([
      'rule #1 ("no-id"): rule-id (missing) — expected a non-empty string or number',
      'rule #1 ("no-id"): object-locator (missing) — expected an object with "schema-name" and "table-name"',
      'rule #1 ("no-id"): rule-action (missing) — expected "include", "exclude" or "explicit" for a selection rule',
      expect.stringMatching(/^rule t1 \("bare"\): rule-action \(missing\) — expected rename, /),
      'rule t1 ("bare"): rule-target (missing) — expected "schema", "table" or "column"',
      'rule t1 ("bare"): object-locator (missing) — expected an object with "schema-name"',
      'rule x1: rule-type (missing) — expected "selection", "transformation" or "table-settings"',
      'rule x1: object-locator.schema-name (missing) — expected a schema name or pattern',
      'rule #4: rule-id (missing) — expected a non-empty string or number',
      'rule #4: object-locator.table-name (missing) — expected a table name or pattern',
    ]);
    expect(err.message).toContain('10 problem(s)');
  });

  test('fails if the document has no rules array (MAPPING_INVALID)', () => {
    expect(errorOf(() => parseTableMappings({ rule: [] }, 'forward.json')).code).toBe('MAPPING_INVALID');
    expect(errorOf(() => parseTableMappings([], 'forward.json')).message).toContain('forward.json');
  });

  test('fails if a negative filter condition is OR-ed with another (MAPPING_INVALID)', () => {
    const err = errorOf(() =>
      parseTableMappings({
        rules: [
          select('cainiao', 't_order', 'include', {
            'rule-id': 'neg',
            filters: [{ 'filter-type': 'source', 'column-name': 'status', 'filter-conditions': [{ 'filter-operator': 'noteq', value: 'void' }, { 'filter-operator': 'eq', value: 'paid' }] }],
          }),
        ],
      }),
    );
    expect(err.code).toBe('MAPPING_INVALID');
    expect(err.details.problems?.[0]).toContain('rule neg');
  });
});

describe('loadTableMappings and checkMappingsFile', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-mappings-'));
  const write = (name: string, content: unknown): string => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  };

  test('loads a file and checks it without a catalog (syntax and support only)', async () => {
    const file = write('ok.json', { rules: [select('cainiao', '%', 'include', { 'rule-id': '1' }), transform('convert-lowercase', 'table', { 'schema-name': 'cainiao', 'table-name': '%' }, { 'rule-id': '2' })] });
    expect((await loadTableMappings(file)).selectionRules).toHaveLength(1);
    const result = await checkMappingsFile(file);
    expect(result.ok).toBe(true);
    expect(result.summary).toContain('rule 2: convert-lowercase table cainiao.%');
  });

  test('checks against a catalog and summarises what each table becomes', async () => {
    const file = write('catalog.json', {
      rules: [
        // `_` is a one-character wildcard in DMS patterns; `[_]` is a literal underscore
        select('cainiao', 't[_]%', 'include', { 'rule-id': '1' }),
        transform('remove-prefix', 'table', { 'schema-name': 'cainiao', 'table-name': '%' }, { 'rule-id': '2', value: 't_' }),
      ],
    });
    const result = await checkMappingsFile(file, cainiao);
    expect(result.ok).toBe(true);
    expect(result.summary).toContain('cainiao.t_order -> cainiao.order');
    expect(result.resolved?.tables).toHaveLength(3);
  });

  test('fails if the file is not JSON, or a rule is unsupported, reporting problems instead of throwing', async () => {
    const bad = await checkMappingsFile(write('bad.json', '{ "rules": [ '));
    expect(bad).toMatchObject({ ok: false, code: 'MAPPING_INVALID' });
    const unsupported = await checkMappingsFile(
      write('unsupported.json', { rules: [select('cainiao', '%', 'include', { 'rule-id': '1' }), transform('add-before-image-columns', 'column', { 'schema-name': '%', 'table-name': '%' }, { 'rule-id': 'bi' })] }),
    );
    expect(unsupported.ok).toBe(false);
    expect(unsupported.code).toBe('MAPPING_UNSUPPORTED');
    expect(unsupported.problems[0]).toContain('rule bi');
    const missing = await checkMappingsFile(path.join(dir, 'absent.json'));
    expect(missing.ok).toBe(false);
  });

  test('`mappings check` lists every problem of every rule at once', async () => {
    const file = write('many.json', { rules: [{ 'rule-type': 'selection', 'rule-name': 'a' }, { 'rule-type': 'transformation', 'rule-id': 't' }] });
    const result = await checkMappingsFile(file);
    expect(result).toMatchObject({ ok: false, code: 'MAPPING_INVALID' });
    expect(result.problems.map((p) => p.replace(/ —.*/, ''))).toEqual([
      'rule #1 ("a"): rule-id (missing)',
      'rule #1 ("a"): object-locator (missing)',
      'rule #1 ("a"): rule-action (missing)',
      'rule t: rule-action (missing)',
      'rule t: rule-target (missing)',
      'rule t: object-locator (missing)',
    ]);
  });

  test('fails if an expression is not valid SQLite, when checked against a catalog', async () => {
    const file = write('expr.json', {
      rules: [
        select('cainiao', 't_customer', 'include', { 'rule-id': '1' }),
        transform('add-column', 'column', { 'schema-name': 'cainiao', 'table-name': 't_customer' }, { 'rule-id': 'x', value: 'v', expression: "$FIRST_NAME ||| 'x'", 'data-type': { type: 'string', length: 10 } }),
      ],
    });
    const result = await checkMappingsFile(file, cainiao);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/not valid SQLite/);
    rmSync(dir, { recursive: true, force: true });
  });
});
