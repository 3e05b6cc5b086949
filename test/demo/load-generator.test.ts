import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { freePort } from '../../lib/net/free-port.ts';
import { seedCainiao, type CainiaoDataSummary } from '../../lib/demo/generator.ts';
import { checkLedger, fetchOrderFromDatabase, fetchOrderOverHttp, Ledger } from '../../lib/demo/ledger.ts';
import { startLoad } from '../../lib/demo/load-generator.ts';
import { startOrderApp, type OrderApp } from '../../lib/demo/order-app.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('load generator and ledger', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let app: OrderApp;
  let summary: CainiaoDataSummary;
  beforeAll(async () => {
    server = await startTestPostgres('load');
    const c = await connect(server.url);
    try {
      summary = await seedCainiao(c, { seed: 9, orders: 1000 });
    } finally {
      await c.end();
    }
    app = await startOrderApp({ flavor: 'cainiao', databaseUrl: server.url });
  });
  afterAll(async () => {
    await app?.stop();
    await server?.dispose();
  });

  test('2 s at 100 req/s: no failure, every acknowledged write found; a deleted or changed order is caught', async () => {
    const run = startLoad({ baseUrl: app.url, rate: 100, writeRatio: 0.4, ids: summary.ids, seed: 1 });
    await sleep(1000);
    const live = run.counters(); // open loop: ~100 requests started after 1 s, whether answered yet or not
    expect(live.total + live.inFlight).toBeGreaterThan(80);
    await sleep(1000);
    const final = await run.stop();
    expect(final.failed).toBe(0);
    expect(final.failuresByReason).toEqual({});
    expect(final.total).toBeGreaterThanOrEqual(180);
    // Open loop: about rate × the time it ran (which a loaded machine stretches past the 2 s slept).
    expect(final.total).toBeLessThanOrEqual(Math.ceil((final.elapsedMs / 1000) * 100) + 5);
    expect(final.reads + final.writes).toBe(final.total);
    expect(final.byStatusClass['2xx']).toBe(final.total);
    expect(final.perSecond.length).toBeGreaterThanOrEqual(2);
    // Each second with answered requests has a latency figure (a second under CPU starvation may
    // have none answered, so which second is not asserted).
    const answered = final.perSecond.filter((s) => s.requests > 0);
    expect(answered.length).toBeGreaterThanOrEqual(1);
    for (const s of answered) expect(s.p99Ms).toBeGreaterThan(0);
    const entries = run.ledger.entries();
    expect(entries.length).toBeGreaterThan(10);
    expect(entries.some((e) => e.order.status === 'PAID' || e.order.status === 'SHIPPED')).toBe(true);
    expect(final.acknowledgedWrites).toBe(entries.reduce((s, e) => s + e.writes, 0));

    const c = await connect(server.url);
    try {
      const clean = await checkLedger(run.ledger, fetchOrderFromDatabase(c, 'cainiao'));
      expect(clean).toEqual({ acknowledged: entries.length, missing: [], mismatched: [], uncertain: [] });
      expect(await checkLedger(run.ledger, fetchOrderOverHttp(app.url))).toEqual(clean);

      const [lost, changed, repriced] = entries.map((e) => e.id);
      await c.query(`delete from t_order_item where order_id = $1`, [lost]);
      await c.query(`delete from t_order where order_id = $1`, [lost]);
      await c.query(`update t_order set status = 'CANCELLED' where order_id = $1`, [changed]);
      await c.query(`update t_order_item set unit_price = '0.01' where order_id = $1`, [repriced]);
      const broken = await checkLedger(run.ledger, fetchOrderFromDatabase(c, 'cainiao'));
      expect(broken.missing).toEqual([lost]);
      expect(broken.mismatched).toEqual([changed, repriced].sort((a, b) => a! - b!));
    } finally {
      await c.end();
    }
  });

  test('counts every failure with its reason: 5xx answers and refused connections', async () => {
    app.setFault({ errorRate: 1 });
    try {
      const run = startLoad({ baseUrl: app.url, rate: 50, ids: summary.ids, firstFailuresPerReason: 5 });
      await sleep(500);
      const c = await run.stop();
      expect(c.total).toBeGreaterThan(10);
      expect(c.failed).toBe(c.total);
      expect(c.failuresByReason).toEqual({ 'http-500': c.total });
      // the first 5 of the reason are kept, oldest first, whatever came after (the last 100 are kept apart)
      expect(c.firstFailuresByReason).toEqual({ 'http-500': run.failureLog().slice(0, 5) });
      expect(c.recentFailures.at(-1)).toEqual(run.failureLog().at(-1));
      expect(c.byStatusClass['5xx']).toBe(c.total);
      expect(run.ledger.size).toBe(0);
    } finally {
      app.setFault(null);
    }
    const closed = await freePort();
    const run = startLoad({ baseUrl: `http://127.0.0.1:${closed}`, rate: 50, ids: summary.ids });
    await sleep(300);
    const c = await run.stop();
    expect(c.total).toBeGreaterThan(5);
    expect(c.failuresByReason).toEqual({ refused: c.total });
  });

  test('a write answered 502/504 by a gateway (its outcome unknown) is marked unanswered, not resent', async () => {
    let payCalls = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const pay = /^\/orders\/(\d+)\/pay$/.exec(req.url ?? '');
        if (pay) {
          payCalls++;
          res.writeHead(502, { 'content-type': 'application/json' });
          return res.end('{"error":"UPSTREAM_FAILED"}');
        }
        if (req.method === 'POST') {
          const id = 1000 + payCalls + Math.floor(Math.random() * 1e6);
          res.writeHead(201, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ id, customerId: 1, status: 'CREATED', totalAmount: '1.00', items: [{ productId: 1, quantity: 1, unitPrice: '1.00' }] }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const run = startLoad({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, rate: 200, writeRatio: 1, ids: summary.ids });
      await sleep(800);
      const c = await run.stop();
      expect(c.failuresByReason['http-502']).toBeGreaterThan(0);
      const unanswered = run.ledger.entries().filter((e) => e.unansweredStatus === 'PAID');
      expect(unanswered.length).toBe(c.failuresByReason['http-502']);
      // each order's pay was tried once: its outcome is unknown, so it is not sent again
      expect(payCalls).toBe(unanswered.length);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  test('an unanswered write that committed is reported as uncertain, not as a loss', async () => {
    const ledger = new Ledger();
    const order = { id: 1, customerId: 2, status: 'CREATED', totalAmount: '3.00', items: [{ productId: 4, quantity: 1, unitPrice: '3.00' }] };
    ledger.record(order);
    ledger.markUnanswered(1, 'PAID');
    const paid = await checkLedger(ledger, async () => ({ ...order, status: 'PAID' }));
    expect(paid).toMatchObject({ missing: [], mismatched: [], uncertain: [1] });
    const same = await checkLedger(ledger, async () => order);
    expect(same).toMatchObject({ missing: [], mismatched: [], uncertain: [] });
    const other = await checkLedger(ledger, async () => ({ ...order, totalAmount: '3.01' }));
    expect(other).toMatchObject({ mismatched: [1] });
  });

  test('runs the whole-table reconciliation report at most once per interval and never twice at once', async () => {
    // a stand-in app that answers every read at once and counts the reports asked for
    let reports = 0;
    const counter = http.createServer((req, res) => {
      if (req.url === '/reconciliation') reports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r));
    const port = (counter.address() as { port: number }).port;
    try {
      // 1 % of 200 reads/s would be 2 reports a second
      const run = startLoad({ baseUrl: `http://127.0.0.1:${port}`, rate: 200, writeRatio: 0, ids: summary.ids, seed: 3, reconciliationEveryMs: 60_000 });
      await sleep(1500);
      const c = await run.stop();
      expect(c.total).toBeGreaterThan(150);
      expect(reports).toBe(1);
    } finally {
      counter.close();
    }
  });

  test('fails if the rate or ids are unusable (USAGE)', () => {
    let err: unknown;
    try {
      startLoad({ baseUrl: app.url, rate: 0, ids: { customers: [], activeProducts: [1], readableOrders: [1] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('USAGE');
    expect((err as CutoverError).details.problems).toHaveLength(2);
  });
});
