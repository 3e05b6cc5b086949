import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { describe, expect, test } from 'vitest';
import { DMS_METRIC_PERIOD_SECONDS, judgeDmsLag, readDmsTaskMetrics, type DmsLagSample } from '../../lib/aws/dms-metrics.ts';

/**
 * DMS latency as the kit's lag, at its limits (issue 18's mutation pass): a datapoint is fresh up
 * to `staleMs` after its period ended and not a ms more, a stale or missing CDCLatencyTarget is
 * unknown (never 0, never the source's figure alone), and a missing value is no sample.
 */
const STALE = 300_000;
const now = new Date('2026-03-01T12:00:00Z');
/** A sample whose period ended `ageMs` before `now`. */
const sample = (ageMs: number, lagMs: number): DmsLagSample => ({ at: new Date(now.getTime() - ageMs - DMS_METRIC_PERIOD_SECONDS * 1000), lagMs });
const longAgo = new Date(now.getTime() - 3_600_000);

describe('judgeDmsLag', () => {
  test('a target datapoint exactly at the limit is fresh; one ms older is stale, and the task stalled', () => {
    expect(judgeDmsLag({ lag: [sample(STALE, 800)], sourceLag: [] }, now, longAgo, STALE)).toEqual({ lagMs: 800, heartbeatAgeMs: STALE, stalled: null });
    const stale = judgeDmsLag({ lag: [sample(STALE + 1, 800)], sourceLag: [] }, now, longAgo, STALE);
    expect(stale.lagMs).toBeNull();
    expect(stale.heartbeatAgeMs).toBe(STALE + 1);
    expect(stale.stalled).toBe('the newest CDCLatencyTarget datapoint is 300 s old (limit 300 s): the task is not applying or not reporting');
  });

  test('the lag is the higher of target and a fresh source figure; a stale source figure is left out', () => {
    expect(judgeDmsLag({ lag: [sample(60_000, 800)], sourceLag: [sample(60_000, 2500)] }, now, longAgo, STALE).lagMs).toBe(2500);
    expect(judgeDmsLag({ lag: [sample(60_000, 800)], sourceLag: [sample(60_000, 100)] }, now, longAgo, STALE).lagMs).toBe(800);
    expect(judgeDmsLag({ lag: [sample(60_000, 800)], sourceLag: [sample(STALE + 1, 9000)] }, now, longAgo, STALE).lagMs).toBe(800);
    expect(judgeDmsLag({ lag: [sample(60_000, 800)], sourceLag: [sample(STALE, 9000)] }, now, longAgo, STALE).lagMs).toBe(9000);
    // only the newest datapoint of each counts
    expect(judgeDmsLag({ lag: [sample(60_000, 800), sample(120_000, 5000)], sourceLag: [] }, now, longAgo, STALE).lagMs).toBe(800);
  });

  test('fails if only the source latency is fresh: the target\'s lag is unknown, not the source\'s figure', () => {
    const j = judgeDmsLag({ lag: [], sourceLag: [sample(60_000, 100)] }, now, longAgo, STALE);
    expect(j).toEqual({
      lagMs: null,
      heartbeatAgeMs: null,
      stalled: 'DMS published no CDCLatencyTarget datapoint in the last 300 s while the task runs CDC: its lag is unknown, not 0',
    });
  });

  test('the grace after CDC began lasts exactly staleMs; an unknown CDC start has no grace', () => {
    const since = (ms: number) => new Date(now.getTime() - ms);
    expect(judgeDmsLag({ lag: [], sourceLag: [] }, now, since(STALE), STALE).stalled).toBeNull();
    expect(judgeDmsLag({ lag: [], sourceLag: [] }, now, since(STALE + 1), STALE).stalled).toMatch(/^DMS published no CDCLatencyTarget datapoint/);
    expect(judgeDmsLag({ lag: [], sourceLag: [] }, now, null, STALE).stalled).toMatch(/^DMS published no CDCLatencyTarget datapoint/);
    // within the grace the lag is still unknown, not 0
    expect(judgeDmsLag({ lag: [], sourceLag: [] }, now, since(1000), STALE).lagMs).toBeNull();
  });

  test('a datapoint whose period has not ended yet is 0 ms old, not negative', () => {
    const future: DmsLagSample = { at: new Date(now.getTime() - 10_000), lagMs: 300 };
    expect(judgeDmsLag({ lag: [future], sourceLag: [] }, now, longAgo, STALE)).toEqual({ lagMs: 300, heartbeatAgeMs: 0, stalled: null });
  });
});

describe('readDmsTaskMetrics', () => {
  function cloudwatch(results: { Id: string; Timestamps?: Date[]; Values?: number[] }[]): CloudWatchClient {
    return { send: async () => ({ MetricDataResults: results }) } as unknown as CloudWatchClient;
  }

  test('samples newest first, seconds as ms; a period without a finite value is no sample, not 0', async () => {
    const t = (m: number) => new Date(now.getTime() - m * 60_000);
    const m = await readDmsTaskMetrics(
      cloudwatch([
        { Id: 'lag', Timestamps: [t(3), t(1), t(2), t(4)], Values: [3, 1.0004, Number.NaN] },
        { Id: 'sourceLag', Timestamps: [t(2)], Values: [0.25] },
        { Id: 'applied', Timestamps: [t(1)], Values: [42] },
      ]),
      'task-1',
      now,
    );
    expect(m.lag).toEqual([
      { at: t(1), lagMs: 1000 },
      { at: t(3), lagMs: 3000 },
    ]);
    expect(m.sourceLag).toEqual([{ at: t(2), lagMs: 250 }]);
    expect(m.appliedRowsPerSec).toBe(42);
  });

  test('no result at all, timestamps without values or values without timestamps: no samples and 0 rows/s applied', async () => {
    expect(await readDmsTaskMetrics(cloudwatch([]), 'task-1', now)).toEqual({ lag: [], sourceLag: [], appliedRowsPerSec: 0 });
    expect(await readDmsTaskMetrics(cloudwatch([{ Id: 'lag', Timestamps: [now] }]), 'task-1', now)).toEqual({ lag: [], sourceLag: [], appliedRowsPerSec: 0 });
    expect(await readDmsTaskMetrics(cloudwatch([{ Id: 'lag', Values: [1] }]), 'task-1', now)).toEqual({ lag: [], sourceLag: [], appliedRowsPerSec: 0 });
  });
});
