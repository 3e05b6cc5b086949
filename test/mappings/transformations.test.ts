import { describe, expect, test } from 'vitest';
import { createRowTransformer, describeMappings, parseTableMappings, resolveTableMappings } from '../../lib/mappings/index.ts';
import type { MappedColumn, MappedTable } from '../../lib/mappings/types.ts';
import { cainiao, select, transform } from './fixtures.ts';
import { thrownCutoverError as error } from '../_helpers/cutover-error.ts';

const resolve = (...rules: Record<string, unknown>[]) => resolveTableMappings(parseTableMappings({ rules }), cainiao);
const tableOf = (r: ReturnType<typeof resolve>, source: string): MappedTable => {
  const t = r.tables.find((x) => x.source.table === source);
  if (!t) throw new Error(`${source} not selected`);
  return t;
};
const targets = (t: MappedTable) => t.columns.map((c) => c.target);
const column = (t: MappedTable, target: string): MappedColumn => t.columns.find((c) => c.target === target)!;
const all = select('cainiao', '%', 'include', { 'rule-id': 'all' });
const loc = (table?: string, col?: string) => ({ 'schema-name': 'cainiao', ...(table ? { 'table-name': table } : {}), ...(col ? { 'column-name': col } : {}) });

describe('rename', () => {
  test('renames a schema for every table in it', () => {
    const r = resolve(all, transform('rename', 'schema', { 'schema-name': 'cainiao' }, { value: 'duoduo' }));
    expect(new Set(r.tables.map((t) => t.target.schema))).toEqual(new Set(['duoduo']));
  });

  test('renames one table and one column; the key follows the column', () => {
    const r = resolve(
      all,
      transform('rename', 'table', loc('t_customer'), { value: 'customer' }),
      transform('rename', 'column', loc('t_customer', 'cust_id'), { value: 'id' }),
    );
    const t = tableOf(r, 't_customer');
    expect(t.target).toEqual({ schema: 'cainiao', table: 'customer' });
    expect(t.primaryKey).toEqual(['cust_id']);
    expect(t.targetPrimaryKey).toEqual(['id']);
    expect(column(t, 'id')).toMatchObject({ kind: 'copy', source: 'cust_id' });
    expect(tableOf(r, 't_order').target.table).toBe('t_order');
  });
});

describe('remove-column and include-column', () => {
  test('removes every column matching col%', () => {
    const t = tableOf(resolve(all, transform('remove-column', 'column', loc('t_customer', 'col%'))), 't_customer');
    expect(t.removedColumns).toEqual(['col_legacy1', 'col_legacy2']);
    expect(targets(t)).toEqual(['cust_id', 'FIRST_NAME', 'LAST_NAME', 'cust_email', 'country', 'created_at']);
  });

  test('include-column keeps only the named columns', () => {
    const t = tableOf(
      resolve(all, transform('include-column', 'column', loc('t_order', 'order_id')), transform('include-column', 'column', loc('t_order', 'amount'))),
      't_order',
    );
    expect(targets(t)).toEqual(['order_id', 'amount']);
    expect(t.removedColumns).toEqual(['cust_id', 'status', 'placed_on']);
  });

  test('fails if a primary-key column is removed (MAPPING_INVALID)', () => {
    const e = error(() => resolve(all, transform('remove-column', 'column', loc('t_order', 'order_id'), { 'rule-id': 'rm-key' })));
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.details.problems?.join('\n')).toMatch(/primary-key column order_id is removed/);
  });
});

