import type { AlarmJudgement } from '../platform/gate-alarms.ts';
import type { GatesConfig } from '../config/common-schema.ts';
import type { RouterMetrics, UpstreamMetrics } from '../platform/roles.ts';
import { quantileFromCounts, windowCounts } from '../platform/histogram.ts';
import { ERROR_RATIO_CONFIDENCE, errorRatioAboveLimit, errorRatioLowerBound } from './error-ratio-bound.ts';

/**
 * Green latency below this is never judged against blue: bucket bounds are coarse at sub-10 ms
 * latencies and a 1 ms vs 3 ms difference is not a reason to roll back.
 */
export const P99_FLOOR_MS = 10;

/** A latency quantile the gate can judge green's latency by. */
export type LatencyQuantile = 'p99' | 'p90' | 'p50';

/**
 * The quantiles, most demanding first, each with the samples it needs to mean something: at
 * least one request above it (1 / (1 - q)). A p99 of 35 requests is the slowest one, so one slow
 * request would send reads back; its p90 needs two of them in ten.
 */
export const LATENCY_QUANTILES: readonly { readonly name: LatencyQuantile; readonly q: number; readonly minSamples: number }[] = [
  { name: 'p99', q: 0.99, minSamples: 100 },
  { name: 'p90', q: 0.9, minSamples: 10 },
  { name: 'p50', q: 0.5, minSamples: 1 },
];

/** The most demanding quantile `samples` requests support (p99 from 100, p90 from 10, else the median). */
export function quantileSupportedBy(samples: number): (typeof LATENCY_QUANTILES)[number] {
  return LATENCY_QUANTILES.find((x) => samples >= x.minSamples) ?? LATENCY_QUANTILES[LATENCY_QUANTILES.length - 1]!;
}

/** Blue's latency in one window at each quantile the gate may judge, so green is compared like with like. */
export type BlueLatencyMs = Readonly<Record<LatencyQuantile, number | null>>;

export interface GateFigures {
  readonly windowSeconds: number;
  readonly greenRequests: number;
  readonly greenFailures: number;
  readonly greenErrorRatio: number | null;
  /**
   * The lowest error ratio green can have at 95 % confidence given the window's failures (0 with
   * none, null with no request): what `gates.maxErrorRatio` is judged against, so that 1 failure in
   * 16 requests (6.25 %, but a green at a 1 % ratio fails that often 15 % of the time) is not a rollback.
   */
  readonly greenErrorRatioLowerBound: number | null;
  /**
   * The quantile green's latency was judged at: p99 when the window has at least 100 green
   * requests, p90 from 10, the median below (null: no green request). Blue's is the same quantile.
   */
  readonly latencyQuantile: LatencyQuantile | null;
  readonly greenLatencyMs: number | null;
  readonly blueLatencyMs: number | null;
  /** greenLatencyMs / blueLatencyMs (blue's below the 10 ms floor counts as 10 ms), judged against gates.maxP99RatioToBlue. */
  readonly latencyRatioToBlue: number | null;
  readonly lagMs: number | null;
  readonly validationAgeSeconds: number | null;
  /** `gates.minRequests`: green requests a window needs before its traffic says anything. */
  readonly minRequests: number;
}

/**
 * Why traffic may or may not move, with the numbers behind it (journaled as they are). Three
 * states: green (`ok`), red (`reasons` non-empty) and not proven (`unproven` set, no reasons):
 * too few green requests to judge green's health. Not proven is never green.
 */
export interface GateVerdict {
  /** Green: nothing failed and, when traffic was judged, there was enough of it to say so. */
  readonly ok: boolean;
  /** What failed (red). */
  readonly reasons: string[];
  /** Why the traffic could not prove green healthy (too few green requests); null otherwise. */
  readonly unproven: string | null;
  readonly figures: GateFigures;
}

export interface GateInputs {
  /** Earlier snapshot (window start); absent: only lag and validation age are judged (never "not proven"). */
  readonly previous?: RouterMetrics;
  readonly current?: RouterMetrics;
  /** Lag of the replication that must be healthy now; null when unknown or not running. */
  readonly lagMs: number | null;
  /** Age of the last passing validation; undefined when the caller does not judge it. */
  readonly validationAgeSeconds?: number | null;
  /** Blue's latency from an earlier window, used when blue gets too few requests now (100 % on green). */
  readonly baselineBlue?: BlueLatencyMs | null;
  readonly gates: GatesConfig;
}

function windowOf(prev: UpstreamMetrics | undefined, cur: UpstreamMetrics) {
  const counts = windowCounts(prev?.latencyCounts, cur.latencyCounts);
  const requests = cur.requests - (prev?.requests ?? 0);
  const failures = cur.status5xx + cur.errors - ((prev?.status5xx ?? 0) + (prev?.errors ?? 0));
  const at = (q: number) => quantileFromCounts(cur.latencyBucketsMs, counts, q);
  return { requests, failures, at };
}

