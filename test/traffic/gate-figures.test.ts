import { describe, expect, test } from 'vitest';
import type { GatesConfig } from '../../lib/config/common-schema.ts';
import { LATENCY_BUCKETS_MS } from '../../lib/platform/histogram.ts';
import type { RouterMetrics, UpstreamMetrics } from '../../lib/platform/roles.ts';
import { blueLatencyOf, describeFigures, evaluateGates, progressFigures, withAlarms, type GateFigures } from '../../lib/traffic/gates.ts';

/**
 * The gate's figures as the operator reads them (step lines, progress lines: runbooks/
 * understanding-output.md) and the edges of the verdict, from the mutation pass (issue 18).
 */
const gates: GatesConfig = { maxErrorRatio: 0.01, maxP99RatioToBlue: 3, maxLagMs: 1000, maxValidationAgeSeconds: 3600, minRequests: 20 };

function upstream(n: number, ms: number, failures = 0, errors = 0): UpstreamMetrics {
  const counts = LATENCY_BUCKETS_MS.map(() => 0);
  counts[LATENCY_BUCKETS_MS.findIndex((b) => ms <= b)]! += n;
  return { requests: n, status2xx: n - failures - errors, status4xx: 0, status5xx: failures, errors, retriedOnBlue: failures, latencyBucketsMs: LATENCY_BUCKETS_MS, latencyCounts: counts };
}

const t0 = Date.parse('2025-01-01T00:00:00Z');
function metrics(at: number, blue: UpstreamMetrics, green: UpstreamMetrics): RouterMetrics {
  return { at: new Date(at).toISOString(), upstreams: { blue, green }, held: { total: 0, current: 0, holdMsBuckets: [], holdMsCounts: [], maxHoldMs: 0 }, clientFailures: 0 };
}

const figures: GateFigures = {
  windowSeconds: 10,
  greenRequests: 1,
  greenFailures: 0,
  greenErrorRatio: null,
  greenErrorRatioLowerBound: null,
  latencyQuantile: null,
  greenLatencyMs: null,
  blueLatencyMs: null,
  latencyRatioToBlue: null,
  lagMs: null,
  validationAgeSeconds: null,
  minRequests: 20,
};

describe('gate figures', () => {
  test('describeFigures says what is unknown instead of inventing a number', () => {
    expect(describeFigures(figures)).toBe('1 green request, error ratio -, p99 -, lag unknown');
    expect(describeFigures(figures, 'reverse lag')).toBe('1 green request, error ratio -, p99 -, reverse lag unknown');
    expect(describeFigures({ ...figures, greenRequests: 2, greenErrorRatio: 0.5, greenFailures: 1, latencyQuantile: 'p50', greenLatencyMs: 25, lagMs: 0 })).toBe('2 green requests, error ratio 50 % (1 failed), p50 25 ms, lag 0 ms');
    expect(describeFigures({ ...figures, greenRequests: 2, greenErrorRatio: 0.5, greenFailures: 1, latencyQuantile: 'p99', greenLatencyMs: 25, lagMs: 0 })).toBe('2 green requests, error ratio 50 % (1 failed), p99 25 ms, lag 0 ms');
  });

  test('progressFigures: requests as N/minimum until proven, "-" and "?" for what is unknown', () => {
    expect(progressFigures(figures)).toEqual({ requests: '1/20', errorRatio: '-', p99Ms: '-', blueP99Ms: '-', lagMs: '?' });
    expect(progressFigures({ ...figures, greenRequests: 20 }).requests).toBe(20);
    expect(progressFigures({ ...figures, greenRequests: 0, minRequests: 0 }).requests).toBe(0);
    expect(progressFigures({ ...figures, greenErrorRatio: 0.0125, latencyQuantile: 'p99', greenLatencyMs: 12, blueLatencyMs: 10, lagMs: 0 })).toEqual({ requests: '1/20', errorRatio: '1.25%', p99Ms: 12, blueP99Ms: 10, lagMs: 0 });
    expect(progressFigures({ ...figures, greenRequests: 35, latencyQuantile: 'p90', greenLatencyMs: 12, blueLatencyMs: 10, lagMs: 0 })).toEqual({ requests: 35, errorRatio: '-', p90Ms: 12, blueP90Ms: 10, lagMs: 0 });
  });

  test('a window with one green request is "not proven" in the singular, over the window\'s seconds', () => {
    const prev = metrics(t0, upstream(100, 4), upstream(0, 4));
    const cur = metrics(t0 + 12_400, upstream(200, 4), upstream(1, 4));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 0, gates });
    expect(v.unproven).toBe('not proven: only 1 green request in 12 s (minimum 20, gates.minRequests)');
    expect(v.figures.windowSeconds).toBe(12.4);
  });

  test('transport errors count as failures with 5xx; without an earlier snapshot the counters since start are the window', () => {
    const cur = metrics(t0, upstream(1000, 4), upstream(100, 4, 3, 2));
    const v = evaluateGates({ current: cur, lagMs: 0, gates });
    expect(v.figures).toMatchObject({ windowSeconds: 0, greenRequests: 100, greenFailures: 5, greenErrorRatio: 0.05 });
    expect(v.reasons).toEqual(["green error ratio 5 % (5/100) is above the limit 1 % beyond chance: at 95 % confidence green's own ratio is at least 2 % (gates.maxErrorRatio)"]);
  });

  test('blue latency needs at least one blue request even when gates.minRequests is 0', () => {
    const prev = metrics(t0, upstream(100, 4), upstream(100, 4));
    expect(blueLatencyOf(prev, metrics(t0 + 10_000, upstream(100, 4), upstream(200, 4)), 0)).toBeNull();
    expect(blueLatencyOf(prev, metrics(t0 + 10_000, upstream(101, 4), upstream(200, 4)), 0)).not.toBeNull();
  });

  test('withAlarms keeps the traffic\'s own "not proven" reason first and adds the alarm reasons after the traffic\'s', () => {
    const prev = metrics(t0, upstream(100, 4), upstream(0, 4));
    const few = evaluateGates({ previous: prev, current: metrics(t0 + 10_000, upstream(200, 4), upstream(5, 4)), lagMs: 5000, gates });
    const v = withAlarms(few, { reasons: ['alarm a is ALARM: b'], unproven: 'no CloudWatch alarm named c', alarms: [] });
    expect(v.unproven).toBe(few.unproven);
    expect(v.reasons).toEqual(['replication lag 5000 ms is above the limit 1000 ms', 'alarm a is ALARM: b']);
    expect(v.ok).toBe(false);
    expect(v.figures).toBe(few.figures);
  });
});

