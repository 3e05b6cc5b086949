import { describe, expect, test } from 'vitest';
import type { GatesConfig } from '../../lib/config/common-schema.ts';
import type { RouterMetrics, UpstreamMetrics } from '../../lib/platform/roles.ts';
import { LATENCY_BUCKETS_MS, quantileFromCounts } from '../../lib/platform/histogram.ts';
import { describeFigures, evaluateGates, progressFigures } from '../../lib/traffic/gates.ts';

const gates: GatesConfig = { maxErrorRatio: 0.01, maxP99RatioToBlue: 3, maxLagMs: 1000, maxValidationAgeSeconds: 3600, minRequests: 20 };

/** Upstream metrics with `n` requests at `ms` latency each, `failures` of them 5xx. */
function upstream(n: number, ms: number, failures = 0, base?: UpstreamMetrics): UpstreamMetrics {
  const counts = [...(base?.latencyCounts ?? LATENCY_BUCKETS_MS.map(() => 0))];
  const i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
  counts[i < 0 ? counts.length - 1 : i]! += n;
  return {
    requests: (base?.requests ?? 0) + n,
    status2xx: (base?.status2xx ?? 0) + n - failures,
    status4xx: base?.status4xx ?? 0,
    status5xx: (base?.status5xx ?? 0) + failures,
    errors: base?.errors ?? 0,
    retriedOnBlue: (base?.retriedOnBlue ?? 0) + failures,
    latencyBucketsMs: LATENCY_BUCKETS_MS,
    latencyCounts: counts,
  };
}

function metrics(at: number, blue: UpstreamMetrics, green: UpstreamMetrics): RouterMetrics {
  return { at: new Date(at).toISOString(), upstreams: { blue, green }, held: { total: 0, current: 0, holdMsBuckets: [], holdMsCounts: [], maxHoldMs: 0 }, clientFailures: 0 };
}

describe('gates', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  // before the window: green had many failures, which must not count in the window
  const prev = metrics(t0, upstream(1000, 4), upstream(100, 4, 50));

  test('pass on a healthy window and report the figures', () => {
    const cur = metrics(t0 + 10_000, upstream(500, 4, 0, prev.upstreams.blue), upstream(500, 5, 2, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 20, validationAgeSeconds: 60, gates });
    expect(v.reasons).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.figures.greenRequests).toBe(500);
    expect(v.figures.greenErrorRatio).toBe(0.004);
    expect(v.figures.windowSeconds).toBe(10);
    expect(v.figures.greenP99Ms).toBe(5);
    expect(v.figures.blueP99Ms).toBe(5);
  });

  test('fails if green errors exceed the ratio (only the window counts)', () => {
    const cur = metrics(t0 + 10_000, upstream(500, 4, 0, prev.upstreams.blue), upstream(100, 5, 5, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 20, gates });
    expect(v.ok).toBe(false);
    expect(v.figures.greenErrorRatio).toBe(0.05);
    expect(v.reasons[0]).toMatch(/green error ratio 5 % \(5\/100\)/);
  });

  test('below minRequests the window is not proven: not judged red, and never green', () => {
    const cur = metrics(t0 + 1000, prev.upstreams.blue, upstream(10, 5, 5, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 1, gates });
    expect(v.reasons).toEqual([]);
    expect(v.ok).toBe(false);
    expect(v.unproven).toBe('not proven: only 10 green requests in 1 s (minimum 20, gates.minRequests)');
    expect(v.figures.minRequests).toBe(20);
  });

  test('fails to prove a window with no green request at all; minRequests 0 needs no proof', () => {
    const idle = metrics(t0 + 10_000, upstream(500, 4, 0, prev.upstreams.blue), prev.upstreams.green);
    const v = evaluateGates({ previous: prev, current: idle, lagMs: 1, gates });
    expect(v.ok).toBe(false);
    expect(v.unproven).toMatch(/^not proven: only 0 green requests in 10 s/);
    const off = evaluateGates({ previous: prev, current: idle, lagMs: 1, gates: { ...gates, minRequests: 0 } });
    expect(off.ok).toBe(true);
    expect(off.unproven).toBeNull();
    // without traffic metrics only lag and validation are judged: that is not "not proven"
    expect(evaluateGates({ lagMs: 1, gates }).unproven).toBeNull();
  });

  test('describes the figures in one line for the step lines', () => {
    const cur = metrics(t0 + 10_000, upstream(500, 4, 0, prev.upstreams.blue), upstream(500, 5, 2, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 20, gates });
    expect(describeFigures(v.figures)).toBe('500 green requests, error ratio 0.4 % (2 failed), p99 5 ms (blue 5 ms), lag 20 ms');
    expect(progressFigures(v.figures)).toEqual({ requests: 500, errorRatio: '0.4%', p99Ms: 5, blueP99Ms: 5, lagMs: 20 });
  });

  test('fails if green p99 is above the ratio to blue, using a baseline when blue has no reads', () => {
    const cur = metrics(t0 + 10_000, prev.upstreams.blue, upstream(200, 240, 0, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 1, baselineBlueP99Ms: 25, gates });
    expect(v.ok).toBe(false);
    expect(v.figures.greenP99Ms).toBe(250);
    expect(v.figures.p99RatioToBlue).toBe(10);
  });

  test('small latencies under the floor are not judged against blue', () => {
    const cur = metrics(t0 + 10_000, upstream(200, 0.2, 0, prev.upstreams.blue), upstream(200, 4, 0, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 1, gates });
    expect(v.ok).toBe(true);
    expect(v.figures.p99RatioToBlue).toBe(0.5);
  });

  test('fails if lag is above the limit or unknown, or the validation is too old or missing', () => {
    expect(evaluateGates({ lagMs: 1500, gates }).reasons[0]).toMatch(/lag 1500 ms is above the limit 1000 ms/);
    expect(evaluateGates({ lagMs: null, gates }).reasons[0]).toMatch(/unknown/);
    expect(evaluateGates({ lagMs: 1, validationAgeSeconds: 7200, gates }).reasons[0]).toMatch(/7200 s old/);
    expect(evaluateGates({ lagMs: 1, validationAgeSeconds: null, gates }).reasons[0]).toMatch(/no passing validation/);
    expect(evaluateGates({ lagMs: 1, gates }).ok).toBe(true);
  });

  test('quantiles come from bucket upper bounds', () => {
    const counts = LATENCY_BUCKETS_MS.map(() => 0);
    counts[2] = 98; // <= 1 ms
    counts[8] = 2; // <= 100 ms
    expect(quantileFromCounts(LATENCY_BUCKETS_MS, counts, 0.5)).toBe(1);
    expect(quantileFromCounts(LATENCY_BUCKETS_MS, counts, 0.99)).toBe(100);
    expect(quantileFromCounts(LATENCY_BUCKETS_MS, LATENCY_BUCKETS_MS.map(() => 0), 0.99)).toBeNull();
  });
});
