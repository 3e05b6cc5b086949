import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResolvedEnvironment } from '../../lib/config/load.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { planRollback, runRollback } from '../../lib/traffic/rollback.ts';
import { RouterClient } from '../../lib/platform/router-client.ts';
import { shadowPhase } from '../../lib/traffic/shadow-phase.ts';
import { startRouterRig, type RouterRig } from '../router/router-rig.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';

let rig: RouterRig;
beforeAll(async () => {
  rig = await startRouterRig();
});
afterAll(async () => {
  await rig?.stop();
});

const shadow = (extra: Record<string, unknown> = {}) => ({ shadow: { seconds: 1.5, percent: 100, noisePercent: 50, minSamples: 5, recheckAfterMs: 50, ...extra } });

/** Runs the phase (apply then verify) while a client sends GETs through the real router. */
async function runWithTraffic(env: ResolvedEnvironment) {
  const platform = { ...fakePlatform({ router: rig.client }), shadow: rig.client };
  const ctx = phaseContext(env, platform);
  let sending = true;
  let sent = 0;
  const traffic = (async () => {
    for (let i = 0; sending; i++) {
      await fetch(`${rig.router.url}/orders/${i % 7}`).then((r) => r.text());
      sent++;
    }
  })();
  // the phase's short window counts from its start: on a loaded machine the client's first
  // requests (fetch warming up) can take most of it, so the traffic runs before the phase does
  for (let i = 0; i < 500 && sent < 10; i++) await new Promise((r) => setTimeout(r, 10));
  try {
    const apply = await shadowPhase.apply(ctx);
    const verify = await shadowPhase.verify(ctx);
    return { apply, verify, ctx };
  } finally {
    sending = false;
    await traffic;
  }
}

describe('shadow phase (real router)', () => {
  test('green answering differently (its tiny app names itself) fails the gate, with the route, the path and both answers; mirroring is off afterwards', async () => {
    const { apply, verify, ctx } = await runWithTraffic(testEnvironment({ router: { adminUrl: rig.router.adminUrl }, ...shadow() }));
    expect(apply.ok).toBe(true);
    expect(verify.ok).toBe(false);
    expect(verify.summary).toContain('/orders/:id: 100 %');
    expect(verify.summary).toContain('$.side');
    expect(ctx.out.text()).toMatch(/e\.g\. GET \/orders\/\d differs at \$\.side: blue 200 .*"side":"blue".* \/ green 200 .*"side":"green"/);
    expect((await rig.client.shadowSamples(0, 1)).figures.settings).toBeNull();
    expect(ctx.journal.entries.filter((r) => r.action === 'router.configureShadow' && r.status === 'ok').length).toBe(2);
  });

  test('the same difference declared accepted: counted apart with its reason, and the gate is green', async () => {
    const reason = 'each tiny app names itself';
    const { verify } = await runWithTraffic(testEnvironment({ router: { adminUrl: rig.router.adminUrl }, ...shadow({ accepted: [{ route: '/orders/:id', paths: ['$.side'], reason }] }) }));
    expect(verify.ok, verify.summary).toBe(true);
    const route = (verify.result as { routes: { route: string; accepted: number; mismatches: number; acceptedReasons: { reason: string }[] }[] }).routes[0]!;
    expect(route.mismatches).toBe(0);
    expect(route.accepted).toBeGreaterThanOrEqual(5);
    expect(route.acceptedReasons[0]!.reason).toBe(reason);
  });

  test('fails if green times out on most mirrored reads: the gate judges them as green\'s failures (it used to count them as drops and pass on the few that answered)', async () => {
    // green answers /orders/0 at once (alike, once its self-naming is accepted) and every other read after 1.5 s
    rig.green.readDelayMs = 1500;
    rig.green.readDelayOnly = (path) => !path.endsWith('/0');
    try {
      const env = testEnvironment({ router: { adminUrl: rig.router.adminUrl }, ...shadow({ timeoutMs: 200, accepted: [{ route: '/orders/:id', paths: ['$.side'], reason: 'each tiny app names itself' }] }) });
      const { verify, ctx } = await runWithTraffic(env);
      expect(verify.ok).toBe(false);
      expect(verify.summary).not.toContain('not proven');
      expect(verify.summary).toMatch(/\/orders\/:id: green failed [\d.]+ % of \d+ reads blue answered \(\d+ timed out\), above the limit 1 % \(shadow\.maxFailedPercent\) — e\.g\. GET \/orders\/[1-6]: green did not answer within 200 ms \(blue 200\)/);
      const route = (verify.result as { routes: { failed: number; failedPercent: number; accepted: number; samples: number }[] }).routes[0]!;
      expect(route.failedPercent).toBeGreaterThan(50);
      expect(route.accepted).toBeGreaterThan(0); // the reads green did answer were compared
      expect(ctx.out.text()).toMatch(/warn +shadow: +e\.g\. GET \/orders\/[1-6]: green did not answer within 200 ms/);
      expect((await rig.client.shadowSamples(0, 1)).figures.settings).toBeNull();
    } finally {
      rig.green.readDelayMs = 0;
      rig.green.readDelayOnly = null;
    }
  });

  test('fails if no read reaches the router: "not proven", never green', async () => {
    const env = testEnvironment({ router: { adminUrl: rig.router.adminUrl }, ...shadow({ seconds: 1 }) });
    const ctx = phaseContext(env, { ...fakePlatform({ router: rig.client }), shadow: rig.client });
    await shadowPhase.apply(ctx);
    const verify = await shadowPhase.verify(ctx);
    expect(verify.ok).toBe(false);
    expect(verify.summary).toContain('not proven: only 0 sample(s) compared');
  });
});

