import { describe, expect, test } from 'vitest';
import { parseTableMappings, resolveSelected, schemasToRead } from '../../lib/mappings/index.ts';
import type { CatalogTable, SourceCatalog } from '../../lib/mappings/types.ts';
import { thrownCutoverError } from '../_helpers/cutover-error.ts';

function expectCutoverError(fn: () => unknown, code: string) {
  const err = thrownCutoverError(fn);
  expect(err.code).toBe(code);
  return err;
}

const include = (id: string, schema: string, table = '%', action = 'include') => ({
  'rule-type': 'selection',
  'rule-id': id,
  'rule-name': id,
  'object-locator': { 'schema-name': schema, 'table-name': table },
  'rule-action': action,
});
const doc = (...rules: unknown[]) => parseTableMappings({ rules }, 'forward.json');
const table = (schema: string, name: string): CatalogTable => ({
  schema,
  table: name,
  columns: [{ name: 'id', type: 'integer', nullable: false, ordinal: 1 }],
  primaryKey: ['id'],
  estimatedRows: 0,
});
const catalog = (...tables: CatalogTable[]): SourceCatalog => ({ tables });

describe('schemasToRead', () => {
  test('reads the schemas the include rules name, not public by default', () => {
    expect(schemasToRead(doc(include('1', 'legacy'), include('2', 'app', 'items'), include('3', 'old', '%', 'exclude')), { side: 'source' })).toEqual(['app', 'legacy']);
  });

  test('reads every user schema when a rule names a schema pattern', () => {
    expect(schemasToRead(doc(include('1', 'legacy'), include('2', '%')), { side: 'source' })).toEqual([]);
    expect(schemasToRead(doc(include('1', 'sales_2024')), { side: 'source' })).toEqual([]);
  });

  test('an explicit list wins when it holds every schema the rules name', () => {
    expect(schemasToRead(doc(include('1', 'legacy'), include('2', '%')), { side: 'source', explicit: ['legacy', 'extra'] })).toEqual(['legacy', 'extra']);
  });

  test('fails if a rule names a schema an explicit list leaves out, naming the rule and the schema', () => {
    const err = expectCutoverError(() => schemasToRead(doc(include('1', 'public'), include('4', 'legacy')), { side: 'target', explicit: ['public'] }), 'CONFIG_INVALID');
    expect(err.message).toContain('legacy');
    expect(err.message).toContain('target.schemas');
    expect(err.details.problems).toEqual(['rule 4 (include) names schema "legacy"']);
  });
});

describe('resolveSelected', () => {
  test('returns the selected tables', () => {
    const r = resolveSelected(doc(include('1', 'legacy')), catalog(table('legacy', 'Orders订单'), table('public', 'x')), ['legacy'], 'source');
    expect(r.tables.map((t) => `${t.source.schema}.${t.source.table}`)).toEqual(['legacy.Orders订单']);
  });

  test('fails if nothing is selected, naming the rules and the schemas looked in', () => {
    const err = expectCutoverError(() => resolveSelected(doc(include('1', 'sales')), catalog(table('public', 'orders')), ['sales'], 'source'), 'MAPPING_INVALID');
    expect(err.message).toContain('schema(s) sales on the source');
    expect(err.details.problems).toEqual(['rule 1 (include sales.%) matches no table there']);
    expect(err.exitCode).toBe(2);
  });

  test('fails if a rule names a table that does not exist, even when others select tables', () => {
    const err = expectCutoverError(
      () => resolveSelected(doc(include('1', 'public', 'customers'), include('2', 'public', 'ordres')), catalog(table('public', 'customers'), table('public', 'orders')), ['public'], 'source'),
      'MAPPING_INVALID',
    );
    expect(err.details.problems?.join()).toContain('did you mean public.orders?');
  });

  test('a pattern that matches nothing beside selected tables is not an error', () => {
    const r = resolveSelected(doc(include('1', 'public', 'customers'), include('2', 'public', 'tmp%')), catalog(table('public', 'customers')), ['public'], 'source');
    expect(r.tables).toHaveLength(1);
  });
});
