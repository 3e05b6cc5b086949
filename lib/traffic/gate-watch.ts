import type { PhaseContext } from '../engine/phase.ts';
import type { RouterMetrics } from '../platform/roles.ts';
import { blueP99Of, evaluateGates, type GateVerdict } from './gates.ts';

export interface GateWatchOptions {
  /** How long to watch (the bake). */
  readonly seconds: number;
  /** Lag of the replication that matters now (forward before the switch, reverse after). */
  readonly lag: () => Promise<number | null>;
  readonly validationAge?: () => number | null | undefined;
  /** While true the watch keeps going past `seconds` (an operator pause). */
  readonly paused?: () => boolean;
  /** @default 500 */
  readonly intervalMs?: number;
  /** Gates judge the last this-many ms (or since the watch began, if shorter). @default 10000 */
  readonly windowMs?: number;
  /** Blue p99 carried over from before (blue gets few reads at 100 % green). */
  readonly baselineBlueP99Ms?: number | null;
}

export type GateWatchResult =
  | { readonly ok: true; readonly last: GateVerdict | null; readonly baselineBlueP99Ms: number | null }
  | { readonly ok: false; readonly verdict: GateVerdict; readonly aborted?: boolean };

/**
 * Evaluates the gates every `intervalMs` for `seconds` over a sliding window of router metrics;
 * returns at the first failing verdict. A throttler in gh-ost's sense: it only decides, the
 * caller acts.
 */
export async function watchGates(ctx: PhaseContext, options: GateWatchOptions): Promise<GateWatchResult> {
  const interval = options.intervalMs ?? 500;
  const windowMs = options.windowMs ?? 10_000;
  const started = ctx.clock.now().getTime();
  const snapshots: RouterMetrics[] = [await ctx.platform.router.metrics()];
  let baseline = options.baselineBlueP99Ms ?? null;
  let last: GateVerdict | null = null;
  while (ctx.clock.now().getTime() - started < options.seconds * 1000 || options.paused?.()) {
    if (ctx.signal.aborted) return { ok: false, verdict: last ?? emptyVerdict('aborted'), aborted: true };
    const remaining = options.seconds * 1000 - (ctx.clock.now().getTime() - started);
    await ctx.clock.sleep(Math.max(1, Math.min(interval, remaining > 0 ? remaining : interval)), ctx.signal).catch(() => {});
    if (ctx.signal.aborted) return { ok: false, verdict: last ?? emptyVerdict('aborted'), aborted: true };
    const current = await ctx.platform.router.metrics();
    const now = Date.parse(current.at);
    while (snapshots.length > 1 && now - Date.parse(snapshots[1]!.at) >= windowMs) snapshots.shift();
    const previous = snapshots[0]!;
    const blueNow = blueP99Of(previous, current, ctx.env.gates.minRequests);
    if (blueNow !== null) baseline = blueNow;
    last = evaluateGates({
      previous,
      current,
      lagMs: await options.lag(),
      validationAgeSeconds: options.validationAge?.(),
      baselineBlueP99Ms: baseline,
      gates: ctx.env.gates,
    });
    if (!last.ok) return { ok: false, verdict: last };
    snapshots.push(current);
  }
  return { ok: true, last, baselineBlueP99Ms: baseline };
}

function emptyVerdict(reason: string): GateVerdict {
  return {
    ok: false,
    reasons: [reason],
    figures: { windowSeconds: 0, greenRequests: 0, greenFailures: 0, greenErrorRatio: null, greenP99Ms: null, blueP99Ms: null, p99RatioToBlue: null, lagMs: null, validationAgeSeconds: null },
  };
}
