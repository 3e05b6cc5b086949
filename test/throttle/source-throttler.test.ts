import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pacingSchema, type PacingConfig } from '../../lib/config/common-schema.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { SourceHealth } from '../../lib/platform/roles.ts';
import { RouterClient } from '../../lib/platform/router-client.ts';
import { startWeightedRouter, type RunningWeightedRouter } from '../../lib/router/weighted-router.ts';
import { RouterAndSessionProbe, type SourceHealthProbe } from '../../lib/throttle/source-health.ts';
import { SourceThrottler } from '../../lib/throttle/source-throttler.ts';
import { judgeStress } from '../../lib/throttle/stress-judgement.ts';
import { PacedStream } from '../../lib/throttle/paced-stream.ts';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startTestPostgres } from '../_helpers/pg.ts';

const pacing = (o: Partial<PacingConfig> = {}): PacingConfig => pacingSchema.parse(o);
const healthy: SourceHealth = { blueP99Ms: 50, blueRequests: 100, activeSessions: 1, probeMs: 2 };

/** A probe answering a scripted health, and a clock that only the throttler's sleeps move. */
function scripted(health: () => SourceHealth) {
  let t = 0;
  let samples = 0;
  const probe: SourceHealthProbe = { caveat: null, sample: async () => (samples++, health()), close: async () => {} };
  const ports = { now: () => t, sleep: async (ms: number) => void (t += ms) };
  return { probe, ports, advance: (ms: number) => (t += ms), samples: () => samples, now: () => t };
}

describe('judgeStress', () => {
  test('each figure over its budget is the reason, with the numbers', () => {
    const limits = pacing({ maxBlueP99Ms: 500, maxActiveSessions: 4, maxProbeMs: 100 });
    expect(judgeStress(healthy, limits)).toBeNull();
    expect(judgeStress({ ...healthy, blueP99Ms: 1000 }, limits)).toMatchObject({ kind: 'blue-p99', reason: expect.stringContaining('blue p99 1000 ms') });
    expect(judgeStress({ ...healthy, activeSessions: 5 }, limits)).toMatchObject({ kind: 'active-sessions', reason: expect.stringContaining('5 active sessions') });
    expect(judgeStress({ ...healthy, probeMs: 250 }, limits)).toMatchObject({ kind: 'probe' });
  });

  test('a figure nobody could read never pauses; the probe is judged only when configured', () => {
    expect(judgeStress({ blueP99Ms: null, blueRequests: 0, activeSessions: null, probeMs: null }, pacing())).toBeNull();
    expect(judgeStress({ ...healthy, probeMs: 5000 }, pacing())).toBeNull();
  });
});

describe('SourceThrottler', () => {
  test('readers wait while blue is under stress and go on when it recovers: one pause, printed once each way', async () => {
    // blue recovers 3 s into the pause
    const s: ReturnType<typeof scripted> = scripted(() => ({ ...healthy, blueP99Ms: s.now() >= 3000 ? 100 : 2500 }));
    const out = new RecordingOutput();
    const throttler = new SourceThrottler(pacing({ maxBlueP99Ms: 1000 }), s.probe, out, s.ports);
    const ran: number[] = [];
    await Promise.all([1, 2, 3].map(() => throttler.paced('validate', async () => void ran.push(s.now()))));
    expect(ran.every((at) => at >= 3000)).toBe(true);
    const f = throttler.figures();
    expect(f).toMatchObject({ chunks: 3, pauses: 1, forcedResumes: 0, reasons: { 'blue-p99': 1 }, maxBlueP99Ms: 2500 });
    expect(f.pausedMs).toBeGreaterThanOrEqual(3000);
    expect(out.lines.filter((l) => l.message.startsWith('pacing: reads on the source wait: blue p99 2500 ms'))).toHaveLength(1);
    expect(out.lines.filter((l) => l.message.startsWith('pacing: reads on the source go on after'))).toHaveLength(1);
  });

  test('a pause lasts at most maxPauseMs, then reads run as long unpaused before waiting again', async () => {
    const s = scripted(() => ({ ...healthy, activeSessions: 50 }));
    const out = new RecordingOutput();
    const throttler = new SourceThrottler(pacing({ maxActiveSessions: 16, maxPauseMs: 2000 }), s.probe, out, s.ports);
    await throttler.paced('full-load', async () => {});
    expect(s.now()).toBeGreaterThanOrEqual(2000);
    expect(s.now()).toBeLessThan(2600);
    // within the grace that follows, a chunk does not wait
    const before = s.now();
    s.advance(1000);
    await throttler.paced('full-load', async () => {});
    expect(s.now()).toBe(before + 1000);
    // after it, blue still under stress: the next chunk waits again
    s.advance(1500);
    const t = s.now();
    await throttler.paced('full-load', async () => {});
    expect(s.now() - t).toBeGreaterThanOrEqual(2000);
    expect(throttler.figures()).toMatchObject({ pauses: 2, forcedResumes: 2, reasons: { 'active-sessions': 2 } });
    expect(out.lines.some((l) => l.level === 'warn' && l.message.includes('pacing.maxPauseMs') && l.message.includes('50 active sessions'))).toBe(true);
  });

  test('niceRatio rests after each chunk for that share of its time; progress figures say why reads wait', async () => {
    const s = scripted(() => healthy);
    const throttler = new SourceThrottler(pacing({ niceRatio: 0.5 }), s.probe, new RecordingOutput(), s.ports);
    await throttler.paced('validate', async () => void s.advance(400));
    expect(s.now()).toBe(600);
    await throttler.pause('snapshot', 200);
    expect(throttler.figures()).toMatchObject({ chunks: 2, restedMs: 300, pauses: 0 });
    expect(throttler.progressFigures()).toEqual({});
  });

  test('disabled: the probe is never asked and nothing waits', async () => {
    const s = scripted(() => ({ ...healthy, blueP99Ms: 60000 }));
    const throttler = new SourceThrottler(pacing({ enabled: false }), s.probe, new RecordingOutput(), s.ports);
    await throttler.paced('validate', async () => {});
    await throttler.pause('snapshot', 1000);
    expect(s.samples()).toBe(0);
    expect(s.now()).toBe(0);
  });
});

