import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { RouterClient } from '../../lib/platform/router-client.ts';
import type { RunningWeightedRouter } from '../../lib/router/weighted-router.ts';
import { shiftPauseFile, shiftPhase, shiftRunningFile } from '../../lib/traffic/shift-phase.ts';
import type { TinyUpstream } from '../router/tiny-upstream.ts';
import { startRouterRig, type RouterRig } from '../router/router-rig.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';
import { startTinyLoad } from './fakes/tiny-load.ts';

let rig: RouterRig;
let blue: TinyUpstream;
let green: TinyUpstream;
let router: RunningWeightedRouter;
let client: RouterClient;

beforeAll(async () => {
  rig = await startRouterRig();
  ({ blue, green, router, client } = rig);
});

afterAll(async () => {
  await rig?.stop();
});

beforeEach(async () => {
  green.mode = 'ok';
  await client.setReadWeight(0);
});

const smoke = [
  { name: 'place order', method: 'POST', path: '/orders', body: { sku: 'A1', qty: 1 }, expectStatus: 200, expectBody: { method: 'POST' }, capture: { who: 'side' } },
  { name: 'get order', path: '/orders/{who}', expectBody: { path: '/orders/green' } },
];

function env(overrides: Record<string, unknown> = {}) {
  return testEnvironment({
    apps: { green: { url: green.url } },
    shift: { steps: [10, 50, 100], bakeSeconds: 0.8 },
    // p99 is judged in gates.test.ts; here a busy machine's latency must not fail a step
    gates: { minRequests: 5, maxErrorRatio: 0.05, maxP99RatioToBlue: 1000 },
    smoke,
    ...overrides,
  });
}

