import type pg from 'pg';
import { CATEGORY_BY_CODE, RETIRED_CATEGORY_CODES } from './categories.ts';
import { createCainiaoSchema } from './cainiao-schema.ts';
import { CITIES, EMAIL_DOMAINS, GIVEN_NAMES, PRODUCT_ADJECTIVES, PRODUCT_WORDS, SURNAMES, WAREHOUSES } from './chinese-names.ts';
import { copyRows, type CopyValue } from './copy-rows.ts';
import { INVALID_STATUS, LEGACY_STATUS_SPELLINGS, type OrderStatus } from './order-status.ts';
import { SeededRandom } from './seeded-random.ts';
import { CutoverError } from '../errors.ts';

/**
 * The deterministic cainiao data generator: the same options give byte-identical tables.
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

/** E-mail domain of the smoke-test account; the apps purge only orders of such accounts. */
export const SMOKE_EMAIL_DOMAIN = 'cutover.test';

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
  /** Ids a load generator may use: customers (no smoke account), orderable products, orders readable on both systems. */
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

/** Local wall-clock text (no zone) for seconds since 2024-01-01 00:00. */
function wallClock(secondsFrom2024: number): string {
  return new Date(Date.UTC(2024, 0, 1) + secondsFrom2024 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}
const money = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

function resolveSizes(options: CainiaoSeedOptions) {
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

/** Builds every row in memory (a few MB at the default size). Pure: no database. */
export function generateCainiaoData(options: CainiaoSeedOptions = {}): CainiaoData {
  const { orders: orderCount, customers: customerCount, products: productCount, rates, seed } = resolveSizes(options);
  const rng = new SeededRandom(seed);
  const count = (rate: number, population: number) => Math.round(rate * population);

  // ---- customers: 1..n-1 ordinary, n is the smoke-test account; id 1 always clean
  const customers: CopyValue[][] = [];
  const candidates = rng.sample(Array.from({ length: customerCount - 2 }, (_, i) => i + 2), customerCount - 2);
  const nDup = Math.min(count(rates.duplicateCustomers, customerCount), candidates.length);
  const dupIds = new Set(candidates.slice(0, nDup));
  const nBadEmail = Math.min(count(rates.malformedEmails, customerCount), candidates.length - nDup);
  const badEmailIds = new Set(candidates.slice(nDup, nDup + nBadEmail));
  const nBadPhone = Math.min(count(rates.malformedPhones, customerCount), candidates.length - nDup - nBadEmail);
  const badPhoneIds = new Set(candidates.slice(nDup + nBadEmail, nDup + nBadEmail + nBadPhone));
  const cleanOriginals: CopyValue[][] = [];
  for (let id = 1; id < customerCount; id++) {
    const [sur, surPy] = rng.pick(SURNAMES);
    const [given, givenPy] = rng.pick(GIVEN_NAMES);
    const place = rng.pick(CITIES);
    const addr = `${place.city}${rng.pick(place.districts)}${rng.pick(place.roads)}${rng.int(1, 999)}号${rng.int(1, 30)}楼${rng.int(101, 2808)}室`;
    const created = wallClock(-rng.int(1, 365) * 86400 + rng.int(0, 86399));
    const gender = rng.pick(['M', 'F', null]);
    if (dupIds.has(id)) {
      // an earlier clean customer registered again: same person, e-mail case/spaces and phone spacing differ
      const original = cleanOriginals[rng.int(0, cleanOriginals.length - 1)]!;
      const email = String(original[3]);
      const shouted = `  ${email.replace(/^[a-z]/, (c) => c.toUpperCase()).replace(/@.*/, (d) => d.toUpperCase())} `;
      const phone = String(original[2]);
      const spaced = rng.next() < 0.5 ? `${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}` : `${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}`;
      customers.push([id, original[1], spaced, shouted, addr, original[5], '重复注册', created]);
      continue;
    }
    const local = `${givenPy}.${surPy}${id}`;
    const domain = rng.pick(EMAIL_DOMAINS);
    let email = `${local}@${domain}`;
    if (badEmailIds.has(id)) email = rng.pick([`${local}#${domain}`, `${local}@`, `${local}@@${domain}`, `${local} @${domain}`]);
    let phone = `1${rng.int(3, 9)}${String(id).padStart(9, '0')}`;
    // each malformed phone still carries the id, so malformed ones never duplicate each other
    if (badPhoneIds.has(id)) phone = rng.pick([`0${String(id).padStart(9, '0')}`, `${phone}0`, `021-${String(id).padStart(8, '0')}`, `+86 ${phone}`]);
    const row: CopyValue[] = [id, `${sur}${given}`, phone, email, addr, gender, null, created];
    customers.push(row);
    if (!badEmailIds.has(id) && !badPhoneIds.has(id)) cleanOriginals.push(row);
  }
  const smokeCustomerId = customerCount;
  customers.push([smokeCustomerId, '冒烟测试账号', '13900000000', `smoke@${SMOKE_EMAIL_DOMAIN}`, '上海市浦东新区测试路1号', null, 'smoke test account', wallClock(-400 * 86400)]);

  // ---- products: 1..n-1 catalogue, n is the smoke-test product
  const products: CopyValue[][] = [];
  const inventory: CopyValue[][] = [];
  const productCandidates = rng.sample(Array.from({ length: productCount - 1 }, (_, i) => i + 1), productCount - 1);
  const nDisc = count(rates.discontinuedProducts, productCount);
  const discIds = new Set(productCandidates.slice(0, nDisc));
  const nRetired = Math.min(count(rates.retiredCategories, productCount), productCandidates.length - nDisc);
  const retiredIds = new Set(productCandidates.slice(nDisc, nDisc + nRetired));
  const priceCents = new Map<number, number>();
  let discStocked = 0;
  const codes = Object.keys(CATEGORY_BY_CODE);
  for (let id = 1; id < productCount; id++) {
    const code = retiredIds.has(id) ? rng.pick(RETIRED_CATEGORY_CODES) : rng.pick(codes);
    const name = `${rng.pick(PRODUCT_WORDS[code]!)} ${rng.pick(PRODUCT_ADJECTIVES)} ${id}号`;
    const cents = rng.int(500, 299_900);
    priceCents.set(id, cents);
    const discontinued = discIds.has(id) ? 'Y' : 'N';
    products.push([id, name, code, money(cents), discontinued, rng.next() < 0.5 ? `规格${rng.int(1, 9)}` : null, wallClock(-rng.int(400, 900) * 86400)]);
    let qty = rng.int(2000, 5000);
    if (discontinued === 'Y') {
      // half of the discontinued products still sit in a warehouse: an assess finding
      qty = discStocked < Math.ceil(nDisc / 2) ? rng.int(1, 50) : 0;
      if (qty > 0) discStocked++;
    }
    inventory.push([id, qty, rng.pick(WAREHOUSES), wallClock(rng.int(0, 90 * 86400))]);
  }
  const smokeProductId = productCount;
  products.push([smokeProductId, '冒烟测试商品（勿售）', 'A01', '1.00', 'N', 'smoke test', wallClock(-400 * 86400)]);
  inventory.push([smokeProductId, 1_000_000, 'SH01', wallClock(0)]);
  priceCents.set(smokeProductId, 100);

  // ---- orders and items; ids skip "deleted" orders whose items remain (orphans)
  const nOrphans = count(rates.orphanOrderItems, orderCount);
  const totalIds = orderCount + nOrphans;
  const holeIds = new Set(rng.sample(Array.from({ length: Math.max(0, totalIds - 2) }, (_, i) => i + 2), nOrphans));
  const nInvalid = count(rates.invalidOrders, orderCount);
  const nDupOrders = count(rates.duplicateOrders, orderCount);
  // pick order indexes: a duplicate follows a normal order; an invalid order is never an original
  const dupIdx = new Set<number>();
  const invalidIdx = new Set<number>();
  for (const j of rng.sample(Array.from({ length: Math.max(0, orderCount - 1) }, (_, i) => i + 1), orderCount)) {
    if (dupIdx.size >= nDupOrders) break;
    if (!dupIdx.has(j - 1) && !dupIdx.has(j + 1)) dupIdx.add(j);
  }
  for (const j of rng.sample(Array.from({ length: orderCount }, (_, i) => i), orderCount)) {
    if (invalidIdx.size >= nInvalid) break;
    if (!dupIdx.has(j) && !dupIdx.has(j + 1)) invalidIdx.add(j);
  }
  const orderableCustomers = Array.from({ length: customerCount - 1 }, (_, i) => i + 1);
  const historicProducts = Array.from({ length: productCount - 1 }, (_, i) => i + 1);
  const orders: CopyValue[][] = [];
  const items: CopyValue[][] = [];
  const readableOrders: number[] = [];
  const span = 90 * 86400;
  const avgStep = Math.max(2, Math.floor(span / totalIds));
  let clock = 0;
  let itemId = 0;
  let index = 0;
  let previous: { custId: number; status: string; total: string; created: number; lines: [number, number, number][] } | null = null;
  const statusWeights: [OrderStatus, number][] = [['SHIPPED', 0.6], ['PAID', 0.15], ['CREATED', 0.15], ['CANCELLED', 0.1]];
  const orphanTargets: number[] = [];
  for (let id = 1; id <= totalIds; id++) {
    if (holeIds.has(id)) {
      orphanTargets.push(id);
      clock += rng.int(1, 2 * avgStep);
      continue;
    }
    const j = index++;
    const remark = rng.next() < 0.1 ? rng.pick(['加急', '送货前电话联系', '发票抬头：个人']) : null;
    const opUser = rng.pick(['web', 'app', 'admin']);
    if (invalidIdx.has(j)) {
      clock += rng.int(1, 2 * avgStep);
      orders.push([id, rng.pick(orderableCustomers), INVALID_STATUS, '0.00', wallClock(clock), wallClock(clock), '作废', opUser]);
      previous = null;
      continue;
    }
    let custId: number;
    let status: string;
    let lines: [number, number, number][];
    if (dupIdx.has(j) && previous) {
      // the same order submitted twice a few seconds apart
      custId = previous.custId;
      status = previous.status;
      lines = previous.lines;
      clock = previous.created + rng.int(3, 40);
    } else {
      clock += rng.int(1, 2 * avgStep);
      custId = rng.pick(orderableCustomers);
      let r = rng.next();
      const canonical = statusWeights.find(([, w]) => (r -= w) < 0)?.[0] ?? 'SHIPPED';
      status = rng.pick(LEGACY_STATUS_SPELLINGS[canonical]);
      lines = rng.sample(historicProducts, rng.int(1, 4)).map((p) => [p, rng.int(1, 3), priceCents.get(p)!] as [number, number, number]);
    }
    const totalCents = lines.reduce((s, [, q, c]) => s + q * c, 0);
    orders.push([id, custId, status, money(totalCents), wallClock(clock), wallClock(clock + rng.int(0, 86400)), remark, opUser]);
    for (const [p, q, c] of lines) items.push([++itemId, id, p, q, money(c)]);
    readableOrders.push(id);
    previous = { custId, status, total: money(totalCents), created: clock, lines };
  }
  for (const orderId of orphanTargets) {
    const p = rng.pick(historicProducts);
    items.push([++itemId, orderId, p, rng.int(1, 3), money(priceCents.get(p)!)]);
  }

  const summary: CainiaoDataSummary = {
    seed,
    counts: { customers: customers.length, products: products.length, inventory: inventory.length, orders: orders.length, orderItems: items.length },
    injected: {
      duplicateCustomers: nDup,
      malformedEmails: nBadEmail,
      malformedPhones: nBadPhone,
      invalidOrders: invalidIdx.size,
      duplicateOrders: dupIdx.size,
      discontinuedProducts: nDisc,
      discontinuedStocked: discStocked,
      retiredCategories: nRetired,
      orphanOrderItems: orphanTargets.length,
    },
    expectedOnTarget: {
      customers: customers.length,
      products: products.length - nDisc,
      inventory: inventory.length,
      orders: orders.length - invalidIdx.size,
      order_items: items.length,
    },
    ids: {
      customers: orderableCustomers,
      activeProducts: historicProducts.filter((p) => !discIds.has(p)),
      readableOrders,
    },
    smoke: { customerId: smokeCustomerId, productId: smokeProductId },
  };
  return { customers, products, inventory, orders, items, summary };
}

/**
 * Creates the cainiao tables and bulk-loads generated data with COPY, then moves the serial
 * sequences past every id used (including deleted orders) and analyzes the tables.
 */
export async function seedCainiao(client: pg.ClientBase, options: CainiaoSeedOptions = {}): Promise<CainiaoDataSummary & { loadMs: number }> {
  const data = generateCainiaoData(options);
  const started = performance.now();
  await createCainiaoSchema(client, { replace: options.replace });
  await copyRows(client, 't_customer', CUSTOMER_COLUMNS, data.customers);
  await copyRows(client, 't_product', PRODUCT_COLUMNS, data.products);
  await copyRows(client, 't_inventory', INVENTORY_COLUMNS, data.inventory);
  await copyRows(client, 't_order', ORDER_COLUMNS, data.orders);
  await copyRows(client, 't_order_item', ITEM_COLUMNS, data.items);
  const maxOrderId = Math.max(0, ...data.orders.map((o) => Number(o[0])), ...data.items.map((i) => Number(i[1])));
  await client.query(
    `select setval(pg_get_serial_sequence('t_customer', 'cust_id'), $1),
            setval(pg_get_serial_sequence('t_product', 'prod_id'), $2),
            setval(pg_get_serial_sequence('t_order', 'order_id'), $3),
            setval(pg_get_serial_sequence('t_order_item', 'item_id'), $4)`,
    [data.summary.counts.customers, data.summary.counts.products, Math.max(1, maxOrderId), Math.max(1, data.summary.counts.orderItems)],
  );
  await client.query('analyze t_customer, t_product, t_inventory, t_order, t_order_item');
  return { ...data.summary, loadMs: Math.round(performance.now() - started) };
}
