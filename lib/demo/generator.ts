import type pg from 'pg';
import { CainiaoRows } from './cainiao-rows.ts';
import { createCainiaoIndexes, createCainiaoSchema } from './cainiao-schema.ts';
import { copyRows, type CopyValue } from './copy-rows.ts';
import { CutoverError } from '../errors.ts';

/**
 * The deterministic cainiao data generator: the same options give byte-identical tables, at any
 * size (rows are streamed, see `CainiaoRows`).
 * Dirty data is injected at exact counts (`round(rate × population)`), on disjoint rows, so the
 * quality checks can be tested for exact findings.
 */
export interface DirtyDataRates {
  /** Customers repeating an earlier customer's e-mail and phone, differing in case/spaces. Fraction of customers. @default 0.03 */
  readonly duplicateCustomers: number;
  /** Customers whose e-mail is not `local@domain.tld`. Fraction of customers. @default 0.01 */
  readonly malformedEmails: number;
  /** Customers whose phone, without spaces and dashes, is not a mainland mobile number. Fraction of customers. @default 0.01 */
  readonly malformedPhones: number;
  /** Orders with status `INVALID`, amount 0 and no items. Fraction of orders. @default 0.02 */
  readonly invalidOrders: number;
  /** Orders repeating the previous order of the same customer seconds later. Fraction of orders. @default 0.01 */
  readonly duplicateOrders: number;
  /** Products with `discontinued = 'Y'`; half of them still have stock. Fraction of products. @default 0.05 */
  readonly discontinuedProducts: number;
  /** Products still carrying a retired category code. Fraction of products. @default 0.03 */
  readonly retiredCategories: number;
  /** Order items pointing at a deleted order. Count as a fraction of orders. @default 0.005 */
  readonly orphanOrderItems: number;
}

export const DEFAULT_DIRTY_RATES: DirtyDataRates = {
  duplicateCustomers: 0.03,
  malformedEmails: 0.01,
  malformedPhones: 0.01,
  invalidOrders: 0.02,
  duplicateOrders: 0.01,
  discontinuedProducts: 0.05,
  retiredCategories: 0.03,
  orphanOrderItems: 0.005,
};

export const CLEAN_RATES: DirtyDataRates = Object.fromEntries(Object.keys(DEFAULT_DIRTY_RATES).map((k) => [k, 0])) as unknown as DirtyDataRates;

export interface CainiaoSeedOptions {
  /** @default 42 */
  readonly seed?: number;
  /** @default 5000 */
  readonly orders?: number;
  /** @default 40 % of orders (2,000 for 5,000 orders), at least 10 */
  readonly customers?: number;
  /** @default 6 % of orders (300 for 5,000 orders), at least 20 */
  readonly products?: number;
  /** @default DEFAULT_DIRTY_RATES; missing keys take their default */
  readonly rates?: Partial<DirtyDataRates>;
  /** Drop existing demo tables first. @default false: refuse if they exist */
  readonly replace?: boolean;
}

export { SMOKE_EMAIL_DOMAIN } from './cainiao-rows.ts';

export interface CainiaoDataSummary {
  readonly seed: number;
  readonly counts: { customers: number; products: number; inventory: number; orders: number; orderItems: number };
  /** Exact number of rows of each dirty kind. */
  readonly injected: {
    duplicateCustomers: number;
    malformedEmails: number;
    malformedPhones: number;
    invalidOrders: number;
    duplicateOrders: number;
    discontinuedProducts: number;
    discontinuedStocked: number;
    retiredCategories: number;
    orphanOrderItems: number;
  };
  /** Rows the forward mapping should leave on duoduo per target table (selection filters applied). */
  readonly expectedOnTarget: { customers: number; products: number; inventory: number; orders: number; order_items: number };
  /**
   * Ids a load generator may use: customers (no smoke account), orderable products, orders
   * readable on both systems — every one up to 100,000 per list, beyond that an even spread of
   * 100,000 (`MAX_IDS_PER_LIST`).
   */
  readonly ids: { customers: number[]; activeProducts: number[]; readableOrders: number[] };
  /** The smoke-test account and product (never used by the load generator). */
  readonly smoke: { customerId: number; productId: number };
}

export interface CainiaoData {
  readonly customers: CopyValue[][];
  readonly products: CopyValue[][];
  readonly inventory: CopyValue[][];
  readonly orders: CopyValue[][];
  readonly items: CopyValue[][];
  readonly summary: CainiaoDataSummary;
}

export const CUSTOMER_COLUMNS = ['cust_id', 'cust_nm', 'mobile', 'email', 'addr', 'gender', 'remark', 'created_at'] as const;
export const PRODUCT_COLUMNS = ['prod_id', 'prod_nm', 'cat_cd', 'price', 'discontinued', 'spec', 'created_at'] as const;
export const INVENTORY_COLUMNS = ['prod_id', 'qty', 'wh_cd', 'upd_time'] as const;
export const ORDER_COLUMNS = ['order_id', 'cust_id', 'status', 'total_amt', 'created_at', 'updated_at', 'remark', 'op_user'] as const;
export const ITEM_COLUMNS = ['item_id', 'order_id', 'prod_id', 'qty', 'unit_price'] as const;

