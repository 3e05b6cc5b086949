import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import type { ValidationReport, Validator } from '../../lib/platform/roles.ts';
import { switchPhase } from '../../lib/traffic/switch-phase.ts';
import { undoReserveMs } from '../../lib/config/common-schema.ts';
import { startRouterRig, type RouterRig } from '../router/router-rig.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';
import { startTinyLoad } from './fakes/tiny-load.ts';

/**
 * The steps inside the write hold must fit in the router's cap (switch.maxHoldMs): once it runs
 * out, the router answers every held and new write 503 (WRITES_PAUSED). A slow machine once made
 * the hold outlast the cap in `rehearsal --fault operator-dies-in-switch` (326 client writes
 * answered 503 in CI: ~15 s of held writes refused at the cap, then new ones until the release).
 * The timings are injected here: a frozen validation, or a drain plus a catch-up, longer than the
 * cap. The switch must undo before the cap, releasing the held writes to blue: none refused.
 */
const MAX_HOLD_MS = 3000;
const env = testEnvironment({ switch: { catchUpTimeoutMs: 2000, maxHoldMs: MAX_HOLD_MS, sequenceGap: 100 } });

let rig: RouterRig;
beforeAll(async () => {
  rig = await startRouterRig();
});
afterAll(async () => {
  await rig?.stop();
});

async function switchUnderLoad(slow: (p: ReturnType<typeof fakePlatform>) => void) {
  await rig.client.setWriteTarget('blue');
  await rig.client.setReadWeight(100);
  const p = fakePlatform({ router: rig.client });
  p.blue.write();
  slow(p);
  const before = (await rig.client.metrics()).held.refused ?? 0;
  const load = startTinyLoad(rig.router.url, { intervalMs: 10, writeEvery: 3 });
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  const outcome = await switchPhase.apply(phaseContext(env, p));
  const tookMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 200));
  await load.stop();
  const refused = ((await rig.client.metrics()).held.refused ?? 0) - before;
  const summary = `${outcome.summary}; ${refused} write(s) refused by the cap; failures: ${load.failures.slice(0, 3).join(', ')}`;
  return { p, outcome, load, refused, tookMs, summary };
}

describe('switch: the steps inside the write hold are bounded by the router cap', () => {
  test('the undo reserve is a fifth of the cap, between 1 s and 10 s', () => {
    expect([undoReserveMs(3000), undoReserveMs(15_000), undoReserveMs(240_000)]).toEqual([1000, 3000, 10_000]);
  });

  test('a frozen validation slower than the cap: undone before the cap, the held writes go to blue, none refused', async () => {
    const r = await switchUnderLoad((p) => {
      (p.validator as Validator).validate = (options) =>
        new Promise<ValidationReport>((_, reject) => {
          const fail = () => reject(new CutoverError('ABORTED', 'validation aborted'));
          const timer = setTimeout(() => reject(new Error('the validation was never stopped')), MAX_HOLD_MS + 1500);
          options?.signal?.addEventListener('abort', () => (clearTimeout(timer), fail()), { once: true });
        });
    });
    expect(r.refused, r.summary).toBe(0);
    expect(r.load.failures, r.summary).toEqual([]);
    expect(r.outcome.ok).toBe(false);
    expect(r.outcome.summary).toMatch(/^switch undone: the frozen validation did not finish within the write hold's budget \(switch\.maxHoldMs 3000 ms less 1000 ms kept to undo\).*writes resumed on blue, nothing lost/);
    expect(r.outcome.figures).toMatchObject({ undone: true, holdBudgetSpent: true, writeTarget: 'blue' });
    expect(await rig.client.state()).toMatchObject({ writeTarget: 'blue', writesHeld: false, writesRefused: false });
    expect(r.p.blue.readOnly).toBe(false);
    expect(r.load.writes.filter((w) => w.side === 'blue').length).toBeGreaterThan(0);
  });

  test('a slow drain plus a catch-up that never arrives: the catch-up waits only what is left of the cap, none refused', async () => {
    const r = await switchUnderLoad((p) => {
      // writes in flight at the hold take 1.2 s (the drain), then the catch-up waits its whole timeout
      rig.blue.writeDelayMs = 1200;
      // the check before anything pauses (the first wait) catches up at once; the one in the hold never does
      const instant = p.forward.waitForPosition.bind(p.forward);
      let waits = 0;
      p.forward.waitForPosition = (position, timeoutMs) => (waits++ === 0 ? instant(position, timeoutMs) : new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs)));
    });
    rig.blue.writeDelayMs = 0;
    expect(r.refused, r.summary).toBe(0);
    expect(r.load.failures, r.summary).toEqual([]);
    expect(r.outcome.ok).toBe(false);
    expect(r.outcome.summary).toMatch(/^switch undone: green's catch-up to blue's final position \d+ \(waited \d+ ms of switch\.catchUpTimeoutMs 2000\) did not finish within the write hold's budget/);
    expect(r.outcome.figures!.catchUpWaitMs as number).toBeLessThan(2000);
    expect(await rig.client.state()).toMatchObject({ writeTarget: 'blue', writesHeld: false, writesRefused: false });
  });
});