/** Blue's latency of a window at every gate quantile when blue served enough requests to say, else null. */
export function blueLatencyOf(previous: RouterMetrics | undefined, current: RouterMetrics, minRequests: number): BlueLatencyMs | null {
  const blue = windowOf(previous?.upstreams.blue, current.upstreams.blue);
  if (blue.requests < Math.max(1, minRequests)) return null;
  return { p99: blue.at(0.99), p90: blue.at(0.9), p50: blue.at(0.5) };
}

/**
 * The health gate: green error ratio (5xx + transport errors over requests, green's own, not
 * what clients saw after the blue retry), green latency against blue's at the same quantile over
 * the same window (p99 only from 100 green requests: see `quantileSupportedBy`), replication lag and the
 * age of the last passing validation, each against `env.gates`. A window with fewer than
 * `gates.minRequests` green requests judges neither ratio: its verdict is "not proven", not
 * green (`gates.minRequests: 0` turns the proof off).
 */
export function evaluateGates(input: GateInputs): GateVerdict {
  const { gates } = input;
  const reasons: string[] = [];
  let greenRequests = 0;
  let greenFailures = 0;
  let greenErrorRatio: number | null = null;
  let greenErrorRatioLowerBound: number | null = null;
  let latencyQuantile: LatencyQuantile | null = null;
  let greenLatencyMs: number | null = null;
  let blueLatencyMs: number | null = null;
  let latencyRatioToBlue: number | null = null;
  let windowSeconds = 0;
  let unproven: string | null = null;

  if (input.current) {
    const cur = input.current;
    const prev = input.previous;
    windowSeconds = prev ? Math.max(0, (Date.parse(cur.at) - Date.parse(prev.at)) / 1000) : 0;
    const green = windowOf(prev?.upstreams.green, cur.upstreams.green);
    greenRequests = green.requests;
    greenFailures = green.failures;
    // a source that counts failures apart from requests (the router counts both as they complete;
    // CloudWatch sums may not) can show more failures than requests: the ratio stops at 100 %
    const capped = green.failures > green.requests;
    if (green.requests > 0) {
      greenErrorRatio = round(Math.min(green.failures, green.requests) / green.requests);
      greenErrorRatioLowerBound = Math.round(errorRatioLowerBound(green.failures, green.requests) * 1e6) / 1e6;
    }
    const enough = green.requests >= gates.minRequests;
    if (!enough) unproven = notProven(green.requests, windowSeconds, gates.minRequests);
    if (enough && greenErrorRatio !== null && errorRatioAboveLimit(green.failures, green.requests, gates.maxErrorRatio)) {
      const why =
        gates.maxErrorRatio <= 0
          ? '(gates.maxErrorRatio 0: any failure rolls back)'
          : `beyond chance: at ${pct(ERROR_RATIO_CONFIDENCE)} confidence green's own ratio is at least ${boundPct(greenErrorRatioLowerBound ?? 0)} (gates.maxErrorRatio)`;
      const shown = greenErrorRatio < 0.0001 ? boundPct(green.failures / green.requests) : pct(greenErrorRatio);
      const counts = capped ? `${green.failures} failures, ${green.requests} requests: more failures than requests in the window, capped at 100 %` : `${green.failures}/${green.requests}`;
      reasons.push(`green error ratio ${shown} (${counts}) is above the limit ${pct(gates.maxErrorRatio)} ${why}`);
    }
    if (green.requests > 0) {
      const quantile = quantileSupportedBy(green.requests);
      latencyQuantile = quantile.name;
      greenLatencyMs = green.at(quantile.q);
      blueLatencyMs = (blueLatencyOf(prev, cur, gates.minRequests) ?? input.baselineBlue)?.[quantile.name] ?? null;
    }
    if (enough && latencyQuantile !== null && greenLatencyMs !== null && blueLatencyMs !== null) {
      const floor = gates.latencyFloorMs ?? P99_FLOOR_MS;
      latencyRatioToBlue = round(greenLatencyMs / Math.max(blueLatencyMs, floor));
      if (greenLatencyMs > floor && latencyRatioToBlue > gates.maxP99RatioToBlue) {
        const why = latencyQuantile === 'p99' ? '' : `; ${latencyQuantile} because ${green.requests} green requests are too few for a p99 (it needs 100: below that it is the slowest request alone)`;
        reasons.push(`green ${latencyQuantile} ${greenLatencyMs} ms is ${latencyRatioToBlue}x blue's ${latencyQuantile} ${blueLatencyMs} ms, above the limit ${gates.maxP99RatioToBlue}x (gates.maxP99RatioToBlue${why})`);
      }
    }
  }

  if (input.lagMs === null) reasons.push('replication lag is unknown (not streaming: stopped, failed or stalled? `cutover replicate status`)');
  else if (input.lagMs > gates.maxLagMs) reasons.push(`replication lag ${input.lagMs} ms is above the limit ${gates.maxLagMs} ms`);

  const age = input.validationAgeSeconds;
  if (age === null) reasons.push('no passing validation is known (run `cutover validate`)');
  else if (age !== undefined && age > gates.maxValidationAgeSeconds) {
    reasons.push(`the last passing validation is ${Math.round(age)} s old, above the limit ${gates.maxValidationAgeSeconds} s (run \`cutover validate\`)`);
  }

  return {
    ok: reasons.length === 0 && unproven === null,
    reasons,
    unproven,
    figures: {
      windowSeconds: round(windowSeconds),
      greenRequests,
      greenFailures,
      greenErrorRatio,
      greenErrorRatioLowerBound,
      latencyQuantile,
      greenLatencyMs,
      blueLatencyMs,
      latencyRatioToBlue,
      lagMs: input.lagMs,
      validationAgeSeconds: age ?? null,
      minRequests: gates.minRequests,
    },
  };
}

