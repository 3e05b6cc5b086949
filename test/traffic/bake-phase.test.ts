import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { bakePhase } from '../../lib/traffic/bake-phase.ts';
import { startRouterRig, type RouterRig } from '../router/router-rig.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';
import { startTinyLoad } from './fakes/tiny-load.ts';

let rig: RouterRig;

beforeAll(async () => {
  rig = await startRouterRig();
});

afterAll(async () => {
  await rig?.stop();
});

beforeEach(async () => {
  // after the write switch: every read and write goes to green
  await rig.client.setReadWeight(100);
});

/** A platform whose reverse replication (green -> blue) is streaming, as after the switch. */
function platform() {
  const p = fakePlatform({ router: rig.client });
  p.reverse.phase = 'cdc';
  return p;
}

describe('bake phase (real router)', () => {
  test('fails if green serves no traffic: "not proven", not "baked with gates green", and no rollback advice', async () => {
    const env = testEnvironment({ bake: { seconds: 0.4 }, gates: { minRequests: 5, minRequestsWaitSeconds: 0.4 } });
    const ctx = phaseContext(env, platform());
    const outcome = await bakePhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^bake not proven: not proven: only 0 green requests in \d+ s \(minimum 5, gates.minRequests\).*run `cutover bake` again/);
    expect(outcome.summary).not.toMatch(/gates green|cutover rollback`$/);
    expect(outcome.figures).toMatchObject({ notProven: true, greenRequests: 0 });
    // the watch step is journaled failed, so the bake gate stays closed
    expect(ctx.journal.completedSteps()).not.toContain('bake.watch');
    expect((await bakePhase.verify(ctx)).ok).toBe(false);
  });

  test('fails if the bake alarms are ALARM or not found, under traffic the router judges green', async () => {
    const load = startTinyLoad(rig.router.url);
    const env = testEnvironment({ bake: { seconds: 0.4 }, gates: { minRequests: 1, maxErrorRatio: 0.5, maxP99RatioToBlue: 1000, minRequestsWaitSeconds: 0.3 } });
    const asked: string[] = [];
    const red = Object.assign(platform(), {
      alarms: {
        judge: async (gate: 'shift' | 'bake') => {
          asked.push(gate);
          return { reasons: ['alarm cutover-lab-reverse-cdc-latency-target is ALARM: Threshold Crossed'], unproven: null, alarms: [] };
        },
      },
    });
    const failed = await bakePhase.apply(phaseContext(env, red));
    const missing = Object.assign(platform(), {
      alarms: { judge: async () => ({ reasons: [], unproven: 'no CloudWatch alarm named cutover-lab-green-error-ratio (deploy the stack: npx cdk deploy)', alarms: [] }) },
    });
    const unproven = await bakePhase.apply(phaseContext(env, missing));
    await load.stop();
    expect(asked[0]).toBe('bake');
    expect(failed.ok).toBe(false);
    expect(failed.summary).toMatch(/reverse-cdc-latency-target is ALARM/);
    expect(unproven.ok).toBe(false);
    expect(unproven.summary).toMatch(/no CloudWatch alarm named cutover-lab-green-error-ratio/);
  });

  test('passes under live load; the summary carries requests, error ratio, latency and reverse lag', async () => {
    const load = startTinyLoad(rig.router.url);
    const env = testEnvironment({ bake: { seconds: 0.6 }, gates: { minRequests: 5, maxErrorRatio: 0.5, maxP99RatioToBlue: 1000 } });
    const ctx = phaseContext(env, platform());
    const outcome = await bakePhase.apply(ctx);
    await load.stop();
    expect(outcome.ok, ctx.out.text()).toBe(true);
    expect(outcome.summary).toMatch(/^baked \d+ s with gates green: \d+ green requests, error ratio [\d.]+ % \(\d+ failed\), p(99|90|50) [\d.]+ ms.*, reverse lag 5 ms$/);
    expect(outcome.figures!.greenRequests as number).toBeGreaterThanOrEqual(5);
    expect(ctx.out.text()).toMatch(/info bake: watching the gates for 0.6 s: .*at least 5 green requests/);
    expect(ctx.journal.completedSteps()).toContain('bake.watch');
    expect((await bakePhase.verify(ctx)).ok).toBe(true);
  });

  test('fails if blue refused some of green\'s changes since the switch (reverse dead letters), gates green or not: a rollback would stop on them', async () => {
    // trial6: every order line green took was refused by blue (a column the reverse mapping wrote is
    // computed on blue) and the bake passed; an earlier cycle's dead letter does not count
    const load = startTinyLoad(rig.router.url);
    const env = testEnvironment({ bake: { seconds: 0.6 }, gates: { minRequests: 5, maxErrorRatio: 0.5, maxP99RatioToBlue: 1000 } });
    const p = platform();
    p.reverse.statusExtra = () => ({ deadLetters: 4 });
    const at = new Date().toISOString();
    const rec = (seq: number, action: string, result?: unknown) => ({ seq, time: at, operator: 'o', host: 'h', pid: 1, env: 'lab', phase: 'switch', action, status: 'ok' as const, result });
    const ctx = { ...phaseContext(env, p), history: [rec(1, 'reverse.start', { fromPosition: '0', phase: 'cdc', deadLetters: 1 }), rec(2, 'switch.flip')] };
    const outcome = await bakePhase.apply(ctx);
    await load.stop();
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^bake failed: blue refused 3 of green's changes since the switch \(reverse replication's dead letters\): a rollback would stop on them; read them on blue/);
    expect(outcome.figures).toMatchObject({ refusedByBlue: 3 });
    expect(ctx.journal.completedSteps()).not.toContain('bake.watch');
    expect((await bakePhase.verify(ctx)).ok).toBe(false);
  });
});
