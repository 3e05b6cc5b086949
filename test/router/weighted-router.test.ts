import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { RouterClient } from '../../lib/platform/router-client.ts';
import type { RunningWeightedRouter } from '../../lib/router/weighted-router.ts';
import { startWeightedRouter } from '../../lib/router/weighted-router.ts';
import { startTinyUpstream, type TinyUpstream } from './tiny-upstream.ts';
import { startRouterRig, type RouterRig } from './router-rig.ts';

let rig: RouterRig;
let blue: TinyUpstream;
let green: TinyUpstream;
let router: RunningWeightedRouter;
let client: RouterClient;

beforeAll(async () => {
  rig = await startRouterRig({ maxHoldMs: 5000 });
  ({ blue, green, router, client } = rig);
});

afterAll(async () => {
  await rig?.stop();
});

beforeEach(async () => {
  blue.mode = 'ok';
  green.mode = 'ok';
  blue.writeDelayMs = 0;
  await client.releaseWrites();
  await client.setReadWeight(0);
  await client.setWriteTarget('blue');
});

async function send(method: string, path: string, body?: unknown): Promise<{ status: number; side: string | null; json: { side: string; body: string } }> {
  const res = await fetch(router.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, side: res.headers.get('x-cutover-upstream'), json: (await res.json()) as { side: string; body: string } };
}