describe('add-column and expressions', () => {
  test('adds FULL_NAME = $FIRST_NAME||\'_\'||$LAST_NAME as string(50), with a PostgreSQL translation', async () => {
    const r = resolve(
      all,
      transform('add-column', 'column', loc('t_customer'), { 'rule-id': 'full', value: 'FULL_NAME', expression: "$FIRST_NAME||'_'||$LAST_NAME", 'data-type': { type: 'string', length: 50 } }),
    );
    const t = tableOf(r, 't_customer');
    const c = column(t, 'FULL_NAME');
    expect(c).toMatchObject({ kind: 'expression', targetType: 'character varying(50)', dependsOn: ['FIRST_NAME', 'LAST_NAME'] });
    expect(c.kind === 'expression' && c.postgresSql).toContain('"FIRST_NAME"::text');
    const tr = await createRowTransformer(t);
    expect(tr.transform({ cust_id: 1, FIRST_NAME: '建国', LAST_NAME: '王' })!.FULL_NAME).toBe('建国_王');
    expect(tr.transform({ cust_id: 2, FIRST_NAME: 'Ada', LAST_NAME: null })!.FULL_NAME).toBeNull();
    tr.close();
  });

  test('adds a column without an expression as NULL of the given type (datetime with precision)', () => {
    const t = tableOf(resolve(all, transform('add-column', 'column', loc('t_order'), { value: 'last_updated', 'data-type': { type: 'datetime', precision: 6 } })), 't_order');
    expect(column(t, 'last_updated')).toMatchObject({ kind: 'expression', expression: 'NULL', targetType: 'timestamp(6) without time zone', postgresSql: 'NULL' });
  });

  test('an expression on an existing column replaces its value in place', async () => {
    const t = tableOf(
      resolve(all, transform('add-column', 'column', loc('t_customer', 'cust_email'), { value: 'cust_email', expression: 'lower(trim($cust_email))' })),
      't_customer',
    );
    expect(targets(t).indexOf('cust_email')).toBe(3);
    expect(column(t, 'cust_email')).toMatchObject({ kind: 'expression', replaces: 'cust_email', targetType: 'text' });
    const tr = await createRowTransformer(t);
    expect(tr.transform({ cust_id: 1, cust_email: '  Wang@Example.COM ' })!.cust_email).toBe('wang@example.com');
    tr.close();
  });

  test('fails if an expression references a column the table does not have, naming the rule (MAPPING_INVALID)', () => {
    const e = error(() =>
      resolve(all, transform('add-column', 'column', loc('t_order'), { 'rule-id': 'bad-ref', value: 'x', expression: '$nope || 1', 'data-type': { type: 'string' } })),
    );
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.details.problems?.[0]).toMatch(/rule bad-ref: expression references \$nope/);
  });
});

describe('case, prefix and suffix', () => {
  test('convert-lowercase on one table; convert-uppercase on every column of every table', () => {
    const r = resolve(
      all,
      transform('convert-lowercase', 'table', loc('DMS_audit')),
      transform('convert-uppercase', 'column', { 'schema-name': '%', 'table-name': '%', 'column-name': '%' }),
    );
    expect(tableOf(r, 'DMS_audit').target.table).toBe('dms_audit');
    expect(targets(tableOf(r, 't_order'))).toEqual(['ORDER_ID', 'CUST_ID', 'AMOUNT', 'STATUS', 'PLACED_ON']);
    expect(tableOf(r, 't_order').targetPrimaryKey).toEqual(['ORDER_ID']);
  });

  test('add-prefix to every table; replace-prefix on columns that have it', () => {
    const r = resolve(
      all,
      transform('add-prefix', 'table', loc('%'), { value: 'dd_' }),
      transform('replace-prefix', 'column', { 'schema-name': '%', 'table-name': '%', 'column-name': '%' }, { value: 'customer_', 'old-value': 'cust_' }),
    );
    const t = tableOf(r, 't_customer');
    expect(t.target.table).toBe('dd_t_customer');
    expect(targets(t)).toEqual(['customer_id', 'FIRST_NAME', 'LAST_NAME', 'customer_email', 'col_legacy1', 'col_legacy2', 'country', 'created_at']);
  });

  test('remove-prefix, add-suffix, remove-suffix and replace-suffix', () => {
    const r = resolve(
      select('cainiao', 't[_]%'),
      select('archive', '%'),
      transform('remove-prefix', 'table', loc('%'), { value: 't_' }),
      transform('remove-suffix', 'table', { 'schema-name': 'archive', 'table-name': '%' }, { value: '_2019' }),
      transform('add-suffix', 'schema', { 'schema-name': 'archive' }, { value: '_old' }),
      transform('replace-suffix', 'column', loc('t_order', '%'), { value: '_date', 'old-value': '_on' }),
    );
    expect(r.tables.map((t) => `${t.target.schema}.${t.target.table}`).sort()).toEqual(['archive_old.t_order', 'cainiao.customer', 'cainiao.order', 'cainiao.order_item']);
    expect(targets(tableOf(r, 't_order'))).toContain('placed_date');
  });
});