describe('PacedStream', () => {
  test('passes every byte through unchanged and asks the throttler once per slice', async () => {
    const asked: number[] = [];
    const throttler = { pause: async (_t: string, worked: number) => void asked.push(worked) } as unknown as SourceThrottler;
    const parts = Array.from({ length: 6 }, (_, i) => Buffer.from(`row ${i}\n`));
    const got: Buffer[] = [];
    async function* slow() {
      for (const p of parts) {
        await new Promise((r) => setTimeout(r, 30));
        yield p;
      }
    }
    await pipeline(Readable.from(slow()), new PacedStream(throttler, 'snapshot', 50), new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) }));
    expect(Buffer.concat(got).toString()).toBe(parts.map(String).join(''));
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(asked.length).toBeLessThan(parts.length);
    expect(asked.every((ms) => ms >= 50)).toBe(true);
  });
});

describe('RouterAndSessionProbe on a real PostgreSQL and a real router', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let router: RunningWeightedRouter;
  let blue: http.Server;
  let blueDelayMs = 0;

  beforeAll(async () => {
    server = await startTestPostgres('shop');
    blue = http.createServer((_req, res) => setTimeout(() => res.end('{}'), blueDelayMs));
    await new Promise<void>((r) => blue.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(blue.address() as AddressInfo).port}`;
    router = await startWeightedRouter({ blueUrl: url, greenUrl: url, maxHoldMs: 1000 });
  }, 120_000);

  afterAll(async () => {
    await router?.stop();
    await new Promise<void>((r) => (blue ? blue.close(() => r()) : r()));
    await server?.dispose();
  });

  test("counts the business's active sessions, not the kit's own, and reads blue's p99 over the window", async () => {
    const sessions: pg.Client[] = [];
    const open = async (name: string) => {
      const c = new pg.Client({ connectionString: server.url, application_name: name });
      c.on('error', () => {});
      await c.connect();
      sessions.push(c);
      return c;
    };
    const probe = new RouterAndSessionProbe(server.url, new RouterClient(router.adminUrl), 500);
    try {
      const before = await probe.sample();
      expect(before.activeSessions).toBe(0);
      expect(before.probeMs).not.toBeNull();
      // three business sessions and one of the kit's, all running a statement
      const running = [
        ...(await Promise.all(['shop-app', 'shop-app', 'shop-app'].map(open))).map((c) => c.query('select pg_sleep(30)').catch(() => {})),
        (await open('cutover-validate')).query('select pg_sleep(30)').catch(() => {}),
      ];
      await expect.poll(async () => (await probe.sample()).activeSessions, { timeout: 20_000, interval: 200 }).toBe(3);

      // blue answers slowly: a throttler with a 100 ms budget waits, and says why
      blueDelayMs = 300;
      const call = () => fetch(router.url + '/orders/1').then((r) => r.text());
      for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 4 }, call));
      await new Promise((r) => setTimeout(r, 600));
      for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: 4 }, call));
      const slow = await probe.sample();
      expect(slow.blueRequests).toBeGreaterThanOrEqual(5);
      expect(slow.blueP99Ms).toBeGreaterThanOrEqual(500);
      expect(judgeStress(slow, pacing({ maxBlueP99Ms: 100, windowMs: 500 }))?.kind).toBe('blue-p99');

      const admin = await open('test-admin');
      await admin.query("select pg_cancel_backend(pid) from pg_stat_activity where query like 'select pg_sleep%' and pid <> pg_backend_pid()");
      await Promise.all(running);
      await expect.poll(async () => (await probe.sample()).activeSessions, { timeout: 20_000, interval: 200 }).toBe(0);
    } finally {
      await probe.close();
      await Promise.all(sessions.map((c) => c.end().catch(() => {})));
    }
  }, 60_000);
});