describe('shift phase (real router, live load)', () => {
  test('moves reads 0 -> 100 % in steps after the smoke flow, with 0 failed requests', async () => {
    const load = startTinyLoad(router.url);
    const ctx = phaseContext(env(), fakePlatform({ router: client }));
    const outcome = await shiftPhase.apply(ctx);
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    expect(load.failures).toEqual([]);
    expect(ctx.journal.completedSteps()).toEqual(['shift.smoke', 'router.setReadWeight', 'router.setReadWeight', 'router.setReadWeight']);
    expect(green.received.some((r) => r.path === '/orders/green')).toBe(true);
    expect((await shiftPhase.verify(ctx)).ok).toBe(true);
    // nothing left to do the second time
    expect((await shiftPhase.apply(ctx)).summary).toMatch(/already at 100 %/);
  });

  test('green failing during a step puts reads back to 0 % automatically; clients see no failure', async () => {
    const load = startTinyLoad(router.url);
    const ctx = phaseContext(env(), fakePlatform({ router: client }));
    // green breaks once reads reach it (after the smoke flow, however slow the machine is)
    let watching = true;
    const breakGreen = (async () => {
      while (watching && (await client.state()).readWeightGreen === 0) await new Promise((r) => setTimeout(r, 50));
      if (watching) green.mode = '500';
    })();
    const outcome = await shiftPhase.apply(ctx);
    watching = false;
    await breakGreen;
    await load.stop();
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/green error ratio/);
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(load.failures).toEqual([]);
    const failed = ctx.journal.notes('shift.gate-failed')[0] as { reasons: string[]; greenErrorRatio: number };
    expect(failed.greenErrorRatio).toBeGreaterThan(0.05);
  });

  test('fails if a platform alarm is ALARM (AWS: CloudWatch): reads go back to 0 % although the router saw no error', async () => {
    const load = startTinyLoad(router.url);
    const asked: string[] = [];
    const p = Object.assign(fakePlatform({ router: client }), {
      alarms: {
        judge: async (gate: 'shift' | 'bake') => {
          asked.push(gate);
          return { reasons: ['alarm cutover-lab-green-error-ratio is ALARM: Threshold Crossed'], unproven: null, alarms: [] };
        },
      },
    });
    const ctx = phaseContext(env({ shift: { steps: [10], bakeSeconds: 0.4 } }), p);
    const outcome = await shiftPhase.apply(ctx);
    await load.stop();
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/cutover-lab-green-error-ratio is ALARM/);
    expect(asked[0]).toBe('shift');
    expect((await client.state()).readWeightGreen).toBe(0);
  });

  test('fails if the alarms have no data (INSUFFICIENT_DATA or none found): not proven, never green', async () => {
    const p = Object.assign(fakePlatform({ router: client }), {
      alarms: { judge: async () => ({ reasons: [], unproven: 'alarm without data (INSUFFICIENT_DATA): cutover-lab-green-p99-latency', alarms: [] }) },
    });
    // no load and gates.minRequests 0: the router's own proof is not needed, so the alarms are the
    // only thing left unproven however slow the machine is (a step short of green requests would
    // fail as "not proven" by the router first and hide what this test is about)
    const ctx = phaseContext(env({ shift: { steps: [10], bakeSeconds: 0.3 }, gates: { minRequests: 0, maxErrorRatio: 0.05, maxP99RatioToBlue: 1000, minRequestsWaitSeconds: 0.3 } }), p);
    const outcome = await shiftPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/INSUFFICIENT_DATA/);
    expect((await client.state()).readWeightGreen).toBe(0);
  });

  test('fails if the smoke flow fails: the first step is refused', async () => {
    const ctx = phaseContext(env({ smoke: [{ ...smoke[0], expectStatus: 201 }] }), fakePlatform({ router: client }));
    const outcome = await shiftPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/smoke step "place order" failed.*expected status 201, got 200/);
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(ctx.journal.completedSteps()).not.toContain('router.setReadWeight');
  });

  test('a router left mirroring (a killed shadow phase) is turned off by the shift, which says so, before any move', async () => {
    await client.configureShadow({ percent: 10, noisePercent: 0, timeoutMs: 1000, maxConcurrent: 8 });
    const ctx = phaseContext(env({ smoke: [{ ...smoke[0], expectStatus: 201 }] }), { ...fakePlatform({ router: client }), shadow: client });
    expect((await shiftPhase.apply(ctx)).ok).toBe(false); // the smoke flow refuses the first step: nothing moved
    expect((await client.shadowFigures()).settings).toBeNull();
    expect(ctx.out.text()).toContain('shadow reads off (it mirrored 10 % of GET/HEAD to green)');
  });

  test('replication lag above the limit (a restarted server) holds the shift before any move, until it is back under the limit', async () => {
    const load = startTinyLoad(router.url);
    const p = fakePlatform({ router: client });
    p.forward.lagMs = 60_000;
    const ctx = phaseContext(env({ shift: { steps: [100], bakeSeconds: 0.3 } }), p);
    const running = shiftPhase.apply(ctx);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(ctx.out.text()).toMatch(/warn shift: holding the shift before moving any read: replication lag 60000 ms is above the limit/);
    p.forward.lagMs = 5;
    const outcome = await running;
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    expect(ctx.out.text()).toMatch(/ok shift: replication lag back under the limit after \d+(\.\d)? s \(lag 5 ms\): shifting/);
    expect(ctx.journal.notes('shift.held-for-lag')).toHaveLength(1);
    // live progress while held: the lag it waits on, against the limit
    const held = ctx.out.progressUpdates.filter((u) => u.topic === 'shift' && u.figures?.state === 'held-for-lag');
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]!.figures).toMatchObject({ lagMs: 60_000, maxLagMs: 1000 });
    expect(load.failures).toEqual([]);
  });

  test("a worker still reconnecting to a restarted green holds the shift though its lag reads low; it moves once the worker is back and caught up", async () => {
    // the worker's lag reads 300 ms while it reconnects; once back, its catch-up shows the real
    // lag (what it missed), and only after that comes down may reads move
    const load = startTinyLoad(router.url);
    const p = fakePlatform({ router: client });
    const lostAt = new Date().toISOString();
    p.forward.lagMs = 300;
    p.forward.statusExtra = () => ({ reconnectingSince: lostAt, error: 'reconnecting: connect ECONNREFUSED 127.0.0.1:5433' });
    const ctx = phaseContext(env({ shift: { steps: [100], bakeSeconds: 0.3 } }), p);
    const running = shiftPhase.apply(ctx);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await client.state()).readWeightGreen, ctx.out.text()).toBe(0);
    expect(ctx.out.text()).toMatch(/warn shift: holding the shift before moving any read: replication is reconnecting \(a connection lost \d+ ms ago: reconnecting: connect ECONNREFUSED/);
    // back, catching up: held on the lag itself now
    p.forward.statusExtra = () => ({});
    p.forward.lagMs = 4000;
    await new Promise((r) => setTimeout(r, 700));
    expect((await client.state()).readWeightGreen).toBe(0);
    p.forward.lagMs = 5;
    const outcome = await running;
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    expect(ctx.journal.notes('shift.held-for-lag')).toHaveLength(1);
    expect(load.failures).toEqual([]);
  });

  test("a worker status written before the check began opens nothing: the shift waits for one written since, and reads the lag in it", async () => {
    const load = startTinyLoad(router.url);
    const p = fakePlatform({ router: client });
    const worker = (heartbeatAt: number) => ({ worker: { pid: 4242, host: 'h', heartbeatAt: new Date(heartbeatAt).toISOString(), alive: true } });
    // a starved worker's last status, from before green's restart: lag 0
    const before = Date.now() - 500;
    p.forward.lagMs = 0;
    p.forward.statusExtra = () => worker(before);
    const ctx = phaseContext(env({ shift: { steps: [100], bakeSeconds: 0.3 } }), p);
    const running = shiftPhase.apply(ctx);
    await new Promise((r) => setTimeout(r, 1800));
    expect((await client.state()).readWeightGreen, ctx.out.text()).toBe(0);
    expect(ctx.out.text()).toMatch(/holding the shift before moving any read: the replication worker \(pid 4242\) has written no status since this check began/);
    // it writes again: what it says now (4 s behind) holds the shift, then it is caught up
    p.forward.lagMs = 4000;
    p.forward.statusExtra = () => worker(Date.now());
    await new Promise((r) => setTimeout(r, 700));
    expect((await client.state()).readWeightGreen).toBe(0);
    p.forward.lagMs = 5;
    const outcome = await running;
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    expect(load.failures).toEqual([]);
  });

  test('replication lag that grows once a step has begun still puts reads back to 0 % (no hold inside a step)', async () => {
    const load = startTinyLoad(router.url);
    const p = fakePlatform({ router: client });
    const ctx = phaseContext(env({ shift: { steps: [10, 100], bakeSeconds: 1.5 } }), p);
    const running = shiftPhase.apply(ctx);
    for (let i = 0; i < 100 && (await client.state()).readWeightGreen !== 10; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await client.state()).readWeightGreen).toBe(10);
    p.forward.lagMs = 5000;
    const outcome = await running;
    await load.stop();
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^gate failed at 10 % green: replication lag 5000 ms is above the limit 1000 ms; reads rolled back to 0 %/);
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(ctx.journal.notes('shift.held-for-lag')).toHaveLength(0);
    expect(load.failures).toEqual([]);
  });

  test('fails if replication is stopped: the lag gate refuses before any move', async () => {
    const p = fakePlatform({ router: client });
    p.forward.phase = 'stopped';
    const outcome = await shiftPhase.apply(phaseContext(env(), p));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/lag is unknown/);
    expect((await client.state()).readWeightGreen).toBe(0);
  });

  test('--to moves to one weight by hand; --pause holds a running step, with a line, until --resume', async () => {
    const load = startTinyLoad(router.url);
    const e = env({ shift: { steps: [100], bakeSeconds: 0.3 } });
    const p = fakePlatform({ router: client });
    expect((await shiftPhase.apply(phaseContext(e, p, { options: { to: 30 } }))).ok).toBe(true);
    expect((await client.state()).readWeightGreen).toBe(30);

    const t0 = Date.now();
    const ctx = phaseContext(e, p);
    const running = shiftPhase.apply(ctx);
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(shiftRunningFile(e.stateDir))).toBe(true);
    const paused = await shiftPhase.apply(phaseContext(e, p, { options: { pause: true } }));
    expect(paused.summary).toMatch(/^paused the shift of pid \d+/);
    expect(existsSync(shiftPauseFile(e.stateDir))).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(ctx.out.text()).toMatch(/warn shift: paused at 100 % \(gates still watched\) — `cutover shift --resume` continues/);
    expect((await shiftPhase.apply(phaseContext(e, p, { options: { resume: true } }))).summary).toMatch(/^resumed the shift/);
    const outcome = await running;
    await load.stop();
    expect(outcome.ok, outcome.summary).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1100);
    expect(ctx.out.text()).toMatch(/info shift: reads 100 %: resumed after a pause of \d+ s/);
    expect((await client.state()).readWeightGreen).toBe(100);
    // the shift is over: its marker is gone, so a stray --pause now is refused
    expect(existsSync(shiftRunningFile(e.stateDir))).toBe(false);
  });

  test('fails if --pause is given with no shift running (USAGE, nothing written)', async () => {
    const e = env();
    const err = await shiftPhase.apply(phaseContext(e, fakePlatform({ router: client }), { options: { pause: true } })).catch((x: { code?: string; message?: string }) => x);
    expect((err as { code: string }).code).toBe('USAGE');
    expect((err as Error).message).toMatch(/no shift is running: there is nothing to pause/);
    expect(existsSync(shiftPauseFile(e.stateDir))).toBe(false);
    // a marker left by a shift that was killed does not count as running
    mkdirSync(e.stateDir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(shiftRunningFile(e.stateDir), JSON.stringify({ pid: dead, host: os.hostname(), since: '2025-01-01T00:00:00Z' }));
    const again = await shiftPhase.apply(phaseContext(e, fakePlatform({ router: client }), { options: { resume: true } })).catch((x: { code?: string }) => x);
    expect((again as { code: string }).code).toBe('USAGE');
  });

  test('a pause file from before the shift started is removed with a warning and does not hold it', async () => {
    const load = startTinyLoad(router.url);
    const e = env({ shift: { steps: [10], bakeSeconds: 0.4 } });
    mkdirSync(e.stateDir, { recursive: true });
    writeFileSync(shiftPauseFile(e.stateDir), '2025-01-01T00:00:00.000Z\n');
    const ctx = phaseContext(e, fakePlatform({ router: client }));
    const outcome = await shiftPhase.apply(ctx);
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    // Held by the stale file, the shift would journal a pause (and never finish): it did neither.
    expect(ctx.journal.notes('shift.paused')).toHaveLength(0);
    expect(existsSync(shiftPauseFile(e.stateDir))).toBe(false);
    expect(ctx.out.text()).toMatch(/warn shift: removed a pause file from 2025-01-01T00:00:00.000Z, left before this shift started/);
    expect(ctx.journal.notes('shift.stale-pause-removed')).toHaveLength(1);
  });

  test('fails if green serves no traffic: the step is not proven, and reads go back to 0 %', async () => {
    // no load: only the smoke flow, which talks to green directly, not through the router
    const e = env({ shift: { steps: [1, 100], bakeSeconds: 0.3 }, gates: { minRequests: 5, minRequestsWaitSeconds: 0.5 } });
    const ctx = phaseContext(e, fakePlatform({ router: client }));
    const outcome = await shiftPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/gate failed at 1 % green: not proven: only 0 green requests in \d+ s \(minimum 5, gates.minRequests\).*fix: send real traffic through the router.*gates.minRequests lower/);
    expect(ctx.out.text()).not.toMatch(/gates green/);
    expect(ctx.out.text()).toMatch(/info shift: reads 1 %: not proven: only 0 green requests/);
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(ctx.journal.notes('shift.gate-failed')[0]).toMatchObject({ atWeight: 1, notProven: true, greenRequests: 0 });
  });

  test('each step line carries its figures: requests, error ratio, latency and lag', async () => {
    const load = startTinyLoad(router.url);
    const ctx = phaseContext(env({ shift: { steps: [50], bakeSeconds: 0.5 }, gates: { minRequests: 5, maxErrorRatio: 0.5, maxP99RatioToBlue: 1000 } }), fakePlatform({ router: client }));
    const outcome = await shiftPhase.apply(ctx);
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    expect(ctx.out.text()).toMatch(/info shift: reads 50 % to green; baking 0.5 s with gates: green errors <= 50 % \(beyond chance at 95 % confidence\), p99 <= 1000x blue's \(p90 or median below 100 green requests\), lag <= 1000 ms, at least 5 green requests/);
    expect(ctx.out.text()).toMatch(/ok shift: reads 50 % to green held \d+ s with gates green: \d+ green requests, error ratio [\d.]+ % \(\d+ failed\), p(99|90|50) [\d.]+ ms( \(blue [\d.]+ ms\))?, lag 5 ms/);
  });

  test('fails if --to is not a percentage (USAGE)', async () => {
    const err = await shiftPhase.apply(phaseContext(env(), fakePlatform({ router: client }), { options: { to: 130 } })).catch((e: { code?: string }) => e);
    expect((err as { code: string }).code).toBe('USAGE');
  });
});
