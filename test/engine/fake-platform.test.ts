import { describe, expect, test } from 'vitest';
import { FakePlatform } from '../_helpers/fake-platform.ts';

describe('FakePlatform', () => {
  test('router keeps read weight, write target and held writes', async () => {
    const f = new FakePlatform();
    expect(await f.router.state()).toMatchObject({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false });
    await f.router.setReadWeight(50);
    await f.router.holdWrites(1000);
    await f.router.setWriteTarget('green');
    expect(await f.router.state()).toMatchObject({ readWeightGreen: 50, writeTarget: 'green', writesHeld: true });
    await f.router.releaseWrites();
    expect((await f.router.state()).writesHeld).toBe(false);
  });

  test('replication moves from not-started to cdc to stopped and applies positions', async () => {
    const f = new FakePlatform();
    expect((await f.forward.status()).phase).toBe('not-started');
    f.write(3);
    await f.forward.start();
    expect(await f.forward.status()).toMatchObject({ phase: 'cdc', lagMs: 5, appliedPosition: '3' });
    f.write(2);
    expect(await f.forward.sourcePosition()).toBe('5');
    expect(await f.forward.waitForPosition('5', 1000)).toBe(true);
    await f.forward.stop();
    expect((await f.forward.status()).phase).toBe('stopped');
    expect(await f.forward.waitForPosition('6', 1000)).toBe(false);
  });

  test('fences, snapshots and the validator answer keep their state', async () => {
    const f = new FakePlatform({ validationEqual: false });
    await f.fence.refuseWrites('blue');
    expect(await f.fence.isRefusingWrites('blue')).toBe(true);
    expect(await f.fence.isRefusingWrites('green')).toBe(false);
    const m = await f.snapshotter.snapshot();
    expect((await f.snapshotter.verify(m.id)).ok).toBe(true);
    expect((await f.snapshotter.verify('nope')).ok).toBe(false);
    expect((await f.validator.validate()).equal).toBe(false);
  });

  test('snapshotState changes with state and not with reads', async () => {
    const f = new FakePlatform();
    const before = f.snapshotState();
    await f.router.state();
    await f.forward.status();
    expect(f.snapshotState()).toBe(before);
    await f.router.setReadWeight(1);
    expect(f.snapshotState()).not.toBe(before);
  });
});
