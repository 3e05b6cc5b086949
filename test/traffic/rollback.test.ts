import { describe, expect, test } from 'vitest';
import { planRollback, ROLLBACK_SEQUENCES, runRollback, type RollbackLedger } from '../../lib/traffic/rollback.ts';
import { switchPhase } from '../../lib/traffic/switch-phase.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { MemoryJournal } from './fakes/memory-journal.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';

const env = testEnvironment({ switch: { catchUpTimeoutMs: 200, maxHoldMs: 5000, sequenceGap: 100 } });

/** A platform after a completed switch, with `greenWrites` writes taken by green since. */
async function afterSwitch(greenWrites: number) {
  const p = fakePlatform();
  p.fakeRouter!.readWeightGreen = 100;
  p.blue.write();
  expect((await switchPhase.apply(phaseContext(env, p))).ok).toBe(true);
  for (let i = 0; i < greenWrites; i++) p.green.write();
  p.log.length = 0;
  return p;
}

describe('rollback', () => {
  test('after the switch: drains green into blue, then writes and reads go to blue, with the ledger', async () => {
    const p = await afterSwitch(5);
    const ctx = phaseContext(env, p);
    const plan = await planRollback(ctx);
    expect(plan.map((s) => s.action)).toEqual([
      'router.setReadWeight',
      'router.holdWrites',
      'reverse.waitForPosition',
      'fence.refuseWrites(green)',
      ROLLBACK_SEQUENCES,
      'fence.allowWrites(blue)',
      'router.setWriteTarget(blue)',
      'router.releaseWrites',
      'reverse.stop',
      'forward.start',
    ]);
    const outcome = await runRollback(ctx);
    expect(outcome.ok).toBe(true);
    expect(p.log).toEqual([
      'router.setReadWeight(0)',
      'router.holdWrites',
      'reverse.waitForPosition',
      'fence.refuseWrites(green)',
      'sequences.syncSequences(reverse)',
      'fence.allowWrites(blue)',
      'router.setWriteTarget(blue)',
      'router.releaseWrites',
      'reverse.stop',
      'forward.start',
    ]);
    const ledger = outcome.result as RollbackLedger;
    expect(ledger).toMatchObject({ writesWereOnGreen: true, greenLastPosition: '5', reverseAppliedPosition: '5', greenEraRowsTotal: 5, proof: true });
    expect(p.blue.appliedRows).toBe(5);
    // the switch put green's sequence at blue's 1 + 100; the rollback puts blue's above that + 100
    expect(p.sequences.value).toEqual({ blue: 201, green: 101 });
    expect(ctx.journal.entries.find((e) => e.action === ROLLBACK_SEQUENCES && e.status === 'started')?.inputs).toEqual({ gap: 100, direction: 'reverse' });
    expect(ctx.journal.completedSteps()).toContain(ROLLBACK_SEQUENCES);
    expect(p.green.readOnly).toBe(true);
    expect(p.blue.write()).toBe(2);
    expect(p.fakeRouter!).toMatchObject({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false });
  });

  test('twice is a no-op the second time', async () => {
    const p = await afterSwitch(2);
    expect((await runRollback(phaseContext(env, p))).ok).toBe(true);
    p.log.length = 0;
    expect(p.sequences.value.blue).toBe(201);
    const again = await runRollback(phaseContext(env, p));
    expect(again.ok).toBe(true);
    expect(p.sequences.value.blue).toBe(201);
    expect(again.summary).toMatch(/already on blue/);
    expect(p.log).toEqual([]);
    expect((await planRollback(phaseContext(env, p)))[0]!.action).toBe('none');
  });

  test('from a switch stopped half-way (blue fenced, writes held): blue takes writes again', async () => {
    const p = fakePlatform();
    p.fakeRouter!.readWeightGreen = 100;
    const journal = new MemoryJournal().killBefore('forward.sourcePosition');
    await switchPhase.apply(phaseContext(env, p, { journal })).catch(() => null);
    expect(p.blue.readOnly).toBe(true);
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(true);
    expect(p.blue.readOnly).toBe(false);
    expect(p.fakeRouter!).toMatchObject({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false });
  });

  test('fails if reverse replication cannot catch up: writes stay on green, nothing lost, reads on blue', async () => {
    const p = await afterSwitch(3);
    p.reverse.catchUp = 'never';
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/writes stay on green/);
    expect(p.fakeRouter!).toMatchObject({ readWeightGreen: 0, writeTarget: 'green', writesHeld: false });
    expect(p.green.readOnly).toBe(false);
  });

  test('fails if blue\'s sequences cannot be moved: writes stay on green, green takes writes again, nothing lost', async () => {
    const p = await afterSwitch(3);
    p.sequences.failReverse = 'permission denied for sequence orders_id_seq';
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/sequences could not be moved.*permission denied.*writes stay on green/);
    expect(p.log.slice(p.log.indexOf('sequences.syncSequences(reverse)'))).toEqual(['sequences.syncSequences(reverse)', 'fence.allowWrites(green)', 'router.releaseWrites']);
    expect(p.fakeRouter!).toMatchObject({ readWeightGreen: 0, writeTarget: 'green', writesHeld: false });
    expect(p.green.readOnly).toBe(false);
    expect(p.blue.readOnly).toBe(true);
    expect(p.sequences.value.blue).toBe(0);

    p.sequences.failReverse = null; // fixed: the re-run finishes the rollback
    p.log.length = 0;
    expect((await runRollback(phaseContext(env, p))).ok).toBe(true);
    expect(p.log).toContain('sequences.syncSequences(reverse)');
    expect(p.fakeRouter!).toMatchObject({ writeTarget: 'blue', writesHeld: false });
    expect(p.sequences.value.blue).toBe(201);
  });

  test('fails if green is unreachable: traffic goes back to blue anyway and the loss is stated', async () => {
    const p = await afterSwitch(4);
    p.green.reachable = false;
    const ctx = phaseContext(env, p);
    const outcome = await runRollback(ctx);
    expect(outcome.ok).toBe(false);
    expect(p.fakeRouter!).toMatchObject({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false });
    expect(p.blue.readOnly).toBe(false);
    const ledger = outcome.result as RollbackLedger;
    expect(ledger.proof).toBe(false);
    expect(ledger.unrecoverable).toMatch(/after position 0 is NOT on blue/);
    expect(ctx.out.text()).toMatch(/unreachable/);
    expect(ctx.out.text()).toMatch(/blue's sequences were not moved/);
    expect(p.log).not.toContain('sequences.syncSequences(reverse)');
  });
});
