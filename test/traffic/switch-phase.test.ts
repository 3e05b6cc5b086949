import { describe, expect, test } from 'vitest';
import type { WriteFence } from '../../lib/platform/roles.ts';
import { runRollback } from '../../lib/traffic/rollback.ts';
import { SWITCH_STEPS, switchPhase } from '../../lib/traffic/switch-phase.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { MemoryJournal, SimulatedKill } from './fakes/memory-journal.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';

const env = testEnvironment({ switch: { catchUpTimeoutMs: 200, maxHoldMs: 5000, sequenceGap: 100 } });

/** A platform as the shift leaves it: reads all on green, forward replication streaming. */
function readyPlatform() {
  const p = fakePlatform();
  p.fakeRouter!.readWeightGreen = 100;
  p.blue.write();
  p.blue.write();
  return p;
}

/**
 * The catch-up inside the write hold answers `answer`; the check before anything pauses (writes
 * not held yet) catches up at once, as a streaming worker with no backlog does.
 */
function catchUpInHold(p: ReturnType<typeof fakePlatform>, answer: (position: string, timeoutMs: number) => Promise<boolean>): () => void {
  const instant = p.forward.waitForPosition.bind(p.forward);
  p.forward.waitForPosition = (position, timeoutMs) => (p.fakeRouter!.writesHeld ? answer(position, timeoutMs) : instant(position, timeoutMs));
  return () => (p.forward.waitForPosition = instant);
}

/** Writes are accepted by the side the router sends them to: never refused on both. */
function writesFlow(p: ReturnType<typeof fakePlatform>): boolean {
  const r = p.fakeRouter!;
  return !r.writesHeld && !p[r.writeTarget].readOnly;
}

async function applyCatchingKill(ctx: ReturnType<typeof phaseContext>) {
  try {
    return await switchPhase.apply(ctx);
  } catch (err) {
    if (err instanceof SimulatedKill) return null;
    throw err;
  }
}