/**
 * A verdict with the platform's alarms folded in (AWS: the CloudWatch alarms the stack created):
 * an alarm in ALARM is a reason (red); a missing alarm or one without data makes the verdict not
 * proven when traffic alone would have been green. No alarms to read (null): the verdict as is.
 */
export function withAlarms(verdict: GateVerdict, alarms: AlarmJudgement | null): GateVerdict {
  if (!alarms) return verdict;
  const reasons = [...verdict.reasons, ...alarms.reasons];
  const unproven = verdict.unproven ?? alarms.unproven;
  return { ...verdict, ok: reasons.length === 0 && unproven === null, reasons, unproven };
}

function notProven(requests: number, windowSeconds: number, minRequests: number): string {
  return `not proven: only ${requests} green request${requests === 1 ? '' : 's'} in ${Math.round(windowSeconds)} s (minimum ${minRequests}, gates.minRequests)`;
}

/**
 * The figures of a verdict in one line for people, e.g.
 * `1234 green requests, error ratio 0.08 % (1 failed; at least 0.0042 % at 95 % confidence), p99 12 ms (blue 10 ms), lag 40 ms`; with
 * fewer than 100 green requests the latency is the p90 or median the gate judged (`p90 12 ms …`).
 */
export function describeFigures(f: GateFigures, lagName = 'lag'): string {
  const bound = f.greenFailures > 0 && f.greenErrorRatioLowerBound != null ? `; at least ${boundPct(f.greenErrorRatioLowerBound)} at ${pct(ERROR_RATIO_CONFIDENCE)} confidence` : '';
  const ratio = f.greenErrorRatio === null ? 'error ratio -' : `error ratio ${pct(f.greenErrorRatio)} (${f.greenFailures} failed${bound})`;
  const q = f.latencyQuantile ?? 'p99';
  const p99 = f.greenLatencyMs === null ? `${q} -` : `${q} ${f.greenLatencyMs} ms${f.blueLatencyMs === null ? '' : ` (blue ${f.blueLatencyMs} ms)`}`;
  const lag = f.lagMs === null ? `${lagName} unknown` : `${lagName} ${f.lagMs} ms`;
  return `${f.greenRequests} green request${f.greenRequests === 1 ? '' : 's'}, ${ratio}, ${p99}, ${lag}`;
}

/**
 * The same figures as `key=value` pairs for a progress line (runbooks/understanding-output.md
 * grammar); the latency keys name the quantile judged: `p99Ms`/`blueP99Ms`, `p90Ms`/`blueP90Ms`, `p50Ms`/`blueP50Ms`.
 */
export function progressFigures(f: GateFigures): Record<string, string | number> {
  const q = f.latencyQuantile ?? 'p99';
  return {
    requests: f.minRequests > 0 && f.greenRequests < f.minRequests ? `${f.greenRequests}/${f.minRequests}` : f.greenRequests,
    errorRatio: f.greenErrorRatio === null ? '-' : pct(f.greenErrorRatio).replace(' ', ''),
    [`${q}Ms`]: f.greenLatencyMs ?? '-',
    [`blue${q.toUpperCase()}Ms`]: f.blueLatencyMs ?? '-',
    lagMs: f.lagMs ?? '?',
  };
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

function pct(v: number): string {
  return `${Math.round(v * 10_000) / 100} %`;
}

/** A lower bound in percent to two significant digits: the bound of 1 failure in 1234 is 0.0042 %, not 0 %. */
function boundPct(v: number): string {
  return `${Number((v * 100).toPrecision(2))} %`;
}
