import type { CatalogColumn, CatalogTable, SourceCatalog } from '../../lib/mappings/types.ts';

/** Shorthand for catalog tables in tests: `table('oms', 'orders', ['id bigint', 'note text'], ['id'])`. */
export function table(schema: string, name: string, columns: string[], primaryKey: string[] = []): CatalogTable {
  return {
    schema,
    table: name,
    columns: columns.map((spec, i): CatalogColumn => {
      const space = spec.indexOf(' ');
      return { name: spec.slice(0, space), type: spec.slice(space + 1), nullable: !primaryKey.includes(spec.slice(0, space)), ordinal: i + 1 };
    }),
    primaryKey,
    estimatedRows: 0,
  };
}

export function catalog(...tables: CatalogTable[]): SourceCatalog {
  return { tables };
}

let nextId = 1;

/** A selection rule with a generated id unless given. */
export function select(schema: string, tableName: string, action = 'include', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = String(extra['rule-id'] ?? nextId++);
  return { 'rule-type': 'selection', 'rule-id': id, 'rule-name': `select-${id}`, 'object-locator': { 'schema-name': schema, 'table-name': tableName }, 'rule-action': action, ...extra };
}

export function transform(action: string, target: string, locator: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = String(extra['rule-id'] ?? nextId++);
  return {
    'rule-type': 'transformation',
    'rule-id': id,
    'rule-name': `${action}-${id}`,
    'rule-action': action,
    'rule-target': target,
    'object-locator': locator,
    ...extra,
  };
}

/** The legacy cainiao OMS tables the examples use. */
export const cainiao = catalog(
  table('cainiao', 't_customer', ['cust_id bigint', 'FIRST_NAME text', 'LAST_NAME character varying(40)', 'cust_email text', 'col_legacy1 text', 'col_legacy2 integer', 'country character(2)', 'created_at timestamp with time zone'], ['cust_id']),
  table('cainiao', 't_order', ['order_id bigint', 'cust_id bigint', 'amount numeric(12,2)', 'status text', 'placed_on date'], ['order_id']),
  table('cainiao', 't_order_item', ['order_id bigint', 'line_no integer', 'sku text', 'qty integer'], ['order_id', 'line_no']),
  table('cainiao', 'DMS_audit', ['id integer', 'payload jsonb'], ['id']),
  table('cainiao', 'tmp_import', ['raw text']),
  table('archive', 't_order_2019', ['order_id bigint', 'amount numeric(12,2)'], ['order_id']),
);
