import type { AlarmJudgement } from '../platform/gate-alarms.ts';
import type { GatesConfig } from '../config/common-schema.ts';
import type { RouterMetrics, UpstreamMetrics } from '../platform/roles.ts';
import { quantileFromCounts, windowCounts } from '../platform/histogram.ts';

/**
 * Green p99 below this is never judged against blue: bucket bounds are coarse at sub-10 ms
 * latencies and a 1 ms vs 3 ms difference is not a reason to roll back.
 */
export const P99_FLOOR_MS = 10;

export interface GateFigures {
  readonly windowSeconds: number;
  readonly greenRequests: number;
  readonly greenFailures: number;
  readonly greenErrorRatio: number | null;
  readonly greenP99Ms: number | null;
  readonly blueP99Ms: number | null;
  readonly p99RatioToBlue: number | null;
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
  /** Blue's p99 from an earlier window, used when blue gets too few reads now (100 % on green). */
  readonly baselineBlueP99Ms?: number | null;
  readonly gates: GatesConfig;
}

function windowOf(prev: UpstreamMetrics | undefined, cur: UpstreamMetrics) {
  const counts = windowCounts(prev?.latencyCounts, cur.latencyCounts);
  const requests = cur.requests - (prev?.requests ?? 0);
  const failures = cur.status5xx + cur.errors - ((prev?.status5xx ?? 0) + (prev?.errors ?? 0));
  return { requests, failures, counts, p99: quantileFromCounts(cur.latencyBucketsMs, counts, 0.99) };
}

/** Blue p99 of a window when blue served enough requests to say, else null. */
export function blueP99Of(previous: RouterMetrics | undefined, current: RouterMetrics, minRequests: number): number | null {
  const blue = windowOf(previous?.upstreams.blue, current.upstreams.blue);
  return blue.requests >= Math.max(1, minRequests) ? blue.p99 : null;
}

/**
 * The health gate: green error ratio (5xx + transport errors over requests, green's own, not
 * what clients saw after the blue retry), green p99 against blue's, replication lag and the
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
  let greenP99Ms: number | null = null;
  let blueP99Ms: number | null = null;
  let p99RatioToBlue: number | null = null;
  let windowSeconds = 0;
  let unproven: string | null = null;

  if (input.current) {
    const cur = input.current;
    const prev = input.previous;
    windowSeconds = prev ? Math.max(0, (Date.parse(cur.at) - Date.parse(prev.at)) / 1000) : 0;
    const green = windowOf(prev?.upstreams.green, cur.upstreams.green);
    greenRequests = green.requests;
    greenFailures = green.failures;
    if (green.requests > 0) greenErrorRatio = round(green.failures / green.requests);
    const enough = green.requests >= gates.minRequests;
    if (!enough) unproven = notProven(green.requests, windowSeconds, gates.minRequests);
    if (enough && greenErrorRatio !== null && greenErrorRatio > gates.maxErrorRatio) {
      reasons.push(`green error ratio ${pct(greenErrorRatio)} (${green.failures}/${green.requests}) is above the limit ${pct(gates.maxErrorRatio)}`);
    }
    greenP99Ms = green.p99;
    blueP99Ms = blueP99Of(prev, cur, gates.minRequests) ?? input.baselineBlueP99Ms ?? null;
    if (enough && greenP99Ms !== null && blueP99Ms !== null) {
      p99RatioToBlue = round(greenP99Ms / Math.max(blueP99Ms, P99_FLOOR_MS));
      if (greenP99Ms > P99_FLOOR_MS && p99RatioToBlue > gates.maxP99RatioToBlue) {
        reasons.push(`green p99 ${greenP99Ms} ms is ${p99RatioToBlue}x blue's ${blueP99Ms} ms, above the limit ${gates.maxP99RatioToBlue}x`);
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
      greenP99Ms,
      blueP99Ms,
      p99RatioToBlue,
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
 * `1234 green requests, error ratio 0.08 % (1 failed), p99 12 ms (blue 10 ms), lag 40 ms`.
 */
export function describeFigures(f: GateFigures, lagName = 'lag'): string {
  const ratio = f.greenErrorRatio === null ? 'error ratio -' : `error ratio ${pct(f.greenErrorRatio)} (${f.greenFailures} failed)`;
  const p99 = f.greenP99Ms === null ? 'p99 -' : `p99 ${f.greenP99Ms} ms${f.blueP99Ms === null ? '' : ` (blue ${f.blueP99Ms} ms)`}`;
  const lag = f.lagMs === null ? `${lagName} unknown` : `${lagName} ${f.lagMs} ms`;
  return `${f.greenRequests} green request${f.greenRequests === 1 ? '' : 's'}, ${ratio}, ${p99}, ${lag}`;
}

/** The same figures as `key=value` pairs for a progress line (runbooks/understanding-output.md grammar). */
export function progressFigures(f: GateFigures): Record<string, string | number> {
  return {
    requests: f.minRequests > 0 && f.greenRequests < f.minRequests ? `${f.greenRequests}/${f.minRequests}` : f.greenRequests,
    errorRatio: f.greenErrorRatio === null ? '-' : pct(f.greenErrorRatio).replace(' ', ''),
    p99Ms: f.greenP99Ms ?? '-',
    blueP99Ms: f.blueP99Ms ?? '-',
    lagMs: f.lagMs ?? '?',
  };
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

function pct(v: number): string {
  return `${Math.round(v * 10_000) / 100} %`;
}
