import { describe, expect, test } from 'vitest';
import { parseTableMappings, resolveTableMappings, reverseCoverage } from '../../lib/mappings/index.ts';
import { catalog, select, table, transform } from './fixtures.ts';

// blue: t_customer, t_order; green: customers, orders (what the forward mapping fills)
const blue = catalog(table('public', 't_customer', ['cust_id bigint', 'cust_nm text'], ['cust_id']), table('public', 't_order', ['order_id bigint', 'amt numeric'], ['order_id']));
const green = catalog(table('public', 'customers', ['id bigint', 'name text'], ['id']), table('public', 'orders', ['id bigint', 'amt numeric'], ['id']));

const rename = (t: string, to: string) => transform('rename', 'table', { 'schema-name': 'public', 'table-name': t }, { value: to });
const renameCol = (t: string, c: string, to: string) => transform('rename', 'column', { 'schema-name': 'public', 'table-name': t, 'column-name': c }, { value: to });

const forward = resolveTableMappings(
  parseTableMappings({
    rules: [select('public', 't_customer'), select('public', 't_order'), rename('t_customer', 'customers'), renameCol('t_customer', 'cust_id', 'id'), renameCol('t_customer', 'cust_nm', 'name'), rename('t_order', 'orders'), renameCol('t_order', 'order_id', 'id')],
  }),
  blue,
).tables;
const reverseOf = (...rules: Record<string, unknown>[]) => resolveTableMappings(parseTableMappings({ rules }), green).tables;
const ordersBack = [select('public', 'orders'), rename('orders', 't_order'), renameCol('orders', 'id', 'order_id')];
const customersBack = [select('public', 'customers'), rename('customers', 't_customer'), renameCol('customers', 'id', 'cust_id'), renameCol('customers', 'name', 'cust_nm')];

describe('reverseCoverage', () => {
  test('is ok when the reverse mapping brings every forward target back to its blue table', () => {
    expect(reverseCoverage(forward, reverseOf(...ordersBack, ...customersBack))).toEqual({ ok: true, uncovered: [], exempted: [], columnGaps: [], unusedExemptions: [] });
  });

  test('fails if a forward target table is not in the reverse mapping (its green writes are lost on rollback)', () => {
    const c = reverseCoverage(forward, reverseOf(...ordersBack));
    expect(c.ok).toBe(false);
    expect(c.uncovered).toEqual([
      {
        table: 'public.customers',
        blueTable: 'public.t_customer',
        kind: 'not-selected',
        message: 'public.customers (filled from public.t_customer) is not selected by the reverse mapping: rows written on green after the switch are lost on rollback',
      },
    ]);
  });

  test('fails if the reverse mapping writes a table back to another blue table than the forward one read', () => {
    const c = reverseCoverage(forward, reverseOf(...ordersBack, select('public', 'customers'), rename('customers', 't_customers')));
    expect(c.uncovered.map((g) => [g.table, g.kind])).toEqual([['public.customers', 'wrong-table']]);
    expect(c.uncovered[0]!.message).toContain('writes public.customers back to public.t_customers');
  });

  test('an exempted table is ok with its reason; an exemption naming nothing uncovered is reported', () => {
    const c = reverseCoverage(forward, reverseOf(...ordersBack), [
      { table: 'public.customers', reason: 'read-only on green: customers are created on blue only' },
      { table: 'public.orders', reason: 'x' },
      { table: 'public.nope', reason: 'y' },
    ]);
    expect(c.ok).toBe(true);
    expect(c.exempted).toEqual([{ table: 'public.customers', reason: 'read-only on green: customers are created on blue only' }]);
    expect(c.unusedExemptions.map((u) => u.table)).toEqual(['public.orders', 'public.nope']);
  });

  test('reports green columns the reverse mapping drops', () => {
    const c = reverseCoverage(forward, reverseOf(...ordersBack, ...customersBack.slice(0, 3), transform('remove-column', 'column', { 'schema-name': 'public', 'table-name': 'customers', 'column-name': 'name' })));
    expect(c.ok).toBe(true);
    expect(c.columnGaps).toEqual([{ table: 'public.customers', columns: ['name'], message: expect.stringContaining('does not carry public.customers column(s) name back to public.t_customer') }]);
  });
});
