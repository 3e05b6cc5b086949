import { describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { MemoryJournal, SimulatedKill } from './fakes/memory-journal.ts';

describe('fake platform (test double for the traffic phases)', () => {
  test('a fenced database refuses application writes; unfenced it takes them and its position moves', async () => {
    const p = fakePlatform();
    expect(p.blue.write()).toBe(1);
    await p.fence.refuseWrites('blue');
    expect(() => p.blue.write()).toThrow(CutoverError);
    expect(await p.fence.isRefusingWrites('blue')).toBe(true);
    await p.fence.allowWrites('blue');
    expect(p.blue.write()).toBe(2);
  });

  test('sequences move the written side above the other + gap, never down, in the direction asked', async () => {
    const p = fakePlatform();
    p.blue.write();
    expect(await p.sequences.syncSequences(10)).toEqual([{ name: 'public.orders_id_seq', sourceValue: 1, targetValue: 11 }]);
    expect(await p.sequences.syncSequences(10, 'reverse')).toEqual([{ name: 'public.orders_id_seq', sourceValue: 11, targetValue: 21 }]);
    expect(await p.sequences.syncSequences(1, 'reverse')).toEqual([{ name: 'public.orders_id_seq', sourceValue: 11, targetValue: 21 }]);
    expect(p.log).toEqual(['sequences.syncSequences', 'sequences.syncSequences(reverse)', 'sequences.syncSequences(reverse)']);
    p.sequences.failReverse = 'denied';
    expect(((await p.sequences.syncSequences(1, 'reverse').catch((e: unknown) => e)) as CutoverError).code).toBe('PRECONDITION_FAILED');
  });

  test('replication catches up instantly or never, and an unreachable database fails with CONNECTION_FAILED', async () => {
    const p = fakePlatform();
    p.blue.write();
    p.blue.write();
    expect(await p.forward.waitForPosition(await p.forward.sourcePosition(), 1000)).toBe(true);
    expect((await p.forward.status()).appliedPosition).toBe('2');
    p.blue.write();
    p.forward.catchUp = 'never';
    expect(await p.forward.waitForPosition('3', 20)).toBe(false);
    p.green.reachable = false;
    const err = (await p.reverse.sourcePosition().catch((e: unknown) => e)) as CutoverError;
    expect(err.code).toBe('CONNECTION_FAILED');
  });

  test('the router holds and releases, and stopped replication reports no lag', async () => {
    const p = fakePlatform();
    await p.router.holdWrites(100);
    p.fakeRouter!.heldCount = 3;
    expect((await p.router.releaseWrites()).released).toBe(3);
    expect((await p.router.state()).writesHeld).toBe(false);
    await p.forward.stop();
    expect((await p.forward.status()).lagMs).toBeNull();
  });

  test('the memory journal dies at the kill point and runs nothing after it', async () => {
    const j = new MemoryJournal().killAfterEffect('b');
    let ran = 0;
    await j.step('a', {}, async () => ran++);
    await expect(j.step('b', {}, async () => ran++)).rejects.toBeInstanceOf(SimulatedKill);
    await expect(j.step('c', {}, async () => ran++)).rejects.toBeInstanceOf(SimulatedKill);
    expect(ran).toBe(2);
    expect(j.completedSteps()).toEqual(['a']);
    j.revive();
    await j.step('c', {}, async () => ran++);
    expect(j.completedSteps()).toEqual(['a', 'c']);
  });
});
