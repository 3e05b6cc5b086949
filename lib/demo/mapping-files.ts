import { categoryCaseSql, categoryCodeCaseSql } from './categories.ts';
import { legacyStatusCaseSql, INVALID_STATUS } from './order-status.ts';

/**
 * Builds the two AWS DMS table-mapping documents of the demo from the same tables the apps use
 * (status aliases, category codes). The committed files `mappings/cainiao-to-duoduo.json` and
 * `mappings/duoduo-to-cainiao.json` are these documents verbatim; a test keeps them equal, and
 * `npx tsx lib/demo/mapping-files.ts --write` regenerates them.
 *
 * Only rules DMS documents are used: selection with `filters` (noteq), rename of tables and
 * columns, remove-column, change-data-type, and add-column with a SQLite `expression` over
 * `$column` and a `data-type`. A value normalized under the same name (e-mail, status) uses
 * add-column naming the existing column (the replace form); a value that also changes name
 * (mobile → phone, cat_cd → category) is added under the new name and the old column removed.
 * (Removing a column and re-adding it under the same name is not used: the engine drops the
 * added column.) Money is text in cainiao: a change-data-type to numeric(12,2) rather than a
 * CAST expression, because the typed copy stays translatable to PostgreSQL, so validation hashes
 * it inside the database instead of row by row.
 */
type Rule = Record<string, unknown>;

/**
 * The engine the legacy cainiao runs on. `mysql` (MariaDB/MySQL, lib/demo/cainiao-mysql-schema.ts)
 * gives the MySQL variant of both files: DMS reads a MySQL source's database as the schema, so the
 * cainiao tables live in schema `cainiao` (MYSQL_CAINIAO_DATABASE) and a schema rename puts them
 * into duoduo's `public` (and back); the discontinued flag is tinyint(1) (filter `noteq 1`) and
 * money is DECIMAL already (no change-data-type). duoduo stays PostgreSQL.
 */
export type LegacyEngine = 'postgres' | 'mysql';

/** The MariaDB/MySQL database of the MySQL cainiao: the DMS schema name of its tables. */
export const MYSQL_CAINIAO_DATABASE = 'cainiao';

class RuleList {
  readonly rules: Rule[] = [];
  private nextId = 1;

  /** `schema`: the schema the rules' object-locators name (the side the mapping reads). */
  constructor(private readonly schema: string) {}

  private add(rule: Rule): void {
    const id = String(this.nextId++);
    this.rules.push({ 'rule-type': rule['rule-type'], 'rule-id': id, ...rule });
  }

  include(table: string, loadOrder: number, filters: Rule[] = []): void {
    this.add({
      'rule-type': 'selection',
      'rule-name': `include-${table}`,
      'object-locator': { 'schema-name': this.schema, 'table-name': table },
      'rule-action': 'include',
      'load-order': loadOrder,
      ...(filters.length ? { filters } : {}),
    });
  }

  renameSchema(to: string): void {
    this.add({
      'rule-type': 'transformation',
      'rule-name': `rename-schema-${this.schema}`,
      'rule-target': 'schema',
      'object-locator': { 'schema-name': this.schema },
      'rule-action': 'rename',
      value: to,
    });
  }

  renameTable(table: string, to: string): void {
    this.add({
      'rule-type': 'transformation',
      'rule-name': `rename-${table}`,
      'rule-target': 'table',
      'object-locator': { 'schema-name': this.schema, 'table-name': table },
      'rule-action': 'rename',
      value: to,
    });
  }

  renameColumn(table: string, column: string, to: string): void {
    this.add({
      'rule-type': 'transformation',
      'rule-name': `rename-${table}-${column}`,
      'rule-target': 'column',
      'object-locator': { 'schema-name': this.schema, 'table-name': table, 'column-name': column },
      'rule-action': 'rename',
      value: to,
    });
  }

  removeColumn(table: string, column: string): void {
    this.add({
      'rule-type': 'transformation',
      'rule-name': `remove-${table}-${column}`,
      'rule-target': 'column',
      'object-locator': { 'schema-name': this.schema, 'table-name': table, 'column-name': column },
      'rule-action': 'remove-column',
    });
  }