describe('change-data-type and define-primary-key', () => {
  test('changes the target type of a column (int8 -> bigint, numeric with precision and scale)', () => {
    const r = resolve(
      all,
      transform('change-data-type', 'column', loc('t_order', 'amount'), { 'data-type': { type: 'int8' } }),
      transform('change-data-type', 'column', loc('t_order_item', 'qty'), { 'data-type': { type: 'numeric', precision: 10, scale: 3 } }),
    );
    expect(column(tableOf(r, 't_order'), 'amount')).toMatchObject({ kind: 'copy', sourceType: 'numeric(12,2)', targetType: 'bigint' });
    expect(column(tableOf(r, 't_order_item'), 'qty')).toMatchObject({ targetType: 'numeric(10,3)' });
  });

  test('defines the key of a table that has none', () => {
    const r = resolve(all, transform('define-primary-key', 'table', loc('tmp_import'), { 'rule-id': 'pk', 'primary-key-def': { name: 'tmp_import_pk', columns: ['raw'] } }));
    const t = tableOf(r, 'tmp_import');
    expect(t.primaryKey).toEqual(['raw']);
    expect(t.primaryKeyDefinition).toEqual({ name: 'tmp_import_pk', origin: 'primary-key', ruleId: 'pk' });
    expect(r.withoutPrimaryKey).toEqual([]);
    expect(describeMappings(r)).toContain('define-primary-key tmp_import_pk, rule pk');
  });

  test('fails if the defined key names a column the table does not have (MAPPING_INVALID)', () => {
    const e = error(() => resolve(all, transform('define-primary-key', 'table', loc('tmp_import'), { 'rule-id': 'pk', 'primary-key-def': { name: 'k', columns: ['nope'] } })));
    expect(e.details.problems?.[0]).toContain('rule pk');
  });
});

