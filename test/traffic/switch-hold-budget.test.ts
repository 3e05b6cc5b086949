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
