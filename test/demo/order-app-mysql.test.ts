import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { seedCainiao, type CainiaoDataSummary } from '../../lib/demo/generator.ts';
import { seedCainiaoMysql } from '../../lib/demo/seed-cainiao-mysql.ts';
import { startOrderApp, type OrderApp } from '../../lib/demo/order-app.ts';
import { demoSmokeFlow } from '../../lib/demo/smoke-flow.ts';
import { checkLedger, fetchOrderFromDatabase, Ledger } from '../../lib/demo/ledger.ts';
import { MysqlOrderPool } from '../../lib/demo/mysql-order-pool.ts';
import { connectMysql } from '../../lib/engines/mysql/mysql-connection.ts';
import { MysqlWriteFence } from '../../lib/engines/mysql/mysql-write-fence.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';

const SEED = { seed: 5, orders: 400 };
const APP_USER = { name: 'cainiao_app', password: 'app-pw-1' };

async function call(app: OrderApp, method: string, path: string, body?: unknown) {
  const res = await fetch(app.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

/**
 * The blue (cainiao) app over mysql2 against the same app over pg: both legacies seeded with the
 * same seed, so every answer — reads, new ids, refusals, totals — must be the same.
 */
describe.skipIf(mariadbMissing)(`the cainiao app on MariaDB ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let pgServer: Awaited<ReturnType<typeof startTestPostgres>>;
  let onMaria: OrderApp;
  let onPg: OrderApp;
  let summary: CainiaoDataSummary;
  let product: number;
  beforeAll(async () => {
    [maria, pgServer] = await Promise.all([startTestMariadb({ database: 'cainiao' }), startTestPostgres('cainiao')]);
    const pgc = await connect(pgServer.url);
    const my = await connectMysql(maria.url);
    try {
      [summary] = await Promise.all([seedCainiao(pgc, SEED), seedCainiaoMysql(my, SEED)]);
      // the app's own account: data only, no SUPER / READ ONLY ADMIN, so read_only (the fence) stops it
      await my.query(`CREATE USER '${APP_USER.name}'@'%' IDENTIFIED BY '${APP_USER.password}'`);
      await my.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON cainiao.* TO '${APP_USER.name}'@'%'`);
    } finally {
      await pgc.end();
      await my.end();
    }
    onMaria = await startOrderApp({ flavor: 'cainiao', databaseUrl: maria.urlFor('cainiao', APP_USER) });
    onPg = await startOrderApp({ flavor: 'cainiao', databaseUrl: pgServer.url });
    product = summary.ids.activeProducts[0]!;
  }, 180_000);
  afterAll(async () => {
    await onMaria?.stop();
    await onPg?.stop();
    await Promise.all([maria?.dispose(), pgServer?.dispose()]);
  });

  test('answers every seeded order, customer list, stock and reconciliation as the PostgreSQL cainiao app does', async () => {
    const ids = [...summary.ids.readableOrders];
    while (ids.length) {
      const batch = ids.splice(0, 16);
      const answers = await Promise.all(batch.map((id) => Promise.all([call(onPg, 'GET', `/orders/${id}`), call(onMaria, 'GET', `/orders/${id}`)])));
      for (const [p, m] of answers) {
        expect(p.status).toBe(200);
        expect(m.json).toEqual(p.json);
      }
    }
    for (const id of summary.ids.customers.slice(0, 40)) {
      const [p, m] = await Promise.all([call(onPg, 'GET', `/customers/${id}/orders`), call(onMaria, 'GET', `/customers/${id}/orders`)]);
      expect(m).toMatchObject({ status: p.status, json: p.json });
    }
    const [pi, mi] = await Promise.all([call(onPg, 'GET', `/inventory/${product}`), call(onMaria, 'GET', `/inventory/${product}`)]);
    expect(mi.json).toEqual(pi.json);
    const [pr, mr] = await Promise.all([call(onPg, 'GET', '/reconciliation'), call(onMaria, 'GET', '/reconciliation')]);
    expect(pr.json.days.length).toBeGreaterThan(10);
    expect(mr.json).toEqual(pr.json);
    expect((await call(onMaria, 'GET', '/health')).json).toEqual({ ok: true, flavor: 'cainiao' });
  });

  test('place → pay → ship, refusals, out of stock and the smoke flow give the same answers (same new ids) on both engines', async () => {
    const discontinued = summary.ids.activeProducts.length + 1; // any discontinued id: found below
    const my = await connectMysql(maria.url);
    const [[d]] = (await my.query('SELECT prod_id AS id FROM t_product WHERE discontinued = 1 LIMIT 1')) as unknown as [{ id: number }[]];
    expect(d!.id).not.toBe(discontinued);
    const scarce = summary.ids.activeProducts[5]!;
    const pgc = await connect(pgServer.url);
    await pgc.query('update t_inventory set qty = 1 where prod_id = $1', [scarce]);
    await my.query('UPDATE t_inventory SET qty = 1 WHERE prod_id = ?', [scarce]);
    const script: [string, string, unknown?][] = [
      ['POST', '/orders', { customerId: summary.ids.customers[3], items: [{ productId: product, quantity: 2 }, { productId: summary.ids.activeProducts[1], quantity: 1 }] }],
      ['POST', '/orders/{last}/pay'],
      ['POST', '/orders/{last}/ship'],
      ['POST', '/orders/{last}/pay'],
      ['GET', '/orders/{last}'],
      ['POST', '/orders', { customerId: 1, items: [{ productId: d!.id, quantity: 1 }] }],
      ['POST', '/orders', { customerId: 99_999, items: [{ productId: product, quantity: 1 }] }],
      ['POST', '/orders', { customerId: 1, items: [] }],
      ['GET', '/orders/99999999'],
      ['POST', '/orders/99999999/pay'],
      ['DELETE', `/orders/${summary.ids.readableOrders[0]}`],
      ['POST', '/orders', { customerId: 1, items: [{ productId: summary.ids.activeProducts[6], quantity: 1 }, { productId: scarce, quantity: 2 }] }],
      ['GET', `/inventory/${summary.ids.activeProducts[6]}`],
      ['GET', `/customers/${summary.ids.customers[3]}/orders`],
    ];
    const runScript = async (app: OrderApp) => {
      const answers: unknown[] = [];
      let last = 0;
      for (const [method, path, body] of script) {
        const r = await call(app, method, path.replace('{last}', String(last)), body);
        if (r.status === 201) last = r.json.id;
        answers.push({ method, path, status: r.status, json: r.json });
      }
      return answers;
    };
    try {
      const [p, m] = [await runScript(onPg), await runScript(onMaria)];
      expect(m).toEqual(p);
      expect((p[0] as { status: number }).status).toBe(201);
      expect((p[11] as { json: { error: string } }).json.error).toBe('OUT_OF_STOCK');
      // the smoke flow passes and leaves nothing behind
      const count = async () => ((await my.query('SELECT (SELECT COUNT(*) FROM t_order) AS o, (SELECT COUNT(*) FROM t_order_item) AS i')) as unknown as [unknown[]])[0];
      const before = await count();
      const captured: Record<string, unknown> = {};
      for (const step of demoSmokeFlow(summary.smoke)) {
        const r = await call(onMaria, step.method ?? 'GET', step.path.replace(/\{(\w+)\}/g, (_, k: string) => String(captured[k])), step.body);
        expect({ step: step.name, status: r.status }).toEqual({ step: step.name, status: step.expectStatus ?? 200 });
        for (const [path, v] of Object.entries(step.expectBody ?? {})) expect(path.split('.').reduce((o: any, k) => o?.[k], r.json)).toEqual(v);
        for (const [name, path] of Object.entries(step.capture ?? {})) captured[name] = path.split('.').reduce((o: any, k) => o?.[k], r.json);
      }
      expect(await count()).toEqual(before);
    } finally {
      await my.end();
      await pgc.end();
    }
  });

  test('concurrent orders never oversell: stock 10, 20 buyers → 10 orders, stock 0', async () => {
    const p = summary.ids.activeProducts[8]!;
    const my = await connectMysql(maria.url);
    try {
      await my.query('UPDATE t_inventory SET qty = 10 WHERE prod_id = ?', [p]);
      const results = await Promise.all(Array.from({ length: 20 }, (_, k) => call(onMaria, 'POST', '/orders', { customerId: 1 + k, items: [{ productId: p, quantity: 1 }, { productId: product, quantity: 1 }] })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(10);
      expect(results.filter((r) => r.status === 409)).toHaveLength(10);
      const [[row]] = (await my.query('SELECT qty FROM t_inventory WHERE prod_id = ?', [p])) as unknown as [{ qty: number }[]];
      expect(row!.qty).toBe(0);
    } finally {
      await my.end();
    }
  });

  test('fenced by the MySQL write fence (read_only, sessions ended): writes answer 503 + Retry-After + not-applied and change nothing, reads answer; acknowledged writes are all there', async () => {
    const env = { source: { url: maria.url }, target: { url: pgServer.url } } as unknown as ResolvedPostgresEnvironment;
    const fence = new MysqlWriteFence(env);
    const my = await connectMysql(maria.url);
    const ledger = new Ledger();
    const answers: number[] = [];
    let stop = false;
    // writes keep coming while the fence closes (the router holds them first; here nothing does): each is
    // acknowledged (recorded) or answered 503 — a session ended during its COMMIT cannot say "not applied"
    const writer = (async () => {
      for (let k = 0; !stop; k++) {
        const r = await call(onMaria, 'POST', '/orders', { customerId: 1 + (k % 50), items: [{ productId: product, quantity: 1 }] });
        answers.push(r.status);
        if (r.status === 201) ledger.record(r.json);
        else expect({ status: r.status, retryAfter: r.headers.get('retry-after') }).toEqual({ status: 503, retryAfter: '1' });
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      await fence.refuseWrites('blue');
      expect(await fence.isRefusingWrites('blue')).toBe(true);
      const count = async () => ((await my.query('SELECT COUNT(*) AS n FROM t_order')) as unknown as [{ n: string }[]])[0][0]!.n;
      const before = await count();
      const w = await call(onMaria, 'POST', '/orders', { customerId: 1, items: [{ productId: product, quantity: 1 }] });
      expect(w.status).toBe(503);
      expect(w.headers.get('retry-after')).toBe('1');
      expect(w.headers.get('x-cutover-not-applied')).toBe('1');
      expect(w.json.error).toBe('UNAVAILABLE');
      expect((await call(onMaria, 'POST', `/orders/${summary.ids.readableOrders[1]}/pay`)).status).toBe(503);
      expect((await call(onMaria, 'GET', `/orders/${summary.ids.readableOrders[0]}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      expect(await count()).toBe(before);
      stop = true;
      await writer;
      expect(answers.filter((s) => s === 201).length).toBeGreaterThan(0);
      expect(answers.filter((s) => s === 503).length).toBeGreaterThan(0);
      const pool = new MysqlOrderPool(maria.url, 2);
      try {
        const check = await checkLedger(ledger, fetchOrderFromDatabase(pool, 'cainiao'));
        expect({ missing: check.missing, mismatched: check.mismatched }).toEqual({ missing: [], mismatched: [] });
        expect(check.acknowledged).toBe(ledger.size);
      } finally {
        await pool.end();
      }
    } finally {
      stop = true;
      await writer.catch(() => {});
      await fence.allowWrites('blue');
      await my.end();
    }
    // unfenced, the same app writes again (its pool reconnects)
    let again = await call(onMaria, 'POST', '/orders', { customerId: 2, items: [{ productId: product, quantity: 1 }] });
    if (again.status === 503) again = await call(onMaria, 'POST', '/orders', { customerId: 2, items: [{ productId: product, quantity: 1 }] });
    expect(again.status).toBe(201);
  }, 60_000);

  test('the duoduo app refuses a MySQL database with NOT_SUPPORTED', async () => {
    await expect(startOrderApp({ flavor: 'duoduo', databaseUrl: maria.url })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });
});
