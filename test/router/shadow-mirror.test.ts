import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import type { ShadowSettings } from '../../lib/platform/roles.ts';
import { SHADOW_HEADER } from '../../lib/router/shadow-mirror.ts';
import { startRouterRig, type RouterRig } from './router-rig.ts';

let rig: RouterRig;
const every: ShadowSettings = { percent: 100, noisePercent: 0, timeoutMs: 2000, maxConcurrent: 32 };

beforeAll(async () => {
  rig = await startRouterRig();
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(async () => {
  rig.green.readDelayMs = 0;
  rig.blue.readDelayMs = 0;
  rig.green.mode = 'ok';
  rig.blue.mode = 'ok';
  await rig.client.configureShadow(null);
  await rig.client.setReadWeight(0);
});

async function send(method: string, path: string): Promise<{ status: number; side: string | null; text: string }> {
  const res = await fetch(rig.router.url + path, { method, ...(method === 'GET' || method === 'HEAD' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
  return { status: res.status, side: res.headers.get('x-cutover-upstream'), text: await res.text() };
}

/** Waits until the mirror has no call in flight; returns the figures. */
async function settled() {
  for (let i = 0; i < 200; i++) {
    const f = (await rig.client.shadowSamples(0, 1)).figures;
    if (f.inflight === 0 && !f.awaitingBlue) return f;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('shadow calls never settled');
}

describe('shadow reads in the router', () => {
  test('a mirrored GET: the client gets blue\'s answer; green gets the same request marked x-cutover-shadow: 1; the sample has both answers', async () => {
    const before = (await rig.client.shadowSamples(0, 1)).figures.lastSeq;
    await rig.client.configureShadow(every);
    const r = await send('GET', '/orders/7?x=1');
    expect(r.side).toBe('blue');
    expect(JSON.parse(r.text)).toMatchObject({ side: 'blue', path: '/orders/7?x=1' });
    await settled();
    const seen = rig.green.received.filter((q) => q.path === '/orders/7?x=1');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers[SHADOW_HEADER]).toBe('1');
    const { samples } = await rig.client.shadowSamples(before, 10);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ method: 'GET', path: '/orders/7?x=1', blue: { status: 200 }, green: { status: 200 } });
    expect(JSON.parse(samples[0]!.blue.body).side).toBe('blue');
    expect(JSON.parse(samples[0]!.green.body).side).toBe('green');
  });

  test('PATCH, POST, PUT and DELETE are never mirrored, even at 100 %', async () => {
    await rig.client.configureShadow(every);
    const greenBefore = rig.green.received.length;
    for (const m of ['PATCH', 'POST', 'PUT', 'DELETE']) expect((await send(m, '/orders/8')).side).toBe('blue');
    await send('HEAD', '/orders/8');
    await settled();
    expect(rig.green.received.slice(greenBefore).map((q) => q.method)).toEqual(['HEAD']);
  });

  test('nothing is mirrored once any read goes to green, or when mirroring is off', async () => {
    const greenBefore = rig.green.received.length;
    await send('GET', '/off');
    await rig.client.configureShadow(every);
    await rig.client.setReadWeight(1);
    // random() < 1 % is rare; with the weight above 0 the mirror is never asked
    for (let i = 0; i < 20; i++) await send('GET', '/weighted');
    await settled();
    expect(rig.green.received.slice(greenBefore).filter((q) => q.headers[SHADOW_HEADER] !== undefined)).toEqual([]);
  });

  test('noise: a share of mirrored reads is sent to blue a second time, marked as a shadow call', async () => {
    const before = (await rig.client.shadowSamples(0, 1)).figures.lastSeq;
    await rig.client.configureShadow({ ...every, noisePercent: 100 });
    await send('GET', '/noise/1');
    await settled();
    const blueSeen = rig.blue.received.filter((q) => q.path === '/noise/1');
    expect(blueSeen.map((q) => q.headers[SHADOW_HEADER] ?? null)).toEqual([null, '1']);
    const { samples } = await rig.client.shadowSamples(before, 10);
    expect(samples[0]!.blueAgain).toMatchObject({ status: 200 });
  });

  test('a slow green: the client is not held; the read is kept as green\'s timeout (not a drop), with blue\'s answer', async () => {
    const f0 = await settled();
    await rig.client.configureShadow({ ...every, timeoutMs: 100 });
    rig.green.readDelayMs = 3000;
    const t0 = performance.now();
    const r = await send('GET', '/slow-green');
    expect(r.side).toBe('blue');
    expect(performance.now() - t0).toBeLessThan(2500); // green answers after 3 s; blue at once
    const f = await settled();
    expect(f.greenFailed.timeout).toBe(f0.greenFailed.timeout + 1);
    expect(f.dropped).toEqual(f0.dropped);
    const { samples } = await rig.client.shadowSamples(f0.lastSeq, 10);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ path: '/slow-green', blue: { status: 200 }, green: { status: null, failure: 'timeout', error: 'did not answer within 100 ms' } });
  });

  test('a green that resets the connection: kept as green\'s error (asked once more first: a stale kept-alive socket is the kit\'s)', async () => {
    const f0 = await settled();
    await rig.client.configureShadow(every);
    rig.green.mode = 'reset';
    const greenBefore = rig.green.received.length;
    expect((await send('GET', '/reset-green')).side).toBe('blue');
    const f = await settled();
    expect(f.greenFailed.error).toBe(f0.greenFailed.error + 1);
    expect(rig.green.received.slice(greenBefore).filter((q) => q.path === '/reset-green')).toHaveLength(2);
    const { samples } = await rig.client.shadowSamples(f0.lastSeq, 10);
    expect(samples[0]).toMatchObject({ path: '/reset-green', blue: { status: 200 }, green: { status: null, failure: 'error' } });
  });

  test('a chosen read blue fails is not mirrored (nothing to compare green with): counted as failed by blue, never lost silently', async () => {
    const f0 = await settled();
    await rig.client.configureShadow(every);
    rig.blue.mode = '500';
    const greenBefore = rig.green.received.length;
    expect((await send('GET', '/blue-fails')).status).toBe(500);
    const f = await settled();
    expect(f.dropped.blueFailed).toBe(f0.dropped.blueFailed + 1);
    expect(f.lastSeq).toBe(f0.lastSeq);
    expect(rig.green.received.length).toBe(greenBefore);
  });

  test('a read chosen while mirroring was on, which blue answers only after it is turned off, is still mirrored and kept (it used to vanish uncounted)', async () => {
    const f0 = await settled();
    await rig.client.configureShadow(every);
    rig.blue.readDelayMs = 400;
    const answer = send('GET', '/late-blue');
    // the router has chosen the read once blue has it (blue then waits 400 ms before answering)
    for (let i = 0; i < 200 && !rig.blue.received.some((q) => q.path === '/late-blue'); i++) await new Promise((r) => setTimeout(r, 10));
    expect((await rig.client.shadowFigures()).awaitingBlue).toBe(1);
    await rig.client.configureShadow(null);
    expect((await answer).side).toBe('blue');
    const f = await settled();
    expect(f.settings).toBeNull();
    const { samples } = await rig.client.shadowSamples(f0.lastSeq, 10);
    expect(samples.map((x) => [x.path, x.blue.status, x.green.status])).toEqual([['/late-blue', 200, 200]]);
  });

  test('over the concurrency limit the read is not mirrored, and the drop is counted', async () => {
    const f0 = await settled();
    await rig.client.configureShadow({ ...every, maxConcurrent: 1, timeoutMs: 1000 });
    rig.green.readDelayMs = 300;
    const answers = await Promise.all([1, 2, 3].map((i) => send('GET', `/busy/${i}`)));
    expect(answers.map((a) => a.side)).toEqual(['blue', 'blue', 'blue']);
    const f = await settled();
    expect(f.dropped.concurrency - f0.dropped.concurrency).toBe(2);
    expect(f.completed - f0.completed).toBe(1);
  });

  test('recheck sends one read to both sides now and returns both answers', async () => {
    const r = await rig.client.recheck({ method: 'GET', path: '/orders/3' });
    expect(JSON.parse(r.blue.body).side).toBe('blue');
    expect(JSON.parse(r.green.body).side).toBe('green');
  });

  test('fails if the settings are out of range or a recheck is a write: USAGE, nothing changed', async () => {
    const err = await rig.client.configureShadow({ ...every, percent: 101 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('USAGE');
    expect((err as CutoverError).message).toContain('percent must be a number from 0 to 100');
    expect((await rig.client.shadowSamples(0, 1)).figures.settings).toBeNull();
    const bad = await rig.client.recheck({ method: 'POST', path: '/orders' }).catch((e: unknown) => e);
    expect((bad as CutoverError).code).toBe('USAGE');
  });
});
