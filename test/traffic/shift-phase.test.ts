import { existsSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { RouterClient } from '../../lib/router/router-client.ts';
import type { RunningWeightedRouter } from '../../lib/router/weighted-router.ts';
import { shiftPauseFile, shiftPhase } from '../../lib/traffic/shift-phase.ts';
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
    gates: { minRequests: 5, maxErrorRatio: 0.05 },
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
    expect(outcome.ok).toBe(true);
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
    const breakGreen = setTimeout(() => (green.mode = '500'), 400);
    const outcome = await shiftPhase.apply(ctx);
    clearTimeout(breakGreen);
    await load.stop();
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/green error ratio/);
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(load.failures).toEqual([]);
    const failed = ctx.journal.notes('shift.gate-failed')[0] as { reasons: string[]; greenErrorRatio: number };
    expect(failed.greenErrorRatio).toBeGreaterThan(0.05);
  });

  test('fails if the smoke flow fails: the first step is refused', async () => {
    const ctx = phaseContext(env({ smoke: [{ ...smoke[0], expectStatus: 201 }] }), fakePlatform({ router: client }));
    const outcome = await shiftPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/smoke step "place order" failed.*expected status 201, got 200/);
    expect((await client.state()).readWeightGreen).toBe(0);
    expect(ctx.journal.completedSteps()).not.toContain('router.setReadWeight');
  });

  test('fails if replication is stopped: the lag gate refuses before any move', async () => {
    const p = fakePlatform({ router: client });
    p.forward.phase = 'stopped';
    const outcome = await shiftPhase.apply(phaseContext(env(), p));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/lag is unknown/);
    expect((await client.state()).readWeightGreen).toBe(0);
  });

  test('--to moves to one weight by hand; --pause holds a running step until --resume', async () => {
    const e = env({ shift: { steps: [100], bakeSeconds: 0.3 } });
    const p = fakePlatform({ router: client });
    expect((await shiftPhase.apply(phaseContext(e, p, { options: { to: 30 } }))).ok).toBe(true);
    expect((await client.state()).readWeightGreen).toBe(30);

    await shiftPhase.apply(phaseContext(e, p, { options: { pause: true } }));
    expect(existsSync(shiftPauseFile(e.stateDir))).toBe(true);
    const t0 = Date.now();
    const running = shiftPhase.apply(phaseContext(e, p));
    setTimeout(() => void shiftPhase.apply(phaseContext(e, p, { options: { resume: true } })), 1200);
    expect((await running).ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1100);
    expect((await client.state()).readWeightGreen).toBe(100);
  });

  test('fails if --to is not a percentage (USAGE)', async () => {
    const err = await shiftPhase.apply(phaseContext(env(), fakePlatform({ router: client }), { options: { to: 130 } })).catch((e: { code?: string }) => e);
    expect((err as { code: string }).code).toBe('USAGE');
  });
});
