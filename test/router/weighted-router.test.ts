import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { RouterClient } from '../../lib/router/router-client.ts';
import type { RunningWeightedRouter } from '../../lib/router/weighted-router.ts';
import type { TinyUpstream } from './tiny-upstream.ts';
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

  test('the hold cap releases held writes to the current target on its own', async () => {
    await client.holdWrites(300);
    const started = Date.now();
    const answer = await send('DELETE', '/orders/9');
    expect(answer.status).toBe(200);
    expect(answer.side).toBe('blue');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await client.state()).writesHeld).toBe(false);
  });

  test('holding waits for writes already in flight before it answers', async () => {
    blue.writeDelayMs = 400;
    const inflight = send('POST', '/slow', { s: 1 });
    while (!blue.received.some((r) => r.path === '/slow')) await new Promise((r) => setTimeout(r, 5));
    const res = await fetch(router.adminUrl + '/writes/hold', { method: 'POST', body: JSON.stringify({ maxHoldMs: 5000 }) });
    expect(await res.json()).toMatchObject({ writesHeld: true, inflightAtHold: 1, drained: true });
    expect((await inflight).status).toBe(200);
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