describe('precedence: one transformation per object', () => {
  test('an exact locator beats a wildcard for the same object', () => {
    const r = resolve(
      all,
      transform('convert-uppercase', 'table', loc('%'), { 'rule-id': 'upper-all' }),
      transform('rename', 'table', loc('t_order'), { 'rule-id': 'rename-order', value: 'orders' }),
    );
    expect(tableOf(r, 't_order').target.table).toBe('orders');
    expect(tableOf(r, 't_customer').target.table).toBe('T_CUSTOMER');
    expect(tableOf(r, 't_order').ruleIds).toContain('rename-order');
    expect(tableOf(r, 't_order').ruleIds).not.toContain('upper-all');
  });

  test('a longer literal pattern beats a shorter one', () => {
    const r = resolve(all, transform('add-prefix', 'table', loc('%'), { value: 'a_' }), transform('add-prefix', 'table', loc('t_order%'), { value: 'b_' }));
    expect(tableOf(r, 't_order_item').target.table).toBe('b_t_order_item');
    expect(tableOf(r, 't_customer').target.table).toBe('a_t_customer');
  });

  test('a remove-column beats a wildcard rename of the same column', () => {
    const r = resolve(
      all,
      transform('convert-uppercase', 'column', loc('%', '%')),
      transform('remove-column', 'column', loc('t_customer', 'col_legacy1')),
    );
    const t = tableOf(r, 't_customer');
    expect(t.removedColumns).toEqual(['col_legacy1']);
    expect(targets(t)).toContain('COL_LEGACY2');
  });

  test('fails if two equally specific rules change the name of the same object, naming both (MAPPING_INVALID)', () => {
    const e = error(() =>
      resolve(all, transform('convert-lowercase', 'table', loc('%'), { 'rule-id': 'lower' }), transform('add-prefix', 'table', loc('%'), { 'rule-id': 'prefix', value: 'x_' })),
    );
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.details.problems?.[0]).toMatch(/rules lower and prefix both change the name of table cainiao\./);
  });

  test('fails if an exact rename targets a column a wildcard remove-column removes (MAPPING_INVALID)', () => {
    const e = error(() =>
      resolve(all, transform('remove-column', 'column', loc('t_customer', 'col%'), { 'rule-id': 'rm' }), transform('rename', 'column', loc('t_customer', 'col_legacy1'), { 'rule-id': 'keep', value: 'legacy' })),
    );
    expect(e.details.problems?.[0]).toContain('rule keep (rename) targets column cainiao.t_customer.col_legacy1, which rule rm removes');
  });

  test('fails if two source tables map to one target table (MAPPING_INVALID)', () => {
    const e = error(() =>
      resolveTableMappings(
        parseTableMappings({ rules: [select('%', 't_order%'), transform('rename', 'schema', { 'schema-name': 'archive' }, { value: 'cainiao' }), transform('remove-suffix', 'table', { 'schema-name': 'archive', 'table-name': '%' }, { value: '_2019' })] }),
        cainiao,
      ),
    );
    expect(e.details.problems?.[0]).toMatch(/both map to target cainiao\.t_order/);
  });

  test('fails if a rename makes two columns collide (MAPPING_INVALID)', () => {
    const e = error(() => resolve(all, transform('rename', 'column', loc('t_order', 'status'), { value: 'cust_id' })));
    expect(e.details.problems?.[0]).toMatch(/both become target column cust_id/);
  });
});

describe('describeMappings', () => {
  test('summarises each table: target, renamed, removed, added, filters, key, settings, exclusions', () => {
    const r = resolveTableMappings(
      parseTableMappings({
        rules: [
          select('cainiao', '%', 'include', { 'rule-id': 'all' }),
          select('cainiao', 't_order', 'include', {
            'rule-id': 'paid',
            'load-order': 2,
            filters: [{ 'filter-type': 'source', 'column-name': 'status', 'filter-conditions': [{ 'filter-operator': 'eq', value: 'paid' }] }],
          }),
          select('cainiao', 'DMS%', 'exclude', { 'rule-id': 'no-audit' }),
          transform('rename', 'column', loc('t_order', 'cust_id'), { value: 'customer_id' }),
          transform('remove-column', 'column', loc('t_customer', 'col%')),
          transform('add-column', 'column', loc('t_customer'), { value: 'full_name', expression: "$FIRST_NAME || ' ' || $LAST_NAME", 'data-type': { type: 'string', length: 80 } }),
          { 'rule-type': 'table-settings', 'rule-id': 'par', 'rule-name': 'par', 'object-locator': { 'schema-name': 'cainiao', 'table-name': 't_order' }, 'parallel-load': { type: 'partitions-auto' } },
        ],
      }),
      cainiao,
    );
    const text = describeMappings(r);
    expect(text).toContain('cainiao.t_order -> cainiao.t_order  (load-order 2;');
    expect(text).toContain('renamed:  cust_id -> customer_id');
    expect(text).toContain('removed:  col_legacy1, col_legacy2');
    expect(text).toContain("added:    full_name character varying(80) = $FIRST_NAME || ' ' || $LAST_NAME");
    expect(text).toContain("filter:   status = 'paid'");
    expect(text).toContain('settings: rule par parallel-load');
    expect(text).toContain('cainiao.DMS_audit (rule no-audit)');
    expect(text).toContain('without primary key: cainiao.tmp_import');
    expect(r.tables[0]!.source.table).toBe('t_order');
  });
});
