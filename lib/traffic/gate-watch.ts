import type { PhaseContext } from '../engine/phase.ts';
import type { RouterMetrics } from '../platform/roles.ts';
import type { AlarmJudgement } from '../platform/gate-alarms.ts';
import { blueLatencyOf, evaluateGates, progressFigures, withAlarms, type BlueLatencyMs, type GateVerdict } from './gates.ts';

/** Without `gates.minRequestsWaitSeconds`, a not-proven bake waits at least this long for traffic. */
export const MIN_PROOF_WAIT_SECONDS = 120;

export interface GateWatchOptions {
  /** How long to watch (the bake). */
  readonly seconds: number;
  /** Lag of the replication that matters now (forward before the switch, reverse after). */
  readonly lag: () => Promise<number | null>;
  readonly validationAge?: () => number | null | undefined;
  /** While true the watch keeps going past `seconds` (an operator pause). */
  readonly paused?: () => boolean;
  /** The warn line printed when a pause begins and every `pauseReminderMs` while it lasts. @default - a generic "paused for N s" */
  readonly pausedMessage?: (pausedMs: number) => string;
  /** @default 60000 */
  readonly pauseReminderMs?: number;
  /** @default 500 */
  readonly intervalMs?: number;
  /** Gates judge the last this-many ms (or since the watch began, if shorter). @default 10000 */
  readonly windowMs?: number;
  /** Blue's latency carried over from before (blue gets few reads at 100 % green). */
  readonly baselineBlue?: BlueLatencyMs | null;
  /** Output topic of progress and pause lines. @default 'gates' */
  readonly topic?: string;
  /** What is baking, first in progress and pause lines, e.g. `reads 10 %`. @default - none */
  readonly label?: string;
  /** Leading `key=value` figures of progress lines, e.g. `{ reads: '10%' }`. @default - none */
  readonly progressFigures?: Readonly<Record<string, string | number>>;
  /** Plain/JSON output: a progress line every this many ms (a TTY redraws one line at every evaluation). @default 10000 */
  readonly progressEveryMs?: number;
  /**
   * The platform's alarms for this gate (AWS: CloudWatch). ALARM fails the watch at once; a
   * missing alarm or INSUFFICIENT_DATA keeps it "not proven". @default - none: router metrics only
   */
  readonly alarms?: () => Promise<AlarmJudgement>;
  /** How often the alarms are read while watching (they are always read again at the end). @default 15000 */
  readonly alarmEveryMs?: number;
  /** Extra seconds to wait for `gates.minRequests` green requests after `seconds`. @default - `gates.minRequestsWaitSeconds`, else max(seconds, 120) */
  readonly proofWaitSeconds?: number;
  /** What to do when the wait runs out, appended to the "not proven" reason. @default - send traffic or lower gates.minRequests */
  readonly unprovenFix?: string;
}

export type GateWatchResult =
  | {
      readonly ok: true;
      /** The verdict over the whole watch (its start to its end): green and proven. */
      readonly verdict: GateVerdict;
      readonly baselineBlue: BlueLatencyMs | null;
      /** How long it watched, pauses and the wait for traffic included. */
      readonly watchedSeconds: number;
      /** Seconds spent past `seconds` waiting for `gates.minRequests` green requests. */
      readonly provingSeconds: number;
    }
  | { readonly ok: false; readonly verdict: GateVerdict; readonly aborted?: boolean; readonly unproven?: boolean };

/**
 * Evaluates the gates every `intervalMs` for `seconds` over a sliding window of router metrics;
 * returns at the first red verdict. When the time is up, the whole watch (its start to now) must
 * be green AND proven: with fewer than `gates.minRequests` green requests it is "not proven",
 * and the watch keeps going up to `proofWaitSeconds` for them, then fails as not proven — zero
 * traffic never reads as healthy. Prints a progress line with the figures while it watches.
 * A throttler in gh-ost's sense: it only decides (and reports), the caller acts.
 */