describe('weighted router', () => {
  test('sends about 30 % of 1000 reads to green at weight 30', async () => {
    await client.setReadWeight(30);
    let toGreen = 0;
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 100 }, () => send('GET', '/orders/1')));
      toGreen += answers.filter((a) => a.json.side === 'green').length;
    }
    // binomial(1000, 0.3): sd ~ 14.5, so ±60 is beyond 4 sd
    expect(toGreen).toBeGreaterThan(240);
    expect(toGreen).toBeLessThan(360);
  });

  test('a weight change applies to the very next request', async () => {
    await client.setReadWeight(100);
    expect((await send('GET', '/x')).side).toBe('green');
    await client.setReadWeight(0);
    expect((await send('GET', '/x')).side).toBe('blue');
  });

  test('writes go to the write target whatever the read weight', async () => {
    await client.setReadWeight(100);
    expect((await send('POST', '/orders', { a: 1 })).side).toBe('blue');
    await client.setWriteTarget('green');
    expect((await send('PUT', '/orders/1', { a: 2 })).side).toBe('green');
  });

  test('held writes wait (not fail), reads flow meanwhile, and release goes to the new target with bodies intact', async () => {
    await client.holdWrites(5000);
    expect((await client.state()).writesHeld).toBe(true);
    const bodies = Array.from({ length: 5 }, (_, i) => ({ order: i, note: '下单 ' + 'x'.repeat(i * 1000) }));
    const writes = bodies.map((b) => send('POST', '/orders', b));
    await new Promise((r) => setTimeout(r, 150));
    expect((await client.state()).heldCount).toBe(5);
    // reads keep flowing during the hold
    const read = await send('GET', '/inventory');
    expect(read.status).toBe(200);
    await client.setWriteTarget('green');
    const greenBefore = green.received.length;
    const figures = await client.releaseWrites();
    const answers = await Promise.all(writes);
    expect(figures.released).toBe(5);
    expect(figures.holdMs.p50).toBeGreaterThanOrEqual(100);
    expect(figures.holdMs.max).toBeLessThan(5000);
    expect(answers.every((a) => a.status === 200 && a.side === 'green')).toBe(true);
    const seen = green.received.slice(greenBefore).map((r) => JSON.parse(r.body) as { order: number; note: string });
    expect(seen.sort((a, b) => a.order - b.order)).toEqual(bodies);
    const m = await client.metrics();
    expect(m.held.total).toBeGreaterThanOrEqual(5);
    expect(m.held.holdMsCounts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
  });

  test('when the hold cap runs out with no one releasing, held and new writes are answered 503 with Retry-After and sent nowhere, until the runbook releases', async () => {
    // the runbook held writes (its old side fenced) and was never seen again
    const before = blue.received.length;
    await client.holdWrites(300);
    const started = Date.now();
    const held = await send('DELETE', '/orders/9');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(held.status).toBe(503);
    expect(held.json).toMatchObject({ error: 'WRITES_PAUSED', retryAfterSeconds: 1 });
    const res = await fetch(router.url + '/orders', { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    await res.text();
    expect(await client.state()).toMatchObject({ writesHeld: true, writesRefused: true });
    // reads still flow; no write reached any side
    expect((await send('GET', '/orders/1')).status).toBe(200);
    expect(blue.received.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(green.received.filter((r) => r.path === '/orders/9')).toEqual([]);
    expect((await client.metrics()).held.refused).toBeGreaterThanOrEqual(2);
    // the runbook comes back (a re-run of switch or rollback) and releases: writes flow again
    expect(await client.releaseWrites()).toMatchObject({ releasedBy: 'cap', refused: 2 });
    expect((await client.state()).writesRefused).toBe(false);
    expect((await send('DELETE', '/orders/10')).status).toBe(200);
  });

  test('a write target that refuses connections: writes are held (not failed) and go on once it listens again, or where the runbook sends them', async () => {
    // green's app is gone: nothing listens on its port
    const gone = await startTinyUpstream('gone');
    const goneUrl = gone.url;
    await gone.stop();
    const r = await startWeightedRouter({ blueUrl: blue.url, greenUrl: goneUrl, maxHoldMs: 5000 });
    const c = new RouterClient(r.adminUrl);
    try {
      await c.setWriteTarget('green');
      const w = fetch(r.url + '/orders', { method: 'POST', body: '{"n":1}' });
      for (let i = 0; i < 100 && !(await c.state()).writesHeld; i++) await new Promise((x) => setTimeout(x, 10));
      expect(await c.state()).toMatchObject({ writesHeld: true, heldCount: 1, writesRefused: false });
      // the runbook rolls back: writes to blue, release
      await c.holdWrites(5000);
      await c.setWriteTarget('blue');
      await c.releaseWrites();
      const answer = await w;
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-cutover-upstream')).toBe('blue');
      expect((await c.metrics()).clientFailures).toBe(0);
    } finally {
      await r.stop();
    }
  });

  test('a write target that refuses connections and comes back: the held writes go on to it by themselves', async () => {
    const gone = await startTinyUpstream('green-again');
    const port = Number(new URL(gone.url).port);
    await gone.stop();
    const r = await startWeightedRouter({ blueUrl: blue.url, greenUrl: gone.url, maxHoldMs: 5000 });
    const c = new RouterClient(r.adminUrl);
    let back: http.Server | null = null;
    try {
      await c.setWriteTarget('green');
      const w = fetch(r.url + '/orders', { method: 'POST', body: '{"n":2}' });
      for (let i = 0; i < 100 && !(await c.state()).writesHeld; i++) await new Promise((x) => setTimeout(x, 10));
      expect((await c.state()).writesHeld).toBe(true);
      // green's app is started again on its port
      back = http.createServer((_req, res) => res.end('{"side":"green-again"}'));
      await new Promise<void>((x) => back!.listen(port, '127.0.0.1', x));
      const answer = await w;
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ side: 'green-again' });
      expect(await c.state()).toMatchObject({ writesHeld: false, writeTarget: 'green' });
      expect((await c.metrics()).clientFailures).toBe(0);
    } finally {
      await r.stop();
      back?.closeAllConnections();
      await new Promise((x) => (back ? back.close(x) : x(null)));
    }
  });

  test('holding waits for writes already in flight before it answers', async () => {
    blue.writeDelayMs = 400;
    const inflight = send('POST', '/slow', { s: 1 });
    while (!blue.received.some((r) => r.path === '/slow')) await new Promise((r) => setTimeout(r, 5));
    const res = await fetch(router.adminUrl + '/writes/hold', { method: 'POST', body: JSON.stringify({ maxHoldMs: 5000 }) });
    expect(await res.json()).toMatchObject({ writesHeld: true, inflightAtHold: 1, drained: true });
    expect((await inflight).status).toBe(200);
  });

  test('a hold told to wait drainMs for writes in flight says when one outlasted it; the write is still answered', async () => {
    blue.writeDelayMs = 600;
    const inflight = send('POST', '/slower', { s: 2 });
    while (!blue.received.some((r) => r.path === '/slower')) await new Promise((r) => setTimeout(r, 5));
    expect(await client.holdWrites(5000, 50)).toEqual({ inflightAtHold: 1, drained: false });
    expect((await client.state()).writesHeld).toBe(true);
    expect((await inflight).status).toBe(200);
  });

  test('fails if drainMs is not an integer >= 0 (USAGE), holding nothing', async () => {
    const err = (await client.holdWrites(5000, -1).catch((e: unknown) => e)) as CutoverError;
    expect(err).toBeInstanceOf(CutoverError);
    expect(err.code).toBe('USAGE');
    expect((await client.state()).writesHeld).toBe(false);
  });

  test('green 5xx and resets on reads are hidden from clients by one retry on blue, and counted for green', async () => {
    await client.setReadWeight(100);
    const before = await client.metrics();
    green.mode = '500';
    const a = await Promise.all(Array.from({ length: 20 }, () => send('GET', '/orders/2')));
    green.mode = 'reset';
    const b = await Promise.all(Array.from({ length: 10 }, () => send('GET', '/orders/3')));
    expect([...a, ...b].every((x) => x.status === 200 && x.side === 'blue')).toBe(true);
    const after = await client.metrics();
    const g = after.upstreams.green;
    const g0 = before.upstreams.green;
    expect(g.status5xx - g0.status5xx).toBe(20);
    expect(g.errors - g0.errors).toBe(10);
    expect(g.retriedOnBlue - g0.retriedOnBlue).toBe(30);
    expect(after.clientFailures - before.clientFailures).toBe(0);
  });

  test('counts a request when it completes, as its failure: a window never has more failures than requests', async () => {
    await client.setReadWeight(100);
    green.mode = '500';
    green.readDelayMs = 300;
    try {
      const seen = green.received.length;
      const calls = Promise.all(Array.from({ length: 10 }, () => send('GET', '/orders/slow')));
      while (green.received.length < seen + 10) await new Promise((r) => setTimeout(r, 5));
      const sent = await client.metrics(); // all 10 are on green, none answered yet
      await calls;
      const done = await client.metrics();
      const g = done.upstreams.green;
      const g0 = sent.upstreams.green;
      expect(g.status5xx + g.errors - (g0.status5xx + g0.errors)).toBe(10);
      expect(g.requests - g0.requests).toBe(10);
    } finally {
      green.readDelayMs = 0;
    }
  });

  test('a write failing on green is not retried and counts as a client failure', async () => {
    await client.setWriteTarget('green');
    green.mode = '500';
    const before = await client.metrics();
    const blueSeen = blue.received.length;
    const r = await send('POST', '/orders', { x: 1 });
    expect(r.status).toBe(500);
    expect(blue.received.length).toBe(blueSeen);
    expect((await client.metrics()).clientFailures - before.clientFailures).toBe(1);
  });

  test('fails if the weight is out of range (USAGE)', async () => {
    const err = await client.setReadWeight(140).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('USAGE');
    expect((await client.state()).readWeightGreen).toBe(0);
  });

  test('fails if the admin API is unreachable (CONNECTION_FAILED naming the URL)', async () => {
    const dead = new RouterClient('http://127.0.0.1:9');
    const err = (await dead.state().catch((e: unknown) => e)) as CutoverError;
    expect(err.code).toBe('CONNECTION_FAILED');
    expect(err.message).toContain('http://127.0.0.1:9');
    expect(err.details.fix).toMatch(/router/);
  });
});