/** The seeding options with their defaults, checked (a USAGE error names every bad one). */
export function resolveSizes(options: CainiaoSeedOptions) {
  const orders = options.orders ?? 5000;
  const customers = options.customers ?? Math.max(10, Math.round(orders * 0.4));
  const products = options.products ?? Math.max(20, Math.round(orders * 0.06));
  const rates = { ...DEFAULT_DIRTY_RATES, ...options.rates };
  const problems: string[] = [];
  for (const [name, v] of [['orders', orders], ['customers', customers], ['products', products]] as const) {
    if (!Number.isInteger(v) || v < (name === 'orders' ? 1 : 10)) problems.push(`${name} must be an integer ≥ ${name === 'orders' ? 1 : 10}, got ${v}`);
  }
  for (const [name, v] of Object.entries(rates)) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 0.2)) problems.push(`rates.${name} must be between 0 and 0.2, got ${v}`);
  }
  if (problems.length) {
    throw new CutoverError('USAGE', 'invalid demo data options', { problems, fix: 'e.g. { orders: 5000, rates: { invalidOrders: 0.02 } }' });
  }
  return { orders, customers, products, rates, seed: options.seed ?? 42 };
}

/** One table of a seeding, in load order: its columns and its generated rows (streamed). */
export interface SeedTable {
  readonly table: (typeof CAINIAO_SEED_ORDER)[number];
  readonly columns: readonly string[];
  rows(): Iterable<CopyValue[]>;
}

const CAINIAO_SEED_ORDER = ['t_customer', 't_product', 't_inventory', 't_order', 't_order_item'] as const;

/**
 * What every seeding writes (PostgreSQL COPY in `seedCainiao`, MySQL LOAD DATA in
 * seed-cainiao-mysql.ts), from one generator: the tables in load order with their columns and
 * rows, the estimated row total for progress, and — once the rows were consumed — the summary and
 * the last id used per table, which the sequences / AUTO_INCREMENT follow (deleted orders included).
 */
export function cainiaoSeedPlan(options: CainiaoSeedOptions) {
  const rows = new CainiaoRows(resolveSizes(options));
  const expected = rows.expectedRows();
  const tables: SeedTable[] = [
    { table: 't_customer', columns: CUSTOMER_COLUMNS, rows: () => rows.customers() },
    { table: 't_product', columns: PRODUCT_COLUMNS, rows: () => rows.products() },
    { table: 't_inventory', columns: INVENTORY_COLUMNS, rows: () => rows.inventory() },
    { table: 't_order', columns: ORDER_COLUMNS, rows: () => rows.orders() },
    { table: 't_order_item', columns: ITEM_COLUMNS, rows: () => rows.items() },
  ];
  return {
    tables,
    totalRows: expected.customers + expected.products + expected.inventory + expected.orders + expected.items,
    summary: () => rows.summary(),
    lastIds: () => {
      const { counts } = rows.summary();
      return { t_customer: counts.customers, t_product: counts.products, t_order: Math.max(1, rows.maxOrderId), t_order_item: Math.max(1, counts.orderItems) };
    },
  };
}

/** Builds every row in memory: for tests and small sizes (the seeding itself streams, see `seedCainiao`). Pure: no database. */
export function generateCainiaoData(options: CainiaoSeedOptions = {}): CainiaoData {
  const rows = new CainiaoRows(resolveSizes(options));
  const customers = [...rows.customers()];
  const products = [...rows.products()];
  const inventory = [...rows.inventory()];
  const orders = [...rows.orders()];
  const items = [...rows.items()];
  return { customers, products, inventory, orders, items, summary: rows.summary() };
}

/** Progress of `seedCainiao`: rows written so far, of an estimated total (items per order vary; it stays above `rows` until the end). */
export interface SeedProgress {
  readonly table: string;
  readonly rows: number;
  readonly totalRows: number;
}

/**
 * Creates the cainiao tables and bulk-loads generated data with COPY, table after table on the
 * one connection, streaming each table's rows as they are generated (memory does not grow with
 * the row count). Tables get their indexes after the load (one sorted build is much faster
 * than growing them row by row) and the load is one transaction, so a failed seeding leaves no
 * half-filled tables, and rows are written frozen (the first full scan then rewrites no page). Then the serial sequences move past every id used (including deleted
 * orders) and the tables are analyzed.
 */
export async function seedCainiao(
  client: pg.ClientBase,
  options: CainiaoSeedOptions & { onProgress?: (p: SeedProgress) => void } = {},
): Promise<CainiaoDataSummary & { loadMs: number }> {
  const plan = cainiaoSeedPlan(options);
  const started = performance.now();
  let before = 0;
  await client.query('begin');
  try {
    await createCainiaoSchema(client, { replace: options.replace, indexes: false });
    for (const t of plan.tables) {
      before += await copyRows(client, t.table, t.columns, t.rows(), (done) => options.onProgress?.({ table: t.table, rows: before + done, totalRows: Math.max(plan.totalRows, before + done + 1) }), { freeze: true });
    }
    await createCainiaoIndexes(client);
    const summary = plan.summary();
    const last = plan.lastIds();
    await client.query(
      `select setval(pg_get_serial_sequence('t_customer', 'cust_id'), $1),
              setval(pg_get_serial_sequence('t_product', 'prod_id'), $2),
              setval(pg_get_serial_sequence('t_order', 'order_id'), $3),
              setval(pg_get_serial_sequence('t_order_item', 'item_id'), $4)`,
      [last.t_customer, last.t_product, last.t_order, last.t_order_item],
    );
    await client.query('commit');
    await client.query('analyze t_customer, t_product, t_inventory, t_order, t_order_item');
    return { ...summary, loadMs: Math.round(performance.now() - started) };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}
