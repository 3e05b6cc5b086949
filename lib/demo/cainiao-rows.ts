import { CATEGORY_BY_CODE, RETIRED_CATEGORY_CODES } from './categories.ts';
import { CITIES, EMAIL_DOMAINS, GIVEN_NAMES, PRODUCT_ADJECTIVES, PRODUCT_WORDS, SURNAMES, WAREHOUSES } from './chinese-names.ts';
import type { CopyValue } from './copy-rows.ts';
import type { CainiaoDataSummary, DirtyDataRates } from './generator.ts';
import { INVALID_STATUS, LEGACY_STATUS_SPELLINGS, type OrderStatus } from './order-status.ts';
import { SeededRandom } from './seeded-random.ts';

export interface CainiaoSizes {
  readonly seed: number;
  readonly orders: number;
  readonly customers: number;
  readonly products: number;
  readonly rates: DirtyDataRates;
}

/** At most this many ids per list in `summary.ids` (evenly spaced): the load generator needs a spread, not every id. */
export const MAX_IDS_PER_LIST = 100_000;

/** E-mail domain of the smoke-test account; the apps purge only orders of such accounts. */
export const SMOKE_EMAIL_DOMAIN = 'cutover.test';

const dayText = new Map<number, string>();
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
/** Local wall-clock text (no zone) for whole seconds since 2024-01-01 00:00 (days cached: it runs a few times per row). */
function wallClock(secondsFrom2024: number): string {
  const day = Math.floor(secondsFrom2024 / 86400);
  let date = dayText.get(day);
  if (date === undefined) {
    date = new Date(Date.UTC(2024, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
    dayText.set(day, date);
  }
  const s = secondsFrom2024 - day * 86400;
  return `${date} ${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}
const money = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
const count = (rate: number, population: number) => Math.round(rate * population);
const GENDERS = ['M', 'F', null] as const;

/** Every `stride`-th id of `first … last` (all of them when there are at most MAX_IDS_PER_LIST). */
function spreadIds(first: number, last: number): number[] {
  const n = Math.max(0, last - first + 1);
  const stride = Math.max(1, Math.ceil(n / MAX_IDS_PER_LIST));
  const ids: number[] = [];
  for (let id = first; id <= last; id += stride) ids.push(id);
  return ids;
}

type ProductState = { readonly rngAfter: number; readonly priceCents: Int32Array; readonly discIds: ReadonlySet<number>; readonly nDisc: number; readonly nRetired: number; readonly discStocked: number };
type CustomerState = { readonly rngAfter: number; readonly nDup: number; readonly nBadEmail: number; readonly nBadPhone: number };
type OrderState = {
  readonly invalid: number;
  readonly duplicates: number;
  readonly orphans: number;
  readonly orders: number;
  readonly items: number;
  readonly maxOrderId: number;
  readonly readableOrders: number[];
};

/**
 * The cainiao rows as streams, in memory that does not grow with the row count: each table is an
 * iterable that can be walked on its own (so each can be COPYed in turn on one connection).
 * Generation runs in three sections — customers, products + inventory, orders + items — each a
 * pure function of the random sequence's position where it starts and of the products' prices;
 * a section's end state is recorded on its first walk, so walking a table of a later section
 * first runs the earlier sections once. The draws are exactly those of the original in-memory
 * generator, so the same seed gives the same rows as before.
 */
export class CainiaoRows {
  private customerState?: CustomerState;
  private productState?: ProductState;
  private orderState?: OrderState;

  constructor(readonly sizes: CainiaoSizes) {}

  customers(): Iterable<CopyValue[]> {
    return this.customerSection();
  }
  products(): Iterable<CopyValue[]> {
    return this.only(this.productSection(), 'product');
  }
  inventory(): Iterable<CopyValue[]> {
    return this.only(this.productSection(), 'inventory');
  }
  orders(): Iterable<CopyValue[]> {
    return this.only(this.orderSection(), 'order');
  }
  items(): Iterable<CopyValue[]> {
    return this.only(this.orderSection(), 'item');
  }

  /** Rows per table known before generation (items are about 2.5 per order: an estimate). */
  expectedRows(): { customers: number; products: number; inventory: number; orders: number; items: number } {
    const { orders, customers, products, rates } = this.sizes;
    return { customers, products, inventory: products, orders, items: Math.round((orders - count(rates.invalidOrders, orders)) * 2.5 + count(rates.orphanOrderItems, orders)) };
  }

  /** Largest order id used, deleted orders included (for the sequence). */
  get maxOrderId(): number {
    return this.orderResult().maxOrderId;
  }

  summary(): CainiaoDataSummary {
    const { seed, customers: customerCount, products: productCount } = this.sizes;
    const c = this.customerResult();
    const p = this.productResult();
    const o = this.orderResult();
    const activeProducts: number[] = [];
    const stride = Math.max(1, Math.ceil((productCount - 1) / MAX_IDS_PER_LIST));
    for (let id = 1; id < productCount; id++) if (!p.discIds.has(id) && (id - 1) % stride === 0) activeProducts.push(id);
    return {
      seed,
      counts: { customers: customerCount, products: productCount, inventory: productCount, orders: o.orders, orderItems: o.items },
      injected: {
        duplicateCustomers: c.nDup,
        malformedEmails: c.nBadEmail,
        malformedPhones: c.nBadPhone,
        invalidOrders: o.invalid,
        duplicateOrders: o.duplicates,
        discontinuedProducts: p.nDisc,
        discontinuedStocked: p.discStocked,
        retiredCategories: p.nRetired,
        orphanOrderItems: o.orphans,
      },
      expectedOnTarget: {
        customers: customerCount,
        products: productCount - p.nDisc,
        inventory: productCount,
        orders: o.orders - o.invalid,
        order_items: o.items,
      },
      ids: { customers: spreadIds(1, customerCount - 1), activeProducts, readableOrders: o.readableOrders },
      smoke: { customerId: customerCount, productId: productCount },
    };
  }

  private *only<K extends string>(section: Iterable<[K, CopyValue[]]>, kind: K): Generator<CopyValue[]> {
    for (const [k, row] of section) if (k === kind) yield row;
  }

  private customerResult(): CustomerState {
    if (!this.customerState) for (const _ of this.customerSection());
    return this.customerState!;
  }
  private productResult(): ProductState {
    if (!this.productState) for (const _ of this.productSection());
    return this.productState!;
  }
  private orderResult(): OrderState {
    if (!this.orderState) for (const _ of this.orderSection());
    return this.orderState!;
  }

  /** Customers 1..n-1 ordinary (id 1 always clean), n the smoke-test account. */
  private *customerSection(): Generator<CopyValue[]> {
    const { customers: customerCount, rates, seed } = this.sizes;
    const rng = new SeededRandom(seed);
    const candidates = rng.sampleRange(2, customerCount - 2, customerCount - 2);
    const nDup = Math.min(count(rates.duplicateCustomers, customerCount), candidates.size);
    const nBadEmail = Math.min(count(rates.malformedEmails, customerCount), candidates.size - nDup);
    const nBadPhone = Math.min(count(rates.malformedPhones, customerCount), candidates.size - nDup - nBadEmail);
    const take = (n: number) => new Set(Array.from({ length: n }, () => candidates.take()!));
    const dupIds = take(nDup);
    const badEmailIds = take(nBadEmail);
    const badPhoneIds = take(nBadPhone);
    candidates.finish();
    // a duplicate copies an earlier clean customer: keep what rebuilds its name, phone and e-mail, not the row
    const originalIds = new Int32Array(customerCount);
    const originalParts = new Uint32Array(customerCount);
    let originals = 0;
    for (let id = 1; id < customerCount; id++) {
      const sur = Math.floor(rng.next() * SURNAMES.length);
      const given = Math.floor(rng.next() * GIVEN_NAMES.length);
      const place = rng.pick(CITIES);
      const addr = `${place.city}${rng.pick(place.districts)}${rng.pick(place.roads)}${rng.int(1, 999)}号${rng.int(1, 30)}楼${rng.int(101, 2808)}室`;
      const created = wallClock(-rng.int(1, 365) * 86400 + rng.int(0, 86399));
      const gender = Math.floor(rng.next() * GENDERS.length);
      if (dupIds.has(id)) {
        // an earlier clean customer registered again: same person, e-mail case/spaces and phone spacing differ
        const k = rng.int(0, originals - 1);
        const o = unpackOriginal(originalIds[k]!, originalParts[k]!);
        const shouted = `  ${o.email.replace(/^[a-z]/, (ch) => ch.toUpperCase()).replace(/@.*/, (d) => d.toUpperCase())} `;
        const phone = o.phone;
        const spaced = rng.next() < 0.5 ? `${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}` : `${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}`;
        yield [id, o.name, spaced, shouted, addr, GENDERS[o.gender]!, '重复注册', created];
        continue;
      }
      const local = `${GIVEN_NAMES[given]![1]}.${SURNAMES[sur]![1]}${id}`;
      const domainIndex = Math.floor(rng.next() * EMAIL_DOMAINS.length);
      const domain = EMAIL_DOMAINS[domainIndex]!;
      let email = `${local}@${domain}`;
      if (badEmailIds.has(id)) email = rng.pick([`${local}#${domain}`, `${local}@`, `${local}@@${domain}`, `${local} @${domain}`]);
      const digit = rng.int(3, 9);
      let phone = `1${digit}${String(id).padStart(9, '0')}`;
      // each malformed phone still carries the id, so malformed ones never duplicate each other
      if (badPhoneIds.has(id)) phone = rng.pick([`0${String(id).padStart(9, '0')}`, `${phone}0`, `021-${String(id).padStart(8, '0')}`, `+86 ${phone}`]);
      yield [id, `${SURNAMES[sur]![0]}${GIVEN_NAMES[given]![0]}`, phone, email, addr, GENDERS[gender]!, null, created];
      if (!badEmailIds.has(id) && !badPhoneIds.has(id)) {
        originalIds[originals] = id;
        originalParts[originals++] = packOriginal(sur, given, domainIndex, digit, gender);
      }
    }
    yield [customerCount, '冒烟测试账号', '13900000000', `smoke@${SMOKE_EMAIL_DOMAIN}`, '上海市浦东新区测试路1号', null, 'smoke test account', wallClock(-400 * 86400)];
    this.customerState = { rngAfter: rng.position, nDup, nBadEmail, nBadPhone };
  }

  /** Products 1..n-1 with their inventory rows, n the smoke-test product. */
  private *productSection(): Generator<['product' | 'inventory', CopyValue[]]> {
    const { products: productCount, rates } = this.sizes;
    const rng = SeededRandom.at(this.customerResult().rngAfter);
    const candidates = rng.sampleRange(1, productCount - 1, productCount - 1);
    const nDisc = count(rates.discontinuedProducts, productCount);
    const nRetired = Math.min(count(rates.retiredCategories, productCount), candidates.size - nDisc);
    const discIds = new Set(Array.from({ length: Math.min(nDisc, candidates.size) }, () => candidates.take()!));
    const retiredIds = new Set(Array.from({ length: Math.max(0, nRetired) }, () => candidates.take()!));
    candidates.finish();
    const priceCents = new Int32Array(productCount + 1);
    let discStocked = 0;
    const codes = Object.keys(CATEGORY_BY_CODE);
    for (let id = 1; id < productCount; id++) {
      const code = retiredIds.has(id) ? rng.pick(RETIRED_CATEGORY_CODES) : rng.pick(codes);
      const name = `${rng.pick(PRODUCT_WORDS[code]!)} ${rng.pick(PRODUCT_ADJECTIVES)} ${id}号`;
      const cents = rng.int(500, 299_900);
      priceCents[id] = cents;
      const discontinued = discIds.has(id) ? 'Y' : 'N';
      yield ['product', [id, name, code, money(cents), discontinued, rng.next() < 0.5 ? `规格${rng.int(1, 9)}` : null, wallClock(-rng.int(400, 900) * 86400)]];
      let qty = rng.int(2000, 5000);
      if (discontinued === 'Y') {
        // half of the discontinued products still sit in a warehouse: an assess finding
        qty = discStocked < Math.ceil(nDisc / 2) ? rng.int(1, 50) : 0;
        if (qty > 0) discStocked++;
      }
      yield ['inventory', [id, qty, rng.pick(WAREHOUSES), wallClock(rng.int(0, 90 * 86400))]];
    }
    yield ['product', [productCount, '冒烟测试商品（勿售）', 'A01', '1.00', 'N', 'smoke test', wallClock(-400 * 86400)]];
    yield ['inventory', [productCount, 1_000_000, 'SH01', wallClock(0)]];
    priceCents[productCount] = 100;
    this.productState = { rngAfter: rng.position, priceCents, discIds, nDisc, nRetired, discStocked };
  }

  /** Orders and their items; ids skip "deleted" orders whose items remain (orphans). */
  private *orderSection(): Generator<['order' | 'item', CopyValue[]]> {
    const { orders: orderCount, customers: customerCount, products: productCount, rates } = this.sizes;
    const { rngAfter, priceCents } = this.productResult();
    const rng = SeededRandom.at(rngAfter);
    const nOrphans = count(rates.orphanOrderItems, orderCount);
    const totalIds = orderCount + nOrphans;
    const holes = rng.sampleRange(2, Math.max(0, totalIds - 2), nOrphans);
    const holeIds = new Set<number>();
    for (let h = holes.take(); h !== undefined; h = holes.take()) holeIds.add(h);
    const nInvalid = count(rates.invalidOrders, orderCount);
    const nDupOrders = count(rates.duplicateOrders, orderCount);
    // pick order indexes: a duplicate follows a normal order; an invalid order is never an original
    const dupIdx = new Set<number>();
    const invalidIdx = new Set<number>();
    const dupPick = rng.sampleRange(1, Math.max(0, orderCount - 1), orderCount);
    for (let j = dupPick.take(); j !== undefined && dupIdx.size < nDupOrders; j = dupIdx.size < nDupOrders ? dupPick.take() : undefined) {
      if (!dupIdx.has(j - 1) && !dupIdx.has(j + 1)) dupIdx.add(j);
    }
    dupPick.finish();
    const invalidPick = rng.sampleRange(0, orderCount, orderCount);
    for (let j = invalidPick.take(); j !== undefined && invalidIdx.size < nInvalid; j = invalidIdx.size < nInvalid ? invalidPick.take() : undefined) {
      if (!dupIdx.has(j) && !dupIdx.has(j + 1)) invalidIdx.add(j);
    }
    invalidPick.finish();
    const customer = () => 1 + Math.floor(rng.next() * (customerCount - 1));
    const historicProduct = () => 1 + Math.floor(rng.next() * (productCount - 1));
    const readableStride = Math.max(1, Math.ceil(orderCount / MAX_IDS_PER_LIST));
    const readableOrders: number[] = [];
    let readable = 0;
    const span = 90 * 86400;
    const avgStep = Math.max(2, Math.floor(span / totalIds));
    let clock = 0;
    let itemId = 0;
    let index = 0;
    let orders = 0;
    let maxOrderId = 0;
    let previous: { custId: number; status: string; created: number; lines: [number, number, number][] } | null = null;
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
      orders++;
      maxOrderId = id;
      if (invalidIdx.has(j)) {
        clock += rng.int(1, 2 * avgStep);
        yield ['order', [id, customer(), INVALID_STATUS, '0.00', wallClock(clock), wallClock(clock), '作废', opUser]];
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
        custId = customer();
        let r = rng.next();
        const canonical = statusWeights.find(([, w]) => (r -= w) < 0)?.[0] ?? 'SHIPPED';
        status = rng.pick(LEGACY_STATUS_SPELLINGS[canonical]);
        const lineCount = rng.int(1, 4);
        const picked = rng.sampleRange(1, productCount - 1, lineCount);
        const products: number[] = [];
        for (let p = picked.take(); p !== undefined; p = picked.take()) products.push(p);
        lines = products.map((p) => [p, rng.int(1, 3), priceCents[p]!] as [number, number, number]);
      }
      let totalCents = 0;
      for (const [, q, c] of lines) totalCents += q * c;
      yield ['order', [id, custId, status, money(totalCents), wallClock(clock), wallClock(clock + rng.int(0, 86400)), remark, opUser]];
      for (const [p, q, c] of lines) yield ['item', [++itemId, id, p, q, money(c)]];
      if (readable++ % readableStride === 0) readableOrders.push(id);
      previous = { custId, status, created: clock, lines };
    }
    for (const orderId of orphanTargets) {
      const p = historicProduct();
      yield ['item', [++itemId, orderId, p, rng.int(1, 3), money(priceCents[p]!)]];
    }
    this.orderState = { invalid: invalidIdx.size, duplicates: dupIdx.size, orphans: orphanTargets.length, orders, items: itemId, maxOrderId: Math.max(maxOrderId, ...orphanTargets.slice(-1)), readableOrders };
  }
}

/** A clean customer's name/e-mail/phone/gender choices in one word (5 + 5 + 3 + 4 + 2 bits). */
function packOriginal(sur: number, given: number, domain: number, digit: number, gender: number): number {
  return (sur | (given << 5) | (domain << 10) | (digit << 13) | (gender << 17)) >>> 0;
}

function unpackOriginal(id: number, parts: number): { name: string; phone: string; email: string; gender: number } {
  const sur = SURNAMES[parts & 31]!;
  const given = GIVEN_NAMES[(parts >>> 5) & 31]!;
  const domain = EMAIL_DOMAINS[(parts >>> 10) & 7]!;
  const digit = (parts >>> 13) & 15;
  return { name: `${sur[0]}${given[0]}`, phone: `1${digit}${String(id).padStart(9, '0')}`, email: `${given[1]}.${sur[1]}${id}@${domain}`, gender: (parts >>> 17) & 3 };
}