  changeDataType(table: string, column: string, dataType: Rule): void {
    this.add({
      'rule-type': 'transformation',
      'rule-name': `type-${table}-${column}`,
      'rule-target': 'column',
      'object-locator': { 'schema-name': this.schema, 'table-name': table, 'column-name': column },
      'rule-action': 'change-data-type',
      'data-type': dataType,
    });
  }

  /** add-column naming an existing column: its value is replaced by the expression. */
  addColumn(table: string, column: string, expression: string, dataType: Rule): void {
    this.add({
      'rule-type': 'transformation',
      'rule-name': `add-${table}-${column}`,
      'rule-target': 'column',
      'object-locator': { 'schema-name': this.schema, 'table-name': table },
      'rule-action': 'add-column',
      value: column,
      expression,
      'data-type': dataType,
    });
  }
}

const money = { type: 'numeric', precision: 12, scale: 2 };
const text = (length: number) => ({ type: 'string', length });

/** cainiao → duoduo: what the forward DMS task (full load + CDC) is given. */
export function buildForwardMapping(legacy: LegacyEngine = 'postgres'): { rules: Rule[] } {
  const mysql = legacy === 'mysql';
  const r = new RuleList(mysql ? MYSQL_CAINIAO_DATABASE : 'public');
  r.include('t_customer', 50);
  // discontinued products are not carried over; their stock rows are (filters are per table)
  r.include('t_product', 40, [{ 'filter-type': 'source', 'column-name': 'discontinued', 'filter-conditions': [{ 'filter-operator': 'noteq', value: mysql ? '1' : 'Y' }] }]);
  r.include('t_inventory', 30);
  // voided orders (status INVALID, amount 0, no items) are not carried over
  r.include('t_order', 20, [{ 'filter-type': 'source', 'column-name': 'status', 'filter-conditions': [{ 'filter-operator': 'noteq', value: INVALID_STATUS }] }]);
  r.include('t_order_item', 10);
  if (mysql) r.renameSchema('public');

  r.renameTable('t_customer', 'customers');
  r.renameColumn('t_customer', 'cust_id', 'id');
  r.renameColumn('t_customer', 'cust_nm', 'name');
  r.renameColumn('t_customer', 'addr', 'address');
  r.addColumn('t_customer', 'phone', "replace(replace(trim($mobile), ' ', ''), '-', '')", text(32));
  r.removeColumn('t_customer', 'mobile');
  r.addColumn('t_customer', 'email', 'lower(trim($email))', text(128));
  r.removeColumn('t_customer', 'gender');
  r.removeColumn('t_customer', 'remark');

  r.renameTable('t_product', 'products');
  r.renameColumn('t_product', 'prod_id', 'id');
  r.renameColumn('t_product', 'prod_nm', 'name');
  r.addColumn('t_product', 'category', categoryCaseSql('$cat_cd'), text(16));
  r.removeColumn('t_product', 'cat_cd');
  if (!mysql) r.changeDataType('t_product', 'price', money);
  r.removeColumn('t_product', 'discontinued');
  r.removeColumn('t_product', 'spec');

  r.renameTable('t_inventory', 'inventory');
  r.renameColumn('t_inventory', 'prod_id', 'product_id');
  r.renameColumn('t_inventory', 'qty', 'quantity');
  r.renameColumn('t_inventory', 'wh_cd', 'warehouse');
  r.removeColumn('t_inventory', 'upd_time');

  r.renameTable('t_order', 'orders');
  r.renameColumn('t_order', 'order_id', 'id');
  r.renameColumn('t_order', 'cust_id', 'customer_id');
  r.addColumn('t_order', 'status', legacyStatusCaseSql('$status'), text(16));
  r.renameColumn('t_order', 'total_amt', 'total_amount');
  if (!mysql) r.changeDataType('t_order', 'total_amt', money);
  r.removeColumn('t_order', 'remark');
  r.removeColumn('t_order', 'op_user');

  r.renameTable('t_order_item', 'order_items');
  r.renameColumn('t_order_item', 'item_id', 'id');
  r.renameColumn('t_order_item', 'prod_id', 'product_id');
  r.renameColumn('t_order_item', 'qty', 'quantity');
  if (!mysql) r.changeDataType('t_order_item', 'unit_price', money);
  return { rules: r.rules };
}

