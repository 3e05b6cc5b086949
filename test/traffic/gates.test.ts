import { describe, expect, test } from 'vitest';
import type { GatesConfig } from '../../lib/config/common-schema.ts';
import type { RouterMetrics, UpstreamMetrics } from '../../lib/platform/roles.ts';
import { LATENCY_BUCKETS_MS, quantileFromCounts } from '../../lib/platform/histogram.ts';
import { blueLatencyOf, describeFigures, evaluateGates, progressFigures, quantileSupportedBy, withAlarms } from '../../lib/traffic/gates.ts';

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
    expect(v.figures).toMatchObject({ latencyQuantile: 'p99', greenLatencyMs: 5, blueLatencyMs: 5 });
  });

  test('fails if green errors exceed the ratio (only the window counts)', () => {
    const cur = metrics(t0 + 10_000, upstream(500, 4, 0, prev.upstreams.blue), upstream(100, 5, 5, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 20, gates });
    expect(v.ok).toBe(false);
    expect(v.figures.greenErrorRatio).toBe(0.05);
    expect(v.reasons[0]).toMatch(/green error ratio 5 % \(5\/100\)/);
  });

  test('never shows a ratio above 100 %: metrics that count failures apart from requests are capped, and the reason says so', () => {
    // 95 failures completed in a window in which 15 requests were counted (a source counting them apart)
    const green = { ...upstream(15, 5, 0, prev.upstreams.green), status5xx: prev.upstreams.green.status5xx + 95 };
    const cur = metrics(t0 + 10_000, upstream(500, 4, 0, prev.upstreams.blue), green);
    const v = evaluateGates({ previous: prev, current: { ...cur, upstreams: { ...cur.upstreams, green } }, lagMs: 20, gates: { ...gates, minRequests: 10 } });
    expect(v.figures.greenErrorRatio).toBe(1);
    expect(v.reasons[0]).toMatch(/^green error ratio 100 % \(95 failures, 15 requests: more failures than requests in the window, capped at 100 %\) is above the limit 1 %/);
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
    expect(describeFigures(v.figures)).toBe('500 green requests, error ratio 0.4 % (2 failed; at least 0.071 % at 95 % confidence), p99 5 ms (blue 5 ms), lag 20 ms');
    expect(progressFigures(v.figures)).toEqual({ requests: 500, errorRatio: '0.4%', p99Ms: 5, blueP99Ms: 5, lagMs: 20 });
  });

  test('fails if green p99 is above the ratio to blue, using a baseline when blue has no reads', () => {
    const cur = metrics(t0 + 10_000, prev.upstreams.blue, upstream(200, 240, 0, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 1, baselineBlue: { p99: 25, p90: 25, p50: 25 }, gates });
    expect(v.ok).toBe(false);
    expect(v.figures.greenLatencyMs).toBe(250);
    expect(v.figures.latencyRatioToBlue).toBe(10);
  });

  test('small latencies under the floor are not judged against blue', () => {
    const cur = metrics(t0 + 10_000, upstream(200, 0.2, 0, prev.upstreams.blue), upstream(200, 4, 0, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: cur, lagMs: 1, gates });
    expect(v.ok).toBe(true);
    expect(v.figures.latencyRatioToBlue).toBe(0.5);
  });

  test('gates.latencyFloorMs: green at or below the floor is never judged, and blue counts as at least the floor', () => {
    // 157 green requests: a real p99. The quiet 100,000-order rehearsal that went back to blue on this
    const slowGreen = (ms: number) => metrics(t0 + 10_000, upstream(500, 10, 0, prev.upstreams.blue), upstream(157, ms, 0, prev.upstreams.green));
    const tight = { ...gates, maxP99RatioToBlue: 5 };
    expect(evaluateGates({ previous: prev, current: slowGreen(100), lagMs: 1, gates: tight }).ok).toBe(false);
    const floored = { ...tight, latencyFloorMs: 50 };
    const at100 = evaluateGates({ previous: prev, current: slowGreen(100), lagMs: 1, gates: floored });
    expect(at100.ok).toBe(true);
    expect(at100.figures).toMatchObject({ latencyQuantile: 'p99', greenLatencyMs: 100, blueLatencyMs: 10, latencyRatioToBlue: 2 });
    expect(evaluateGates({ previous: prev, current: slowGreen(250), lagMs: 1, gates: floored }).ok).toBe(true);
    const at500 = evaluateGates({ previous: prev, current: slowGreen(500), lagMs: 1, gates: floored });
    expect(at500.ok).toBe(false);
    expect(at500.reasons[0]).toMatch(/green p99 500 ms is 10x blue's p99 10 ms/);
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

// boundaries and alarms, from the mutation pass (npm run mutation): each test kills mutants that survived
describe('gates at their limits', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const prev = metrics(t0, upstream(1000, 4), upstream(100, 4, 50));
  const window = (greenFailures: number, greenMs = 5, blueMs = 5) =>
    metrics(t0 + 10_000, upstream(500, blueMs, 0, prev.upstreams.blue), upstream(500, greenMs, greenFailures, prev.upstreams.green));

  test('an error ratio above the limit within chance passes; one failure more, beyond chance, fails (failures before the window do not count)', () => {
    // a green failing 1 % of requests fails 9 or more of 500 6.7 % of the time, 10 or more 3.1 %
    expect(evaluateGates({ previous: prev, current: window(5), lagMs: 0, gates }).reasons).toEqual([]);
    expect(evaluateGates({ previous: prev, current: window(9), lagMs: 0, gates }).reasons).toEqual([]);
    expect(evaluateGates({ previous: prev, current: window(10), lagMs: 0, gates }).reasons[0]).toMatch(/^green error ratio 2 % \(10\/500\) is above the limit 1 % beyond chance: at 95 % confidence green's own ratio is at least 1.1 %/);
  });

  test('lag and validation age exactly at their limits pass; one more fails', () => {
    expect(evaluateGates({ lagMs: 1000, validationAgeSeconds: 3600, gates }).reasons).toEqual([]);
    expect(evaluateGates({ lagMs: 1001, validationAgeSeconds: 3600, gates }).reasons).toEqual(['replication lag 1001 ms is above the limit 1000 ms']);
    expect(evaluateGates({ lagMs: 0, validationAgeSeconds: 3601, gates }).reasons[0]).toMatch(/validation is 3601 s old, above the limit 3600 s/);
    expect(evaluateGates({ lagMs: 0, validationAgeSeconds: null, gates }).figures.validationAgeSeconds).toBeNull();
  });

  test('green p99 against blue: above the ratio fails, and a p99 at the floor is never judged', () => {
    // 50 ms vs blue 10 ms is 5x (latencies land on histogram bucket bounds)
    expect(evaluateGates({ previous: prev, current: window(0, 50, 10), lagMs: 0, gates }).reasons[0]).toBe("green p99 50 ms is 5x blue's p99 10 ms, above the limit 3x (gates.maxP99RatioToBlue)");
    expect(evaluateGates({ previous: prev, current: window(0, 10, 1), lagMs: 0, gates: { ...gates, maxP99RatioToBlue: 0.5 } }).reasons).toEqual([]);
  });

  test('too few green requests: neither ratio is judged, the verdict is not proven', () => {
    const few = metrics(t0 + 10_000, upstream(500, 5, 0, prev.upstreams.blue), upstream(10, 500, 10, prev.upstreams.green));
    const v = evaluateGates({ previous: prev, current: few, lagMs: 0, gates });
    expect(v.reasons).toEqual([]);
    expect(v.ok).toBe(false);
    expect(v.unproven).toMatch(/only 10 green requests in 10 s \(minimum 20/);
  });

  test('blue latency needs exactly minRequests blue requests in the window', () => {
    const cur = (n: number) => metrics(t0 + 10_000, upstream(n, 8, 0, prev.upstreams.blue), prev.upstreams.green);
    expect(blueLatencyOf(prev, cur(20), 20)?.p99).toBe(10);
    expect(blueLatencyOf(prev, cur(19), 20)).toBeNull();
  });

  test('withAlarms: ALARM is a reason, a missing alarm keeps a green verdict not proven, no alarms changes nothing', () => {
    const green = evaluateGates({ lagMs: 0, gates });
    expect(withAlarms(green, null)).toBe(green);
    const red = withAlarms(green, { reasons: ['alarm x is ALARM: y'], unproven: null, alarms: [] });
    expect(red).toMatchObject({ ok: false, reasons: ['alarm x is ALARM: y'], unproven: null });
    const unproven = withAlarms(green, { reasons: [], unproven: 'no CloudWatch alarm named x', alarms: [] });
    expect(unproven).toMatchObject({ ok: false, reasons: [], unproven: 'no CloudWatch alarm named x' });
    expect(withAlarms(green, { reasons: [], unproven: null, alarms: [] }).ok).toBe(true);
  });
});

// a window of 15–35 green requests (a 1 s bake at low traffic): its "p99" is its slowest request
describe('gates on few green requests judge the quantile the window supports', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const prev = metrics(t0, upstream(1000, 4), upstream(0, 4));
  /** `fast` green requests at 5 ms and `slow` at 500 ms; blue 500 requests at 5 ms and `blueSlow` at 500 ms. */
  const window = (fast: number, slow: number, blueSlow = 0) => {
    const blue = upstream(blueSlow, 500, 0, upstream(500, 5, 0, prev.upstreams.blue));
    return metrics(t0 + 1000, blue, upstream(slow, 500, 0, upstream(fast, 5, 0, prev.upstreams.green)));
  };
  const loose = { ...gates, minRequests: 5 };

  test('one slow request among 35 does not send reads back: p90 is judged, against blue\'s p90', () => {
    const v = evaluateGates({ previous: prev, current: window(34, 1), lagMs: 0, gates: loose });
    expect(v.reasons).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.figures).toMatchObject({ greenRequests: 35, latencyQuantile: 'p90', greenLatencyMs: 5, blueLatencyMs: 5, latencyRatioToBlue: 0.5 });
    expect(describeFigures(v.figures)).toBe('35 green requests, error ratio 0 % (0 failed), p90 5 ms (blue 5 ms), lag 0 ms');
  });

  test('fails if green is slow at the p90 (5 of 35 requests), and the reason names the quantile and why', () => {
    const v = evaluateGates({ previous: prev, current: window(30, 5), lagMs: 0, gates: loose });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      "green p90 500 ms is 50x blue's p90 5 ms, above the limit 3x (gates.maxP99RatioToBlue; p90 because 35 green requests are too few for a p99 (it needs 100: below that it is the slowest request alone))",
    ]);
  });

  test('from 100 green requests the p99 is judged, against blue\'s p99 in the same window', () => {
    // 2 slow of 100: p99 is 500 ms; blue's p99 (10 slow of 510) is 500 ms too, so like with like it passes
    const v = evaluateGates({ previous: prev, current: window(98, 2, 10), lagMs: 0, gates: loose });
    expect(evaluateGates({ previous: prev, current: window(98, 2), lagMs: 0, gates: loose }).reasons[0]).toMatch(/^green p99 500 ms is 50x blue's p99 5 ms/);
    expect(v.figures).toMatchObject({ greenRequests: 100, latencyQuantile: 'p99', greenLatencyMs: 500, blueLatencyMs: 500, latencyRatioToBlue: 1 });
    expect(v.ok).toBe(true);
  });

  test('below 10 green requests the median is judged (a single slow request of 5 does not decide)', () => {
    const v = evaluateGates({ previous: prev, current: window(4, 1), lagMs: 0, gates: loose });
    expect(v.figures).toMatchObject({ greenRequests: 5, latencyQuantile: 'p50', greenLatencyMs: 5 });
    expect(v.ok).toBe(true);
    expect(evaluateGates({ previous: prev, current: window(2, 3), lagMs: 0, gates: loose }).reasons[0]).toMatch(/^green p50 500 ms is 50x blue's p50 5 ms/);
  });

  test('a baseline carried from an earlier window is read at the same quantile', () => {
    const noBlue = metrics(t0 + 1000, prev.upstreams.blue, upstream(5, 500, 0, upstream(30, 5, 0, prev.upstreams.green)));
    const v = evaluateGates({ previous: prev, current: noBlue, lagMs: 0, baselineBlue: { p99: 500, p90: 25, p50: 5 }, gates: loose });
    expect(v.figures).toMatchObject({ latencyQuantile: 'p90', greenLatencyMs: 500, blueLatencyMs: 25, latencyRatioToBlue: 20 });
    expect(v.ok).toBe(false);
  });

  test('quantileSupportedBy: p99 from 100 samples, p90 from 10, else the median', () => {
    expect([1, 9, 10, 99, 100, 5000].map((n) => quantileSupportedBy(n).name)).toEqual(['p50', 'p50', 'p90', 'p90', 'p99', 'p99']);
  });
});

// the error gate on small windows: a rollback needs failures beyond what chance at the limit explains
describe('error-ratio gate on small windows', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const prev = metrics(t0, upstream(1000, 4), upstream(100, 4, 50));
  /** A 1 s window: 100 blue requests, `n` green ones of which `failures` failed. */
  const window = (n: number, failures: number) => metrics(t0 + 1000, upstream(100, 4, 0, prev.upstreams.blue), upstream(n, 4, failures, prev.upstreams.green));
  const rehearsal: GatesConfig = { ...gates, maxErrorRatio: 0.05, minRequests: 5 };

  test('one failed request of 16 is not a rollback, at a 5 % limit or at the default 1 %', () => {
    const at5 = evaluateGates({ previous: prev, current: window(16, 1), lagMs: 0, gates: rehearsal });
    expect(at5.reasons).toEqual([]);
    expect(at5.ok).toBe(true);
    expect(at5.figures).toMatchObject({ greenRequests: 16, greenFailures: 1, greenErrorRatio: 0.0625, greenErrorRatioLowerBound: 0.003201 });
    expect(describeFigures(at5.figures)).toMatch(/^16 green requests, error ratio 6.25 % \(1 failed; at least 0.32 % at 95 % confidence\)/);
    expect(evaluateGates({ previous: prev, current: window(16, 1), lagMs: 0, gates: { ...rehearsal, maxErrorRatio: 0.01 } }).reasons).toEqual([]);
  });

  test('failures beyond chance roll back, and the reason names the counts and the bound', () => {
    expect(evaluateGates({ previous: prev, current: window(16, 2), lagMs: 0, gates: rehearsal }).reasons).toEqual([]);
    const three = evaluateGates({ previous: prev, current: window(16, 3), lagMs: 0, gates: rehearsal });
    expect(three.ok).toBe(false);
    expect(three.reasons).toEqual(["green error ratio 18.75 % (3/16) is above the limit 5 % beyond chance: at 95 % confidence green's own ratio is at least 5.3 % (gates.maxErrorRatio)"]);
    // at a 1 % limit two of 16 are already beyond chance
    expect(evaluateGates({ previous: prev, current: window(16, 2), lagMs: 0, gates: { ...rehearsal, maxErrorRatio: 0.01 } }).ok).toBe(false);
  });

  test('a green failing every request, or half of them, rolls back in the first window that has gates.minRequests', () => {
    expect(evaluateGates({ previous: prev, current: window(5, 5), lagMs: 0, gates: rehearsal }).reasons[0]).toMatch(/^green error ratio 100 % \(5\/5\) is above the limit 5 % beyond chance: at 95 % confidence green's own ratio is at least 55 %/);
    expect(evaluateGates({ previous: prev, current: window(16, 8), lagMs: 0, gates: rehearsal }).ok).toBe(false);
    // the defaults: 20 requests, 1 %
    expect(evaluateGates({ previous: prev, current: window(20, 20), lagMs: 0, gates }).ok).toBe(false);
    expect(evaluateGates({ previous: prev, current: window(20, 10), lagMs: 0, gates }).ok).toBe(false);
    // fewer than gates.minRequests stays "not proven", as before
    expect(evaluateGates({ previous: prev, current: window(4, 4), lagMs: 0, gates: rehearsal })).toMatchObject({ ok: false, reasons: [], unproven: expect.stringMatching(/^not proven/) });
  });

  test('gates.maxErrorRatio 0 keeps zero tolerance: any failure rolls back, however large the window', () => {
    const zero = { ...gates, maxErrorRatio: 0 };
    const v = evaluateGates({ previous: prev, current: window(100_000, 1), lagMs: 0, gates: zero });
    expect(v.reasons).toEqual(['green error ratio 0.001 % (1/100000) is above the limit 0 % (gates.maxErrorRatio 0: any failure rolls back)']);
    expect(evaluateGates({ previous: prev, current: window(100_000, 0), lagMs: 0, gates: zero }).ok).toBe(true);
  });

  test('large windows: the bound closes in on the ratio (63 of 1000 is beyond chance at 5 %, 62 is not)', () => {
    expect(evaluateGates({ previous: prev, current: window(1000, 62), lagMs: 0, gates: rehearsal }).ok).toBe(true);
    expect(evaluateGates({ previous: prev, current: window(1000, 63), lagMs: 0, gates: rehearsal }).ok).toBe(false);
  });
});