describe('rollback turns shadow reads off (a shadow phase killed half-way leaves the router mirroring)', () => {
  const settings = { percent: 10, noisePercent: 0, timeoutMs: 1000, maxConcurrent: 8 };
  const withShadow = () => phaseContext(testEnvironment({ router: { adminUrl: rig.router.adminUrl } }), { ...fakePlatform({ router: rig.client }), shadow: rig.client });

  test('`cutover rollback`: planned, turned off, journaled and said; a second rollback has nothing to turn off', async () => {
    await rig.client.configureShadow(settings);
    expect((await planRollback(withShadow())).map((s) => s.detail)).toContain('shadow reads off (mirroring 10 % of GET/HEAD to green)');
    const ctx = withShadow();
    const outcome = await runRollback(ctx);
    expect(outcome.ok, outcome.summary).toBe(true);
    expect((await rig.client.shadowFigures()).settings).toBeNull();
    expect(outcome.summary).toContain('shadow reads off');
    expect(ctx.out.text()).toContain('shadow reads off (it mirrored 10 % of GET/HEAD to green)');
    expect(ctx.journal.entries.filter((e) => e.action === 'router.configureShadow' && e.status === 'ok')).toHaveLength(1);

    const again = withShadow();
    expect((await runRollback(again)).summary).not.toContain('shadow');
    expect(again.journal.entries.filter((e) => e.action === 'router.configureShadow')).toHaveLength(0);
  });

  test("the shadow phase's own rollback turns it off and says so", async () => {
    await rig.client.configureShadow(settings);
    const outcome = await shadowPhase.rollback(withShadow());
    expect(outcome.summary).toBe('shadow reads off (they never changed what clients got)');
    expect((await rig.client.shadowFigures()).settings).toBeNull();
    expect((await shadowPhase.rollback(withShadow())).summary).toBe('shadow reads were already off (they never changed what clients got)');
  });
});

describe('a router without a shadow endpoint (not the kit\'s, or older)', () => {
  test('fails as "not available" (exit 1 at the gate), never a pass, and mirrors nothing', async () => {
    // answers the router admin calls the phase needs before mirroring, and 404 to /shadow
    const other = http.createServer((req, res) => {
      const body = req.url === '/state' ? JSON.stringify({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false, heldCount: 0 }) : JSON.stringify({ error: 'NOT_FOUND' });
      res.writeHead(req.url === '/state' ? 200 : 404, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const client = new RouterClient(url);
      const ctx = phaseContext(testEnvironment({ router: { adminUrl: url }, ...shadow() }), { ...fakePlatform({ router: client }), shadow: client });
      const apply = await shadowPhase.apply(ctx);
      expect(apply.ok).toBe(false);
      expect(apply.summary).toMatch(/^not available: the router at router http:\/\/127\.0\.0\.1:\d+ has no shadow endpoint \(router refused GET \/shadow: no such endpoint \(404\)/);
      expect(apply.summary).toContain('shadow.skip');
      const verify = await shadowPhase.verify(ctx);
      expect(verify.ok).toBe(false);
      expect(ctx.journal.entries.filter((e) => e.action === 'router.configureShadow')).toHaveLength(0);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});

describe('shadow phase where nothing can mirror (an ALB)', () => {
  const awsLike = (extra: Record<string, unknown> = {}) => ({ ...testEnvironment(extra), platform: 'aws' }) as unknown as ResolvedEnvironment;

  test('fails as "not available", saying why and how to skip on purpose', async () => {
    const ctx = phaseContext(awsLike(), fakePlatform());
    const apply = await shadowPhase.apply(ctx);
    expect(apply.ok).toBe(false);
    expect(apply.summary).toContain('not available: an ALB cannot mirror requests');
    expect(apply.summary).toContain('shadow.skip');
    expect((await shadowPhase.verify(ctx)).ok).toBe(false);
  });

  test('with the kit\'s router in front of blue named (shadowRouter.adminUrl), it mirrors there: the plan names that router', async () => {
    const env = awsLike({ ...shadow() });
    const withRouter = { ...env, shadowRouter: { adminUrl: rig.router.adminUrl } } as ResolvedEnvironment;
    const steps = await shadowPhase.plan(phaseContext(withRouter, { ...fakePlatform({ router: rig.client }), shadow: rig.client }));
    expect(steps[0]).toMatchObject({ action: 'router.configureShadow', target: `router ${rig.router.adminUrl} (in front of blue, behind the ALB)` });
    const none = await shadowPhase.plan(phaseContext(env, fakePlatform()));
    expect(none[0]!.detail).toContain('name it in shadowRouter.adminUrl');
  });

  test('skipped only when the config says so, with its reason journaled and printed', async () => {
    const ctx = phaseContext(awsLike({ shadow: { skip: { reason: 'ALB only; compared in staging behind the kit router' } } }), fakePlatform());
    const apply = await shadowPhase.apply(ctx);
    expect(apply).toMatchObject({ ok: true, figures: { skipped: true } });
    expect((await shadowPhase.verify(ctx)).ok).toBe(true);
    expect(ctx.journal.entries.some((r) => r.action === 'shadow.skipped')).toBe(true);
    expect(ctx.out.text()).toContain('skipped by the config (shadow.skip): ALB only');
  });
});