/**
 * duoduo → cainiao: the reverse task started at the write switch. It brings back every table the
 * forward mapping fills, so nothing written on green after the switch — by the apps (orders, order
 * items, stock) or by anyone else (a customer or product added by support, a job, a migration
 * script) — is lost on rollback; `assess` blocks on a forward target missing here. Values are
 * already canonical on duoduo, so renames mostly suffice: a canonical status, a numeric amount
 * printed as text (`12.30`), a timestamptz cast to the legacy local timestamp and a normalized
 * e-mail/phone all read back the same; a category goes back to its code (see categoryCodeCaseSql).
 */
export function buildReverseMapping(legacy: LegacyEngine = 'postgres'): { rules: Rule[] } {
  const r = new RuleList('public');
  r.include('customers', 50);
  r.include('products', 40);
  r.include('inventory', 30);
  r.include('orders', 20);
  r.include('order_items', 10);
  if (legacy === 'mysql') r.renameSchema(MYSQL_CAINIAO_DATABASE);

  r.renameTable('customers', 't_customer');
  r.renameColumn('customers', 'id', 'cust_id');
  r.renameColumn('customers', 'name', 'cust_nm');
  r.renameColumn('customers', 'phone', 'mobile');
  r.renameColumn('customers', 'address', 'addr');

  r.renameTable('products', 't_product');
  r.renameColumn('products', 'id', 'prod_id');
  r.renameColumn('products', 'name', 'prod_nm');
  r.addColumn('products', 'cat_cd', categoryCodeCaseSql('$category'), text(8));
  r.removeColumn('products', 'category');

  r.renameTable('inventory', 't_inventory');
  r.renameColumn('inventory', 'product_id', 'prod_id');
  r.renameColumn('inventory', 'quantity', 'qty');
  r.renameColumn('inventory', 'warehouse', 'wh_cd');

  r.renameTable('orders', 't_order');
  r.renameColumn('orders', 'id', 'order_id');
  r.renameColumn('orders', 'customer_id', 'cust_id');
  r.renameColumn('orders', 'total_amount', 'total_amt');

  r.renameTable('order_items', 't_order_item');
  r.renameColumn('order_items', 'id', 'item_id');
  r.renameColumn('order_items', 'product_id', 'prod_id');
  r.renameColumn('order_items', 'quantity', 'qty');
  return { rules: r.rules };
}

export const FORWARD_MAPPING_FILE = 'mappings/cainiao-to-duoduo.json';
export const REVERSE_MAPPING_FILE = 'mappings/duoduo-to-cainiao.json';
/** The MySQL variant (a MariaDB/MySQL cainiao, database `cainiao`). */
export const MYSQL_FORWARD_MAPPING_FILE = 'mappings/cainiao-mysql-to-duoduo.json';
export const MYSQL_REVERSE_MAPPING_FILE = 'mappings/duoduo-to-cainiao-mysql.json';

/** The committed mapping files of a legacy engine, relative to the repository root. */
export function mappingFilesFor(legacy: LegacyEngine): { forward: string; reverse: string } {
  return legacy === 'mysql' ? { forward: MYSQL_FORWARD_MAPPING_FILE, reverse: MYSQL_REVERSE_MAPPING_FILE } : { forward: FORWARD_MAPPING_FILE, reverse: REVERSE_MAPPING_FILE };
}

/** The exact file text (2-space JSON, trailing newline). */
export function mappingFileText(doc: { rules: Rule[] }): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

if (process.argv[1]?.endsWith('mapping-files.ts') && process.argv.includes('--write')) {
  const { writeFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('../../', import.meta.url));
  writeFileSync(root + FORWARD_MAPPING_FILE, mappingFileText(buildForwardMapping()));
  writeFileSync(root + REVERSE_MAPPING_FILE, mappingFileText(buildReverseMapping()));
  writeFileSync(root + MYSQL_FORWARD_MAPPING_FILE, mappingFileText(buildForwardMapping('mysql')));
  writeFileSync(root + MYSQL_REVERSE_MAPPING_FILE, mappingFileText(buildReverseMapping('mysql')));
}