/**
 * Writes already on their way to blue when the hold begins must finish before the fence: the fence
 * ends their sessions, and a write whose COMMIT it cuts off has an outcome nobody can tell the
 * client (on MariaDB it failed, 503, in `rehearsal --legacy mariadb` on a loaded machine: the app,
 * starved of CPU, took 8 s over its writes, and the router's drain gave up after a fixed 5 s).
 * Waiting for them is a step inside the hold (docs/config-reference.md, `switch.maxHoldMs`): it
 * may use the budget, and when they are still in flight once the budget is spent the switch undoes
 * without fencing blue.
 */
describe('switch: writes in flight at the hold finish before blue is fenced', () => {
  /** Runs the switch with blue's writes taking `writeDelayMs`; records how many were in flight at blue's fence. */
  async function switchWithSlowWrites(maxHoldMs: number, writeDelayMs: number) {
    const slowEnv = testEnvironment({ switch: { catchUpTimeoutMs: 1000, maxHoldMs, sequenceGap: 100 } });
    const atFence: number[] = [];
    await rig.client.setWriteTarget('blue');
    await rig.client.setReadWeight(100);
    const p = fakePlatform({ router: rig.client });
    p.blue.write();
    const refuse = p.fence.refuseWrites.bind(p.fence);
    p.fence.refuseWrites = async (side) => {
      if (side === 'blue') atFence.push(rig.blue.inFlight);
      return refuse(side);
    };
    rig.blue.writeDelayMs = writeDelayMs;
    const before = (await rig.client.metrics()).held.refused ?? 0;
    const load = startTinyLoad(rig.router.url, { intervalMs: 20, writeEvery: 3 });
    try {
      // writes are on their way to blue (each takes writeDelayMs) when the switch holds them
      await new Promise((r) => setTimeout(r, 300));
      expect(rig.blue.inFlight).toBeGreaterThan(0);
      const outcome = await switchPhase.apply(phaseContext(slowEnv, p));
      await new Promise((r) => setTimeout(r, 200));
      await load.stop();
      const refused = ((await rig.client.metrics()).held.refused ?? 0) - before;
      return { p, outcome, load, refused, atFence, summary: `${outcome.summary}; in flight at blue's fence: ${atFence.join(', ') || 'not fenced'}; ${refused} refused; failures: ${load.failures.slice(0, 3).join(', ')}` };
    } finally {
      rig.blue.writeDelayMs = 0;
      await load.stop();
    }
  }

  test('writes in flight longer than 5 s (within the budget): blue is fenced only once they were answered, and the switch goes on', async () => {
    // cap 8 s: budget 6.4 s; each write to blue takes 5.6 s, longer than the router's own 5 s drain
    const r = await switchWithSlowWrites(8000, 5600);
    expect(r.atFence, r.summary).toEqual([0]);
    expect(r.outcome.ok, r.summary).toBe(true);
    expect(r.refused, r.summary).toBe(0);
    expect(r.load.failures, r.summary).toEqual([]);
    expect(r.load.writes.some((w) => w.side === 'green')).toBe(true);
    expect(await rig.client.state()).toMatchObject({ writeTarget: 'green', writesHeld: false });
  });

  test('writes still in flight when the budget is spent: undone without fencing blue, every write answered by blue, none refused', async () => {
    // cap 3 s: budget 2 s; each write to blue takes 3.5 s
    const r = await switchWithSlowWrites(MAX_HOLD_MS, 3500);
    expect(r.atFence, r.summary).toEqual([]);
    expect(r.p.log).not.toContain('fence.refuseWrites(blue)');
    expect(r.outcome.ok).toBe(false);
    expect(r.outcome.summary).toMatch(/^switch undone: the \d+ write\(s\) already in flight to blue when writes were held did not finish within the write hold's budget \(switch\.maxHoldMs 3000 ms less 1000 ms kept to undo\).*writes resumed on blue, nothing lost/);
    expect(r.outcome.figures).toMatchObject({ undone: true, holdBudgetSpent: true, writeTarget: 'blue' });
    expect(r.refused, r.summary).toBe(0);
    expect(r.load.failures, r.summary).toEqual([]);
    expect(r.load.writes.every((w) => w.side === 'blue')).toBe(true);
    expect(await rig.client.state()).toMatchObject({ writeTarget: 'blue', writesHeld: false, writesRefused: false });
  });
});