describe('gate verdict edges', () => {
  test('failures before the window do not count, 5xx and transport errors alike', () => {
    const prev = metrics(t0, upstream(1000, 4), upstream(100, 4, 7, 5));
    const cur = metrics(t0 + 10_000, upstream(2000, 4), { ...upstream(300, 4, 8, 6) });
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 0, gates: { ...gates, maxErrorRatio: 0.05 } });
    expect(v.figures).toMatchObject({ greenRequests: 200, greenFailures: 2, greenErrorRatio: 0.01 });
    expect(v.ok).toBe(true);
  });

  test('no green request (minRequests 0): no error ratio and no latency ratio, rather than 0 or NaN', () => {
    const prev = metrics(t0, upstream(100, 4), upstream(0, 4));
    const v = evaluateGates({ previous: prev, current: metrics(t0 + 10_000, upstream(200, 4), upstream(0, 4)), lagMs: 0, gates: { ...gates, minRequests: 0 } });
    expect(v.ok).toBe(true);
    expect(v.figures).toMatchObject({ greenRequests: 0, greenErrorRatio: null, latencyQuantile: null, greenLatencyMs: null, blueLatencyMs: null, latencyRatioToBlue: null });
  });

  test('blue p99 unknown (no blue reads, no baseline): a slow green is not judged against a made-up blue', () => {
    const prev = metrics(t0, upstream(100, 4), upstream(0, 4));
    const v = evaluateGates({ previous: prev, current: metrics(t0 + 10_000, upstream(100, 4), upstream(100, 500)), lagMs: 0, gates });
    expect(v.figures).toMatchObject({ greenLatencyMs: 500, blueLatencyMs: null, latencyRatioToBlue: null });
    expect(v.reasons).toEqual([]);
    expect(blueLatencyOf(undefined, metrics(t0, upstream(100, 4), upstream(0, 4)), 20)).toEqual({ p99: 5, p90: 5, p50: 5 });
  });

  test('a p99 ratio exactly at the limit passes; above it fails', () => {
    const prev = metrics(t0, upstream(0, 4), upstream(0, 4));
    const at = (greenMs: number) => evaluateGates({ previous: prev, current: metrics(t0 + 10_000, upstream(100, 25), upstream(100, greenMs)), lagMs: 0, gates: { ...gates, maxP99RatioToBlue: 2 } });
    expect(at(50)).toMatchObject({ ok: true, figures: { latencyRatioToBlue: 2 } });
    expect(at(100).reasons).toEqual(["green p99 100 ms is 4x blue's p99 25 ms, above the limit 2x (gates.maxP99RatioToBlue)"]);
  });

  test('the validation age is reported as given', () => {
    expect(evaluateGates({ lagMs: 0, validationAgeSeconds: 120, gates }).figures.validationAgeSeconds).toBe(120);
    expect(evaluateGates({ lagMs: 0, gates }).figures.validationAgeSeconds).toBeNull();
  });
});
