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
      'fence.refuseWrites(green)',
      'reverse.sourcePosition',
      'reverse.waitForPosition',
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
      'fence.refuseWrites(green)',
      'reverse.waitForPosition',
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
    expect(outcome.summary).toMatch(/did not apply green's position 3 within 200 ms.*writes stay on green/);
    expect(p.fakeRouter!).toMatchObject({ readWeightGreen: 0, writeTarget: 'green', writesHeld: false });
    expect(p.green.readOnly).toBe(false);
  });

  test('Ctrl-C during the drain is said to be the operator\'s, and writes stay on a writable green', async () => {
    const p = await afterSwitch(3);
    const ac = new AbortController();
    p.reverse.waitForPosition = async () => {
      ac.abort(); // the CLI aborts ctx.signal on the first Ctrl-C; the wait answers false
      return false;
    };
    const outcome = await runRollback(phaseContext(env, p, { signal: ac.signal }));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/interrupted by the operator .*writes stay on green.*run `npx cutover rollback --config \S+ --env lab` again/);
    expect(outcome.summary).not.toMatch(/within 200 ms/);
    expect(p.fakeRouter!).toMatchObject({ writeTarget: 'green', writesHeld: false });
    expect(p.green.readOnly).toBe(false);
    expect(p.green.write()).toBe(4);
  });

  test('green is fenced before its final position is read: a write reaching green outside the router is refused, not left out of the proof', async () => {
    const p = await afterSwitch(3);
    const acknowledged: number[] = [];
    const refused: string[] = [];
    const read = p.reverse.sourcePosition.bind(p.reverse);
    p.reverse.sourcePosition = async () => {
      const position = await read();
      // a cron job writing straight to green's database, right after the position was read
      try {
        acknowledged.push(p.green.write());
      } catch (err) {
        refused.push((err as Error).message);
      }
      return position;
    };
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(true);
    const ledger = outcome.result as RollbackLedger;
    expect(acknowledged.filter((position) => position > Number(ledger.greenLastPosition))).toEqual([]);
    expect(refused).toEqual(['green refuses writes (read-only)']);
    expect(Number(ledger.reverseAppliedPosition)).toBeGreaterThanOrEqual(p.green.position);
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

  test('fails if reverse replication says it caught up but its applied position is behind green\'s final one: not proven', async () => {
    const p = await afterSwitch(4);
    p.reverse.waitForPosition = async () => true; // a replicator whose "yes" is not backed by what it applied
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(false);
    expect(outcome.result).toMatchObject({ proof: false, greenLastPosition: '4', reverseAppliedPosition: '0' });
    expect(outcome.summary).toMatch(/NOT PROVEN: reverse replication applied only 0, behind green's final 4/);
  });

  test('fails if reverse replication reports no applied position: its "caught up" alone proves nothing', async () => {
    const p = await afterSwitch(3);
    const status = p.reverse.status.bind(p.reverse);
    p.reverse.status = async () => {
      const { appliedPosition: _dropped, ...rest } = await status();
      return rest;
    };
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(false);
    expect(outcome.result).toMatchObject({ proof: false, reverseAppliedPosition: null });
    expect(outcome.summary).toMatch(/NOT PROVEN: reverse replication reports no applied position/);
  });

  test('fails if blue still refuses writes afterwards: checked, not assumed', async () => {
    const p = await afterSwitch(2);
    const allow = p.fence.allowWrites.bind(p.fence);
    p.fence.allowWrites = async (side) => (side === 'blue' ? undefined : allow(side)); // a fence that silently does nothing on blue
    p.blue.readOnly = true;
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/blue still refuses writes .*client writes FAIL.*cutover rollback --config \S+ --env lab/);
    expect(outcome.figures).toMatchObject({ blueAcceptsWrites: false });
  });

  test('says "forward replication resumed" only once it streams (CDC); a worker coming up in a full load is stopped and the fix named', async () => {
    const p = await afterSwitch(1);
    p.forward.phase = 'stopped';
    const start = p.forward.start.bind(p.forward);
    p.forward.start = async (o) => {
      await start(o);
      p.forward.phase = 'full-load'; // its slot was gone: a full load into a non-empty green
      return p.forward.status();
    };
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.summary).not.toMatch(/forward replication resumed/);
    expect(outcome.summary).toMatch(/forward replication NOT resumed: it came up in full-load.*empty green's tables and run `npx cutover replicate start --config \S+ --env lab`/);
    expect(p.log.slice(-2)).toEqual(['forward.start', 'forward.stop']);

    const q = await afterSwitch(1);
    q.forward.phase = 'stopped';
    expect((await runRollback(phaseContext(env, q))).summary).toMatch(/forward replication resumed \(CDC\)/);
  });

  test('after finalize the dry-run plan is the refusal, and nothing is touched', async () => {
    const p = await afterSwitch(1);
    const at = '2030-01-01T00:00:00.000Z';
    const rec = (seq: number, phase: string, action: string, status: 'started' | 'ok', result?: unknown) => ({ seq, time: at, operator: 'o', host: 'h', pid: 1, env: 'lab', phase, action, status, result });
    const history = [rec(1, 'switch', 'reverse.start', 'ok', { fromPosition: '0' }), rec(2, 'switch', 'switch.flip', 'ok'), rec(3, 'finalize', 'reverse.stop', 'started'), rec(4, 'finalize', 'reverse.teardown', 'ok')];
    const ctx = { ...phaseContext(env, p), history };
    const plan = await planRollback(ctx);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ action: 'refuse' });
    expect(plan[0]!.detail).toMatch(/finalized .*green's writes since 2030-01-01T00:00:00.000Z would not reach blue/);
    await expect(runRollback(ctx)).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(p.log).toEqual([]);
    // the journal of the last switch alone (no finalize) is the evidence for "every green change"
    const ok = await runRollback({ ...phaseContext(env, p), history: history.slice(0, 2) });
    expect(ok.summary).toMatch(/every green change since the switch \(reverse replication from 0\)/);
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
