import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { createDuoduoSchema } from '../../lib/demo/duoduo-schema.ts';
import { seedCainiao, type CainiaoDataSummary } from '../../lib/demo/generator.ts';
import pg from 'pg';
import { isUnavailableError, startOrderApp, type OrderApp } from '../../lib/demo/order-app.ts';
import { failedBeforeCommit, OrderService } from '../../lib/demo/order-service.ts';
import { demoSmokeFlow } from '../../lib/demo/smoke-flow.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { mirrorToDuoduo } from './mirror-to-duoduo.ts';

const SEED = { seed: 5, orders: 400 };

async function call(app: OrderApp, method: string, path: string, body?: unknown) {
  const res = await fetch(app.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

describe('blue (cainiao) and green (duoduo) order apps', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let blue: OrderApp;
  let green: OrderApp;
  let summary: CainiaoDataSummary;
  let product: number; // an active product, unused by other tests
  beforeAll(async () => {
    server = await startTestPostgres('cainiao');
    await server.createDatabase('duoduo');
    const c = await connect(server.url);
    const d = await connect(server.urlFor('duoduo'));
    try {
      summary = await seedCainiao(c, SEED);
      await createDuoduoSchema(d);
      await mirrorToDuoduo(d, SEED);
      // the write switch moves green's sequences past blue's: do the same so both allocate the same ids
      const { rows } = await c.query(`select last_value::bigint as v from t_order_order_id_seq`);
      await d.query(`select setval(pg_get_serial_sequence('orders', 'id'), $1)`, [rows[0].v]);
    } finally {
      await c.end();
      await d.end();
    }
    blue = await startOrderApp({ flavor: 'cainiao', databaseUrl: server.url });
    green = await startOrderApp({ flavor: 'duoduo', databaseUrl: server.urlFor('duoduo') });
    product = summary.ids.activeProducts[0]!;
  });
  afterAll(async () => {
    await blue?.stop();
    await green?.stop();
    await server?.dispose();
  });

  test('answer every seeded order, customer list, stock and reconciliation identically', async () => {
    const ids = [...summary.ids.readableOrders];
    while (ids.length) {
      const batch = ids.splice(0, 16);
      const answers = await Promise.all(batch.map((id) => Promise.all([call(blue, 'GET', `/orders/${id}`), call(green, 'GET', `/orders/${id}`)])));
      for (const [b, g] of answers) {
        expect(b.status).toBe(200);
        expect(g.json).toEqual(b.json);
      }
    }
    for (const id of summary.ids.customers.slice(0, 40)) {
      const [b, g] = await Promise.all([call(blue, 'GET', `/customers/${id}/orders`), call(green, 'GET', `/customers/${id}/orders`)]);
      expect(g).toMatchObject({ status: b.status, json: b.json });
    }
    const [bi, gi] = await Promise.all([call(blue, 'GET', `/inventory/${product}`), call(green, 'GET', `/inventory/${product}`)]);
    expect(gi.json).toEqual(bi.json);
    const [br, gr] = await Promise.all([call(blue, 'GET', '/reconciliation'), call(green, 'GET', '/reconciliation')]);
    expect(br.json.days.length).toBeGreaterThan(10);
    expect(gr.json).toEqual(br.json);
  });

  test('place → pay → ship gives the same canonical order on both flavors', async () => {
    const request = { customerId: summary.ids.customers[3], items: [{ productId: product, quantity: 2 }, { productId: summary.ids.activeProducts[1], quantity: 1 }] };
    const b = await call(blue, 'POST', '/orders', request);
    const g = await call(green, 'POST', '/orders', request);
    expect(b.status).toBe(201);
    expect(g).toMatchObject({ status: 201, json: b.json });
    expect(b.json).toMatchObject({ status: 'CREATED', customerId: request.customerId, items: [{ productId: product, quantity: 2 }, { quantity: 1 }] });
    expect(b.json.totalAmount).toMatch(/^\d+\.\d\d$/);
    for (const step of ['pay', 'ship']) {
      const [pb, pg] = [await call(blue, 'POST', `/orders/${b.json.id}/${step}`), await call(green, 'POST', `/orders/${g.json.id}/${step}`)];
      expect(pb.status).toBe(200);
      expect(pg.json).toEqual(pb.json);
    }
    expect((await call(blue, 'GET', `/orders/${b.json.id}`)).json.status).toBe('SHIPPED');
    const again = await call(green, 'POST', `/orders/${g.json.id}/pay`);
    expect(again).toMatchObject({ status: 409, json: { error: 'INVALID_TRANSITION', status: 'SHIPPED' } });
  });

  test('refuses with the same statuses on both flavors', async () => {
    const discontinued = await (async () => {
      const c = await connect(server.url);
      try {
        return Number((await c.query(`select prod_id from t_product where discontinued = 'Y' limit 1`)).rows[0].prod_id);
      } finally {
        await c.end();
      }
    })();
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/orders', { customerId: 1, items: [{ productId: discontinued, quantity: 1 }] }, 409, 'PRODUCT_UNAVAILABLE'],
      ['POST', '/orders', { customerId: 99_999, items: [{ productId: product, quantity: 1 }] }, 404, 'CUSTOMER_NOT_FOUND'],
      ['POST', '/orders', { customerId: 1, items: [] }, 400, 'BAD_REQUEST'],
      ['POST', '/orders', { customerId: 'x', items: [{ productId: product, quantity: 1 }] }, 400, 'BAD_REQUEST'],
      ['GET', '/orders/99999999', undefined, 404, 'ORDER_NOT_FOUND'],
      ['POST', '/orders/99999999/pay', undefined, 404, 'ORDER_NOT_FOUND'],
      ['GET', '/nowhere', undefined, 404, 'NO_ROUTE'],
      ['DELETE', `/orders/${summary.ids.readableOrders[0]}`, undefined, 403, 'NOT_A_TEST_ORDER'],
    ];
    for (const [method, path, body, status, error] of cases) {
      for (const app of [blue, green]) {
        const r = await call(app, method, path, body);
        expect({ app: app.flavor, path, status: r.status, error: r.json.error }).toEqual({ app: app.flavor, path, status, error });
      }
    }
  });

  test('out of stock → 409 and nothing written, on both flavors (one transaction)', async () => {
    const [scarce, plenty] = [summary.ids.activeProducts[5]!, summary.ids.activeProducts[6]!];
    const c = await connect(server.url);
    const d = await connect(server.urlFor('duoduo'));
    try {
      await c.query(`update t_inventory set qty = 1 where prod_id = $1`, [scarce]);
      await d.query(`update inventory set quantity = 1 where product_id = $1`, [scarce]);
      const count = async () => [
        (await c.query(`select (select count(*) from t_order)::int as o, (select count(*) from t_order_item)::int as i, (select qty from t_inventory where prod_id = $1) as q`, [plenty])).rows[0],
        (await d.query(`select (select count(*) from orders)::int as o, (select count(*) from order_items)::int as i, (select quantity from inventory where product_id = $1) as q`, [plenty])).rows[0],
      ];
      const before = await count();
      // the plentiful product (lower id first in lock order or not) is taken before the scarce one fails
      const items = [{ productId: plenty, quantity: 1 }, { productId: scarce, quantity: 2 }];
      for (const app of [blue, green]) {
        const r = await call(app, 'POST', '/orders', { customerId: 1, items });
        expect(r).toMatchObject({ status: 409, json: { error: 'OUT_OF_STOCK', productId: scarce } });
      }
      expect(await count()).toEqual(before);
    } finally {
      await c.end();
      await d.end();
    }
  });

  test('concurrent orders never oversell: stock 10, 20 buyers → 10 orders, stock 0', async () => {
    const p = summary.ids.activeProducts[8]!;
    const c = await connect(server.urlFor('duoduo'));
    try {
      await c.query(`update inventory set quantity = 10 where product_id = $1`, [p]);
      const results = await Promise.all(Array.from({ length: 20 }, (_, k) => call(green, 'POST', '/orders', { customerId: 1 + k, items: [{ productId: p, quantity: 1 }, { productId: product, quantity: 1 }] })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(10);
      expect(results.filter((r) => r.status === 409)).toHaveLength(10);
      expect((await c.query(`select quantity from inventory where product_id = $1`, [p])).rows[0].quantity).toBe(0);
    } finally {
      await c.end();
    }
  });

  test('the smoke flow passes on green and leaves no trace', async () => {
    const d = await connect(server.urlFor('duoduo'));
    const snapshot = async () =>
      (await d.query(`select (select count(*) from orders)::int as o, (select count(*) from order_items)::int as i, (select quantity from inventory where product_id = $1) as q`, [summary.smoke.productId])).rows[0];
    try {
      const before = await snapshot();
      const captured: Record<string, unknown> = {};
      for (const step of demoSmokeFlow(summary.smoke)) {
        const path = step.path.replace(/\{(\w+)\}/g, (_, k: string) => String(captured[k]));
        const r = await call(green, step.method ?? 'GET', path, step.body);
        expect({ step: step.name, status: r.status }).toEqual({ step: step.name, status: step.expectStatus ?? 200 });
        for (const [p, v] of Object.entries(step.expectBody ?? {})) {
          expect(p.split('.').reduce((o: any, k) => o?.[k], r.json)).toEqual(v);
        }
        for (const [name, p] of Object.entries(step.capture ?? {})) captured[name] = p.split('.').reduce((o: any, k) => o?.[k], r.json);
      }
      expect(await snapshot()).toEqual(before);
    } finally {
      await d.end();
    }
  });

  test('a database refusing writes gives 503 with Retry-After: 1 and "not applied" (the router may resend it); reads still answer', async () => {
    const d = await connect(server.urlFor('duoduo'));
    let app: OrderApp | undefined;
    try {
      await d.query(`alter database duoduo set default_transaction_read_only = on`);
      app = await startOrderApp({ flavor: 'duoduo', databaseUrl: server.urlFor('duoduo') });
      const w = await call(app, 'POST', '/orders', { customerId: 1, items: [{ productId: product, quantity: 1 }] });
      expect(w.status).toBe(503);
      expect(w.headers.get('retry-after')).toBe('1');
      expect(w.headers.get('x-cutover-not-applied')).toBe('1');
      expect((await call(app, 'GET', `/orders/${summary.ids.readableOrders[0]}`)).status).toBe(200);
    } finally {
      await d.query(`alter database duoduo reset default_transaction_read_only`);
      await d.end();
      await app?.stop();
    }
  });

  // A write fence (or a lost server) can end a session around its COMMIT. The service must tell a
  // write that did not happen (the router resends it) from one that did (acknowledged), and only
  // an unknown fate may fail the client: before this, every such write failed with 503 (two client
  // failures in a MariaDB rollback rehearsal, green's fence ending stalled transactions).
  describe('a session lost at COMMIT: the fate of the write is asked on another session (txid_status)', () => {
    type Commit = (client: pg.PoolClient) => Promise<unknown>;
    /** The duoduo service on a pool whose COMMIT runs `commit` instead. */
    const serviceWith = (pool: pg.Pool, commit: Commit) =>
      new OrderService(
        {
          query: (text: string, values?: unknown[]) => pool.query(text, values),
          async connect() {
            const c = await pool.connect();
            return { query: (text: string, values?: unknown[]) => (text === 'commit' ? commit(c) : c.query(text, values)) as never, release: (broken?: boolean) => c.release(broken) };
          },
        },
        'duoduo',
      );
    const orders = async (pool: pg.Pool) => Number((await pool.query('select count(*) as n from orders')).rows[0].n);
    const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), {});
    let pool: pg.Pool;
    beforeAll(() => {
      // one session: the fate question must not wait for the slot the lost session holds (a fence ends them all at once)
      pool = new pg.Pool({ connectionString: server.urlFor('duoduo'), max: 1, connectionTimeoutMillis: 5000 });
      pool.on('error', () => {});
      pool.on('connect', (c) => c.on('error', () => {}));
    });
    afterAll(() => pool?.end());

    test('the fence ends the session just before COMMIT: not applied, retry-safe, nothing written', async () => {
      const before = await orders(pool);
      const admin = await connect(server.urlFor('duoduo'));
      try {
        const service = serviceWith(pool, async (c) => {
          const pid = (c as unknown as { processID: number }).processID;
          await admin.query('select pg_terminate_backend($1)', [pid]);
          // pg_terminate_backend only signals: wait until the backend is gone (it rolled back)
          await expect.poll(async () => (await admin.query('select count(*)::int as n from pg_stat_activity where pid = $1', [pid])).rows[0].n, { timeout: 20_000 }).toBe(0);
          return c.query('commit');
        });
        const err = await service.placeOrder(1, [{ productId: product, quantity: 1 }]).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(isUnavailableError(err)).toBe(true);
        expect(failedBeforeCommit(err)).toBe(true);
        expect(await orders(pool)).toBe(before);
      } finally {
        await admin.end();
      }
    });

    test('COMMIT applied but its answer lost: the write is acknowledged (its order returned), not failed', async () => {
      const before = await orders(pool);
      const service = serviceWith(pool, async (c) => {
        await c.query('commit');
        throw lost();
      });
      const outcome = await service.placeOrder(1, [{ productId: product, quantity: 1 }]);
      expect(outcome).toMatchObject({ ok: true, status: 201 });
      expect(await orders(pool)).toBe(before + 1);
    });

    test('the transaction rolled back and the answer lost: not applied (retry-safe)', async () => {
      const before = await orders(pool);
      const service = serviceWith(pool, async (c) => {
        await c.query('rollback');
        throw lost();
      });
      const err = await service.placeOrder(1, [{ productId: product, quantity: 1 }]).then(() => null, (e: unknown) => e);
      expect(failedBeforeCommit(err)).toBe(true);
      expect(await orders(pool)).toBe(before);
    });
  });

  test('a reconciliation report slower than the statement timeout of the order paths (5 s by default) is still answered', async () => {
    // a full load reading the same tables made a 1,000,000-order report take over 5 s: HTTP 500 before.
    // This app's order paths time out after 1 s (statementTimeoutMs), so the report is held 1.5 s, not 5.5.
    const app = await startOrderApp({ flavor: 'cainiao', databaseUrl: server.url, statementTimeoutMs: 1000, maxConnections: 1 });
    const locker = await connect(server.url);
    try {
      await locker.query('begin');
      await locker.query('lock table t_order in access exclusive mode');
      const answer = call(app, 'GET', '/reconciliation');
      await new Promise((r) => setTimeout(r, 1_500));
      await locker.query('commit');
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.json.days.length).toBeGreaterThan(0);
      // the order paths keep their 1 s: the only session went back to the pool with it
      const order = await call(app, 'GET', `/orders/${summary.ids.readableOrders[0]}`);
      expect(order.status).toBe(200);
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
      await app.stop();
    }
  }, 30_000);

  test('setFault answers 500 to that fraction of requests, health excepted', async () => {
    green.setFault({ errorRate: 1 });
    try {
      const r = await call(green, 'GET', `/orders/${summary.ids.readableOrders[0]}`);
      expect(r).toMatchObject({ status: 500, json: { error: 'INJECTED_FAULT' } });
      expect((await call(green, 'GET', '/health')).status).toBe(200);
      green.setFault({ errorRate: 0.5 });
      const statuses = await Promise.all(Array.from({ length: 200 }, () => call(green, 'GET', `/inventory/${product}`).then((x) => x.status)));
      const errors = statuses.filter((s) => s === 500).length;
      expect(errors).toBeGreaterThan(60);
      expect(errors).toBeLessThan(140);
    } finally {
      green.setFault(null);
    }
    expect((await call(green, 'GET', `/inventory/${product}`)).status).toBe(200);
  });

  test('fails if the fault rate is out of range (USAGE)', () => {
    let err: unknown;
    try {
      green.setFault({ errorRate: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('USAGE');
  });
});