export async function watchGates(ctx: PhaseContext, options: GateWatchOptions): Promise<GateWatchResult> {
  const interval = options.intervalMs ?? 500;
  const windowMs = options.windowMs ?? 10_000;
  const topic = options.topic ?? 'gates';
  const progressEvery = options.progressEveryMs ?? 10_000;
  const reminderMs = options.pauseReminderMs ?? 60_000;
  const gates = ctx.env.gates;
  const proofWait = options.proofWaitSeconds ?? gates.minRequestsWaitSeconds ?? Math.max(options.seconds, MIN_PROOF_WAIT_SECONDS);
  const prefix = options.label ? `${options.label}: ` : '';
  const now = () => ctx.clock.now().getTime();
  const started = now();
  const bakeMs = options.seconds * 1000;
  const first = await ctx.platform.router.metrics();
  const snapshots: RouterMetrics[] = [first];
  let latest = first;
  let baseline = options.baselineBlue ?? null;
  let lastLag: number | null | undefined;
  let provingSince: number | null = null;
  let pausedSince: number | null = null;
  let pauseNotedAt = 0;
  let progressAt = started;
  const alarmEvery = options.alarmEveryMs ?? 15_000;
  let alarms: AlarmJudgement | null = options.alarms ? await options.alarms() : null;
  let alarmsAt = started;
  const wholeVerdict = (lagMs: number | null) =>
    withAlarms(evaluateGates({ previous: first, current: latest, lagMs, validationAgeSeconds: options.validationAge?.(), baselineBlue: baseline, gates }), alarms);
  const aborted = (): GateWatchResult => ({ ok: false, verdict: wholeVerdict(lastLag ?? null), aborted: true });

  try {
    for (;;) {
      if (ctx.signal.aborted) return aborted();
      const t = now();
      const isPaused = options.paused?.() ?? false;
      if (isPaused && pausedSince === null) {
        pausedSince = pauseNotedAt = t;
        ctx.journal.note(`${topic}.paused`, { label: options.label ?? null });
        ctx.out.warn(topic, pauseLine(options, prefix, 0));
      } else if (isPaused && pausedSince !== null && t - pauseNotedAt >= reminderMs) {
        pauseNotedAt = t;
        ctx.out.warn(topic, pauseLine(options, prefix, t - pausedSince));
      } else if (!isPaused && pausedSince !== null) {
        ctx.journal.note(`${topic}.resumed`, { label: options.label ?? null, pausedMs: t - pausedSince });
        ctx.out.info(topic, `${prefix}resumed after a pause of ${duration(t - pausedSince)}`);
        pausedSince = null;
      }

      if (!isPaused && t - started >= bakeMs) {
        if (options.alarms) {
          alarms = await options.alarms();
          alarmsAt = t;
        }
        const whole = wholeVerdict(lastLag === undefined ? await options.lag() : lastLag);
        if (whole.reasons.length) return { ok: false, verdict: whole };
        if (whole.ok) {
          if (gates.minRequests === 0 && whole.figures.greenRequests === 0) {
            ctx.out.warn(topic, `${prefix}no green request in ${Math.round((t - started) / 1000)} s: green's health is not proven by traffic (gates.minRequests is 0)`);
          }
          return { ok: true, verdict: whole, baselineBlue: baseline, watchedSeconds: round1((t - started) / 1000), provingSeconds: provingSince === null ? 0 : round1((t - provingSince) / 1000) };
        }
        if (provingSince === null) {
          provingSince = t;
          ctx.journal.note(`${topic}.not-proven`, { label: options.label ?? null, waitSeconds: proofWait, ...whole.figures });
          ctx.out.info(topic, `${prefix}${whole.unproven}: baking up to ${proofWait} s more for them`);
        } else if (t - provingSince >= proofWait * 1000) {
          const fix = options.unprovenFix ?? 'send real traffic through the router, or set gates.minRequests lower in the config (0: no proof needed)';
          const reason = `${whole.unproven}, so green's health is unknown; fix: ${fix}`;
          return { ok: false, verdict: { ...whole, reasons: [reason] }, unproven: true };
        }
      }

      const remaining = bakeMs - (t - started);
      await ctx.clock.sleep(Math.max(1, Math.min(interval, remaining > 0 ? remaining : interval)), ctx.signal).catch(() => {});
      if (ctx.signal.aborted) return aborted();
      const current = await ctx.platform.router.metrics();
      const at = Date.parse(current.at);
      while (snapshots.length > 1 && at - Date.parse(snapshots[1]!.at) >= windowMs) snapshots.shift();
      const previous = snapshots[0]!;
      const blueNow = blueLatencyOf(previous, current, gates.minRequests);
      if (blueNow !== null) baseline = blueNow;
      lastLag = await options.lag();
      const windowVerdict = evaluateGates({
        previous,
        current,
        lagMs: lastLag,
        validationAgeSeconds: options.validationAge?.(),
        baselineBlue: baseline,
        gates,
      });
      if (options.alarms && now() - alarmsAt >= alarmEvery) {
        alarms = await options.alarms();
        alarmsAt = now();
      }
      if (windowVerdict.reasons.length || alarms?.reasons.length) return { ok: false, verdict: withAlarms(windowVerdict, alarms) };
      snapshots.push(current);
      latest = current;

      const t2 = now();
      if (ctx.out.mode === 'tty' || t2 - progressAt >= progressEvery) {
        progressAt = t2;
        const soFar = wholeVerdict(lastLag);
        const proving = provingSince !== null;
        ctx.out.progress({
          topic,
          done: Math.floor((t2 - started) / 1000),
          total: proving ? options.seconds + proofWait : options.seconds,
          unit: 's',
          figures: {
            ...options.progressFigures,
            ...(pausedSince !== null ? { state: 'paused' } : proving ? { state: 'waiting-for-requests' } : {}),
            ...progressFigures(soFar.figures),
          },
        });
      }
    }
  } finally {
    ctx.out.done(topic);
  }
}

function pauseLine(options: GateWatchOptions, prefix: string, pausedMs: number): string {
  if (options.pausedMessage) return options.pausedMessage(pausedMs);
  return `${prefix}paused${pausedMs ? ` for ${duration(pausedMs)}` : ''}; gates still watched`;
}

/** `45 s`, `2 min`, `2 min 5 s`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