describe('switch phase', () => {
  test('switches writes in the documented order and reports the hold figures', async () => {
    const p = readyPlatform();
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(true);
    expect(p.log).toEqual([
      'forward.waitForPosition', // blue's writes before the switch are on green, before anything pauses
      'reverse.start',
      'router.holdWrites',
      'fence.refuseWrites(blue)',
      'forward.waitForPosition',
      'validator.validate',
      'sequences.syncSequences',
      'router.setWriteTarget(green)',
      'router.releaseWrites',
      'forward.stop',
    ]);
    expect(p.reverse.startedFrom).toBe('0');
    expect(p.forward.appliedPosition).toBe(2);
    expect(outcome.figures).toMatchObject({ writeTarget: 'green', writePauseMs: { p50: 0, p99: 0 } });
    expect((await switchPhase.verify(ctx)).ok).toBe(true);
    expect(writesFlow(p)).toBe(true);
    expect(ctx.journal.completedSteps()).toContain(SWITCH_STEPS.flip);
  });

  test('a fence that reports what it did (MySQL): the sessions it ended and the accounts that can still write are journaled and printed', async () => {
    const p = readyPlatform();
    const fence: WriteFence = p.fence;
    const refuse = fence.refuseWrites.bind(fence);
    fence.refuseWrites = async (side) => {
      await refuse(side);
      return { killed: 3, writersWhileFenced: [`'dms_reverse'@'%'`, `'kit'@'%'`] };
    };
    const ctx = phaseContext(env, p);
    expect((await switchPhase.apply(ctx)).ok).toBe(true);
    const fenced = ctx.journal.entries.find((e) => e.action === SWITCH_STEPS.fence && e.status === 'ok');
    expect(fenced?.result).toEqual({ killed: 3, writersWhileFenced: [`'dms_reverse'@'%'`, `'kit'@'%'`] });
    const line = ctx.out.lines.find((l) => l.topic === 'fence');
    expect(line?.message).toContain('3 session(s) ended');
    expect(line?.message).toContain(`'dms_reverse'@'%', 'kit'@'%'`);
  });

  test('a sequence sync that can prepare does it before the hold, and the plan says so', async () => {
    const p = readyPlatform();
    (p.sequences as { prepare?: () => Promise<never[]> }).prepare = async () => {
      p.log.push('sequences.prepare');
      return [];
    };
    const plan = await switchPhase.plan(phaseContext(env, p));
    expect(plan.map((s) => s.action).slice(3, 6)).toEqual([SWITCH_STEPS.reverse, SWITCH_STEPS.prepareSequences, SWITCH_STEPS.hold]);
    expect((await switchPhase.apply(phaseContext(env, p))).ok).toBe(true);
    expect(p.log.slice(1, 4)).toEqual(['reverse.start', 'sequences.prepare', 'router.holdWrites']);
    expect(p.log).toContain('sequences.syncSequences');
  });

  test('a validator that can refresh the baseline compares the changed rows before the hold; its failure does not stop the switch', async () => {
    const p = readyPlatform();
    let fail = false;
    const refresh = async () => {
      p.log.push('validator.refreshBaseline');
      if (fail) throw new Error('source gone');
      return { equal: true, baselineRefreshed: true, scope: { kind: 'changed-rows', changedRows: 17 }, tables: [], reconciliation: [] };
    };
    (p.validator as { refreshBaseline?: () => Promise<unknown> }).refreshBaseline = refresh;
    const plan = await switchPhase.plan(phaseContext(env, p));
    expect(plan.map((s) => s.action).slice(3, 6)).toEqual([SWITCH_STEPS.reverse, SWITCH_STEPS.refreshBaseline, SWITCH_STEPS.hold]);
    const ctx = phaseContext(env, p);
    expect((await switchPhase.apply(ctx)).ok).toBe(true);
    expect(p.log.slice(1, 4)).toEqual(['reverse.start', 'validator.refreshBaseline', 'router.holdWrites']);
    expect(p.log.indexOf('validator.validate')).toBeGreaterThan(p.log.indexOf('router.holdWrites'));

    const q = readyPlatform();
    (q.validator as { refreshBaseline?: () => Promise<unknown> }).refreshBaseline = refresh;
    fail = true;
    const ctx2 = phaseContext(env, q);
    expect((await switchPhase.apply(ctx2)).ok).toBe(true);
    expect(ctx2.out.text()).toMatch(/the changed rows were not compared before the hold \(source gone\)/);
  });

  test('plan lists every step in order and changes nothing; after a crash it names the undo', async () => {
    const p = readyPlatform();
    const plan = await switchPhase.plan(phaseContext(env, p));
    expect(plan.map((s) => s.action)).toEqual([
      SWITCH_STEPS.checkLag,
      SWITCH_STEPS.checkReverseCoverage,
      SWITCH_STEPS.checkCaughtUp,
      SWITCH_STEPS.reverse,
      SWITCH_STEPS.hold,
      SWITCH_STEPS.fence,
      SWITCH_STEPS.position,
      SWITCH_STEPS.catchUp,
      SWITCH_STEPS.validate,
      SWITCH_STEPS.sequences,
      SWITCH_STEPS.flip,
      SWITCH_STEPS.release,
      SWITCH_STEPS.stopForward,
    ]);
    expect(p.log).toEqual([]);
    const journal = new MemoryJournal().killBefore(SWITCH_STEPS.catchUp);
    await applyCatchingKill(phaseContext(env, p, { journal }));
    expect((await switchPhase.plan(phaseContext(env, p, { journal: journal.revive() })))[0]!.action).toBe('switch.undo');
  });

  test('fails if replication is stopped: the lag gate refuses before anything pauses', async () => {
    const p = readyPlatform();
    p.forward.phase = 'stopped';
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/not streaming/);
    expect(p.log).toEqual([]);
    expect(ctx.journal.notes('switch.refused')).toHaveLength(1);
  });

  test('fails if the reverse mapping leaves a green table out: refused before anything pauses, naming the table', async () => {
    const p = readyPlatform();
    const gap = "a rollback would lose green's writes to public.customers: not selected by the reverse mapping";
    const platform = { ...p, inspector: { ...p.inspector, reverseCoverageRefusal: async () => gap } };
    const ctx = phaseContext(env, platform);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toContain(gap);
    expect(p.log).toEqual([]);
    expect(ctx.journal.notes('switch.refused')).toHaveLength(1);
  });

  test('fails if lag is at or above the limit, or reads are not all on green', async () => {
    const p = readyPlatform();
    p.forward.lagMs = 5000;
    expect((await switchPhase.apply(phaseContext(env, p))).summary).toMatch(/lag 5000 ms/);
    p.forward.lagMs = 5;
    p.fakeRouter!.readWeightGreen = 50;
    expect((await switchPhase.apply(phaseContext(env, p))).summary).toMatch(/50 % green/);
    expect(p.log).toEqual([]);
  });

  test('catch-up timeout undoes everything: writes resume on blue, nothing refused', async () => {
    const p = readyPlatform();
    const restore = catchUpInHold(p, (_position, timeoutMs) => new Promise((r) => setTimeout(() => r(false), Math.min(timeoutMs, 50))));
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/within 200 ms; writes resumed on blue/);
    expect(p.blue.readOnly).toBe(false);
    expect(p.fakeRouter!.writeTarget).toBe('blue');
    expect(writesFlow(p)).toBe(true);
    expect(p.blue.write()).toBe(3);
    expect(p.log.indexOf('fence.allowWrites(blue)')).toBeLessThan(p.log.lastIndexOf('router.releaseWrites'));
    // the next attempt starts clean and succeeds
    restore();
    expect((await switchPhase.apply(ctx)).ok).toBe(true);
  });

  test('fails if green has not applied blue\'s writes acknowledged before the switch (a backlog, whatever the lag reads): refused before anything pauses', async () => {
    const p = readyPlatform(); // blue took 2 writes that green has not applied
    p.forward.lagMs = 5; // a worker just handed a backlog reads a small lag
    p.forward.catchUp = 'never';
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^switch refused before anything paused: green has not applied blue's position 2 \(the writes acknowledged before the switch\) within 200 ms \(2 bytes behind blue now\): forward replication is still applying a backlog; wait \(`npx cutover replicate wait (--config \S+ )?--env lab`\) and retry/);
    expect(p.log).toEqual(['forward.waitForPosition']);
    expect(writesFlow(p)).toBe(true);
    expect(p.fakeRouter!.writeTarget).toBe('blue');
    expect(ctx.journal.completedSteps()).toEqual([SWITCH_STEPS.checkLag, SWITCH_STEPS.checkReverseCoverage, SWITCH_STEPS.checkCaughtUp]);
    // once green has applied it, the same switch goes through
    p.forward.catchUp = 'instant';
    expect((await switchPhase.apply(ctx)).ok).toBe(true);
  });

  test('Ctrl-C during the catch-up is reported as the operator\'s, not as a timeout; the undo still runs', async () => {
    const p = readyPlatform();
    const ac = new AbortController();
    catchUpInHold(p, async () => {
      ac.abort(); // the CLI aborts ctx.signal on the first Ctrl-C; the wait answers false
      return false;
    });
    const ctx = phaseContext(env, p, { signal: ac.signal });
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^switch undone: interrupted by the operator \(Ctrl-C\) while green caught up .*writes resumed on blue, nothing lost/);
    expect(outcome.summary).not.toMatch(/within 200 ms/);
    expect(ctx.out.text()).toMatch(/undoing the switch: interrupted by the operator/);
    expect(outcome.figures).toMatchObject({ interrupted: true, undone: true });
    expect(p.fakeRouter!).toMatchObject({ writeTarget: 'blue', writesHeld: false });
    expect(p.blue.readOnly).toBe(false);
    expect(p.reverse.phase).toBe('stopped');
    expect(ctx.journal.completedSteps()).toContain(SWITCH_STEPS.undone);
  });

  test('Ctrl-C after the catch-up but before the flip undoes instead of flipping', async () => {
    const p = readyPlatform();
    const ac = new AbortController();
    const validate = p.validator.validate.bind(p.validator);
    p.validator.validate = async () => {
      const r = await validate();
      ac.abort();
      return r;
    };
    const outcome = await switchPhase.apply(phaseContext(env, p, { signal: ac.signal }));
    expect(outcome.summary).toMatch(/interrupted by the operator.*undone, writes resumed on blue/);
    expect(p.log).not.toContain('router.setWriteTarget(green)');
    expect(writesFlow(p)).toBe(true);
  });

  test('after a rollback fenced green, the next switch lets green take writes before the flip; verify checks both sides', async () => {
    const p = readyPlatform();
    expect((await switchPhase.apply(phaseContext(env, p))).ok).toBe(true);
    expect((await runRollback(phaseContext(env, p))).ok).toBe(true);
    expect(p.green.readOnly).toBe(true); // the rollback fences green
    p.forward.phase = 'cdc'; // shift again: reads back on green
    p.fakeRouter!.readWeightGreen = 100;
    p.log.length = 0;
    const ctx = phaseContext(env, p);
    expect((await switchPhase.plan(ctx)).map((s) => s.action)).toContain(SWITCH_STEPS.unfenceGreen);
    expect((await switchPhase.apply(ctx)).ok).toBe(true);
    expect(p.log.indexOf('fence.allowWrites(green)')).toBeGreaterThanOrEqual(0);
    expect(p.log.indexOf('fence.allowWrites(green)')).toBeLessThan(p.log.indexOf('router.holdWrites'));
    expect(writesFlow(p)).toBe(true);
    expect(() => p.green.write()).not.toThrow();
    expect((await switchPhase.verify(ctx)).ok).toBe(true);

    // verify is a real gate: a green that refuses writes fails it, whatever the router says
    p.green.readOnly = true;
    const v = await switchPhase.verify(ctx);
    expect(v.ok).toBe(false);
    expect(v.summary).toMatch(/greenAcceptsWrites=false.*every client write fails.*cutover rollback/);
  });

  test('killed right after lifting green\'s fence, the re-run is a whole switch and green takes writes', async () => {
    const p = readyPlatform();
    p.green.readOnly = true;
    const journal = new MemoryJournal().killAfterEffect(SWITCH_STEPS.unfenceGreen);
    await applyCatchingKill(phaseContext(env, p, { journal }));
    expect(journal.wasKilled).toBe(true);
    const rerun = await switchPhase.apply(phaseContext(env, p, { journal: journal.revive() }));
    expect(rerun.ok).toBe(true);
    expect(writesFlow(p)).toBe(true);
  });

  test('differences in the frozen validation undo the switch', async () => {
    const p = readyPlatform();
    p.validator.equal = false;
    const outcome = await switchPhase.apply(phaseContext(env, p));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/public\.t_order/);
    expect(writesFlow(p)).toBe(true);
    expect(p.fakeRouter!.writeTarget).toBe('blue');
  });

  const order = [
    SWITCH_STEPS.checkLag,
    SWITCH_STEPS.reverse,
    SWITCH_STEPS.hold,
    SWITCH_STEPS.fence,
    SWITCH_STEPS.position,
    SWITCH_STEPS.catchUp,
    SWITCH_STEPS.validate,
    SWITCH_STEPS.sequences,
    SWITCH_STEPS.flip,
    SWITCH_STEPS.release,
    SWITCH_STEPS.stopForward,
  ];
  const flipIndex = order.indexOf(SWITCH_STEPS.flip);
  const firstEffectIndex = order.indexOf(SWITCH_STEPS.reverse);
  // the flip's journal record is the point of no return: killed before it is recorded, undo;
  // killed before any side effect was recorded (the first is starting reverse replication,
  // which is idempotent), the re-run is simply a whole switch
  const expected = (i: number) =>
    i > flipIndex ? 'finished' : i <= firstEffectIndex ? 'fresh' : 'undone';
  const cases = order.flatMap((action, i) => [
    { action, how: 'before' as const, expect: expected(i) },
    { action, how: 'after-effect' as const, expect: expected(i) },
  ]);

  test.each(cases)('killed $how $action, a re-run ends $expect, never refusing writes on both sides', async ({ action, how, expect: ending }) => {
    const p = readyPlatform();
    const journal = new MemoryJournal();
    if (how === 'before') journal.killBefore(action);
    else journal.killAfterEffect(action);
    await applyCatchingKill(phaseContext(env, p, { journal }));
    expect(journal.wasKilled).toBe(true);

    journal.revive();
    const rerun = await switchPhase.apply(phaseContext(env, p, { journal }));
    expect(writesFlow(p)).toBe(true);
    if (ending === 'fresh') {
      expect(rerun.ok).toBe(true);
      expect(p.fakeRouter!.writeTarget).toBe('green');
    } else if (ending === 'finished') {
      expect(rerun.ok).toBe(true);
      expect(p.fakeRouter!.writeTarget).toBe('green');
      expect(p.blue.readOnly).toBe(true);
      expect(p.forward.phase).toBe('stopped');
    } else {
      expect(rerun.ok).toBe(false);
      expect(rerun.summary).toMatch(/undone/);
      expect(p.fakeRouter!.writeTarget).toBe('blue');
      expect(p.blue.readOnly).toBe(false);
      expect(p.reverse.phase).not.toBe('cdc');
      // a third run is a fresh, complete switch
      const third = await switchPhase.apply(phaseContext(env, p, { journal }));
      expect(third.ok).toBe(true);
      expect(p.fakeRouter!.writeTarget).toBe('green');
    }
  });
});
