import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { CLEAN_RATES, DEFAULT_DIRTY_RATES, generateCainiaoData, seedCainiao } from '../../lib/demo/generator.ts';
import { createDuoduoSchema } from '../../lib/demo/duoduo-schema.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

describe('cainiao data generator', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  beforeAll(async () => {
    server = await startTestPostgres('gen');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('is deterministic: the same seed gives identical rows, another seed different ones', () => {
    const a = generateCainiaoData({ seed: 7, orders: 800 });
    const b = generateCainiaoData({ seed: 7, orders: 800 });
    const c = generateCainiaoData({ seed: 8, orders: 800 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.orders)).not.toBe(JSON.stringify(c.orders));
  });

  test('gives the same rows as the in-memory generator it replaced (same seed, same rows)', () => {
    // sha256 prefixes of JSON.stringify(rows) computed with the generator before streaming (commit d190926)
    const hash = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
    const d = generateCainiaoData({ seed: 42 });
    expect([d.customers, d.products, d.inventory, d.orders, d.items, d.summary].map(hash)).toEqual([
      '4e31e9470d42adaa', 'a673799a31783b4d', '46a692edb2847210', '48d15c31ce90cd14', 'caa21dcc5902fed5', '937b2c7ff0b90c51',
    ]);
    const e = generateCainiaoData({ seed: 7, orders: 800 });
    expect([e.customers, e.orders, e.items, e.summary].map(hash)).toEqual(['db0801dcf7af8108', '4b6c0d9bc0e1ae04', '03888c975d944ffa', '836994b2f0b27e54']);
  });

  test('default size is 2,000 customers, 300 products, 5,000 orders, with Chinese names and addresses', () => {
    const d = generateCainiaoData();
    expect(d.summary.counts).toMatchObject({ customers: 2000, products: 300, inventory: 300, orders: 5000 });
    expect(String(d.customers[0]![1])).toMatch(/^[\u4e00-\u9fff]{2,3}$/);
    expect(String(d.customers[0]![4])).toMatch(/[市区路号]/);
  });

  test('injects each dirty-data kind at exactly round(rate × population)', () => {
    const rates = { duplicateCustomers: 0.05, malformedEmails: 0.02, malformedPhones: 0.03, invalidOrders: 0.04, duplicateOrders: 0.02, discontinuedProducts: 0.1, retiredCategories: 0.05, orphanOrderItems: 0.01 };
    const d = generateCainiaoData({ seed: 3, orders: 1000, customers: 400, products: 100, rates });
    expect(d.summary.injected).toEqual({
      duplicateCustomers: 20,
      malformedEmails: 8,
      malformedPhones: 12,
      invalidOrders: 40,
      duplicateOrders: 20,
      discontinuedProducts: 10,
      discontinuedStocked: 5,
      retiredCategories: 5,
      orphanOrderItems: 10,
    });
    expect(d.summary.expectedOnTarget.orders).toBe(1000 - 40);
    expect(d.summary.expectedOnTarget.products).toBe(100 - 10);
    // invalid orders carry status INVALID, a zero amount and no items
    const invalid = d.orders.filter((o) => o[2] === 'INVALID');
    expect(invalid).toHaveLength(40);
    expect(invalid.every((o) => o[3] === '0.00')).toBe(true);
    const invalidIds = new Set(invalid.map((o) => o[0]));
    expect(d.items.some((i) => invalidIds.has(i[1]))).toBe(false);
  });

  test('seeds PostgreSQL with COPY quickly and moves sequences past every id', async () => {
    const c = await connect(server.url);
    try {
      const summary = await seedCainiao(c, { seed: 42 });
      expect(summary.loadMs).toBeLessThan(10_000);
      const { rows } = await c.query(
        `select (select count(*) from t_customer)::int as customers, (select count(*) from t_order)::int as orders,
                (select count(*) from t_order_item)::int as items, (select max(order_id) from t_order)::int as max_order`,
      );
      expect(rows[0]).toMatchObject({ customers: 2000, orders: 5000, items: summary.counts.orderItems });
      const next = await c.query(`select nextval(pg_get_serial_sequence('t_order', 'order_id'))::int as id`);
      expect(next.rows[0].id).toBeGreaterThan(rows[0].max_order);
      const chinese = await c.query(`select count(*)::int as n from t_customer where addr ~ '[市区]'`);
      expect(chinese.rows[0].n).toBe(2000);
    } finally {
      await c.end();
    }
  });

  test('seeds 200,000 orders (more ids than a spread call takes), streaming, with progress up to every row', async () => {
    const c = await connect(server.url);
    try {
      const progress: { table: string; rows: number; totalRows: number }[] = [];
      const summary = await seedCainiao(c, { seed: 1, orders: 200_000, customers: 10, products: 20, rates: CLEAN_RATES, replace: true, onProgress: (p) => progress.push(p) });
      const { rows } = await c.query(`select (select count(*) from t_order)::int as orders, (select count(*) from t_order_item)::int as items, (select max(order_id) from t_order)::int as max_order`);
      expect(rows[0]).toEqual({ orders: 200_000, items: summary.counts.orderItems, max_order: 200_000 });
      const last = progress.at(-1)!;
      expect(last.rows).toBe(10 + 20 + 20 + 200_000 + summary.counts.orderItems);
      expect(progress.every((p, i) => p.rows < p.totalRows && (i === 0 || p.rows > progress[i - 1]!.rows))).toBe(true);
      expect(summary.ids.readableOrders).toHaveLength(100_000);
      const next = await c.query(`select nextval(pg_get_serial_sequence('t_order', 'order_id'))::int as id`);
      expect(next.rows[0].id).toBe(200_001);
    } finally {
      await c.end();
    }
  });

  test('fails if the demo tables already exist (PRECONDITION_FAILED), unless replace is asked', async () => {
    const c = await connect(server.url);
    try {
      const err = await seedCainiao(c, { orders: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverError);
      expect((err as CutoverError).code).toBe('PRECONDITION_FAILED');
      const again = await seedCainiao(c, { orders: 50, replace: true, rates: CLEAN_RATES });
      expect(again.counts.orders).toBe(50);
    } finally {
      await c.end();
    }
  });

  test('fails if sizes or rates are out of range (USAGE), naming each problem', () => {
    let err: unknown;
    try {
      generateCainiaoData({ orders: 0, rates: { invalidOrders: 0.9 } });
    } catch (e) {
      err = e;
    }
    expect((err as CutoverError).code).toBe('USAGE');
    expect((err as CutoverError).details.problems).toEqual(expect.arrayContaining([expect.stringMatching(/orders/), expect.stringMatching(/rates.invalidOrders/)]));
  });

  test('the duoduo schema is created empty with its constraints, and refuses to be created twice', async () => {
    await server.createDatabase('duoduo');
    const c = await connect(server.urlFor('duoduo'));
    try {
      await createDuoduoSchema(c);
      const { rows } = await c.query(
        `select conrelid::regclass::text as tbl, contype from pg_constraint where connamespace = 'public'::regnamespace and contype in ('f', 'c') order by 1, 2`,
      );
      expect(rows.filter((r) => r.contype === 'f').map((r) => r.tbl).sort()).toEqual(['inventory', 'order_items', 'order_items', 'orders']);
      await expect(c.query(`insert into orders (customer_id, status, total_amount) values (1, 'created', 1)`)).rejects.toThrow(/check constraint|foreign key/);
      const err = await createDuoduoSchema(c).catch((e: unknown) => e);
      expect((err as CutoverError).code).toBe('PRECONDITION_FAILED');
    } finally {
      await c.end();
    }
  });

  test('the default rates are all non-zero (the demo shows every finding)', () => {
    expect(Object.values(DEFAULT_DIRTY_RATES).every((r) => r > 0)).toBe(true);
  });
});
