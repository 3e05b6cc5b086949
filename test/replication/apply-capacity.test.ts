import { afterEach, describe, expect, test, vi } from 'vitest';
import { ApplyCapacityMeter } from '../../lib/replication/apply-capacity.ts';

describe('ApplyCapacityMeter', () => {
  afterEach(() => vi.restoreAllMocks());

  test('counts the time batches were in flight once however many overlap, the one in flight included, and the time since CDC began', () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const meter = new ApplyCapacityMeter();
    expect(meter.cdcStarted).toBe(false);
    meter.startCdc();
    now = 1100;
    meter.busy(); // batch 1
    now = 1120;
    meter.busy(); // batch 2, pipelined behind it: still busy since 1100
    now = 1150;
    meter.settled(500, false); // batch 1; batch 2 in flight
    now = 1180;
    meter.settled(300, true); // batch 2: idle
    now = 1300;
    expect(meter.figures()).toEqual({ changes: 800, busyMs: 80, cdcMs: 300 });
    meter.busy();
    now = 1340;
    expect(meter.figures()).toEqual({ changes: 800, busyMs: 120, cdcMs: 340 }); // in flight counts
  });
});
