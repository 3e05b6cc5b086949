import type { Clock, PhaseContext } from '../../../lib/engine/phase.ts';
import { RecordingOutput } from '../../../lib/output/output.ts';
import type { Platform, RouterMetrics, UpstreamMetrics } from '../../../lib/platform/roles.ts';
import { LATENCY_BUCKETS_MS } from '../../../lib/platform/histogram.ts';
import { watchGates, type GateWatchOptions } from '../../../lib/traffic/gate-watch.ts';
import { MemoryJournal } from './memory-journal.ts';
import { testEnvironment } from './test-env.ts';

/**
 * watchGates against a scripted router on a fake clock: `sleep` moves time, and the router's
 * cumulative counters are a function of that time, so minutes of baking run in milliseconds.
 */
export const T0 = Date.parse('2025-01-01T00:00:00Z');

function upstream(requests: number, ms: number, failures = 0): UpstreamMetrics {
  const counts = LATENCY_BUCKETS_MS.map(() => 0);
  counts[LATENCY_BUCKETS_MS.findIndex((b) => ms <= b)]! += requests;
  return { requests, status2xx: requests - failures, status4xx: 0, status5xx: failures, errors: 0, retriedOnBlue: failures, latencyBucketsMs: LATENCY_BUCKETS_MS, latencyCounts: counts };
}

export interface RigOptions {
  /** Green requests in simulated second t (seconds since the start). */
  readonly greenPerSecond: (t: number) => number;
  readonly gates?: Record<string, unknown>;
  /** One green request in this many fails. */
  readonly failEvery?: number;
  /** Failed green requests in second t (on top of `failEvery`). */
  readonly greenFailuresPerSecond?: (t: number) => number;
  /** Green's latency (all requests in one bucket). @default 5 */
  readonly greenMs?: number;
  /** Blue requests in second t, after 1000 before the start. @default - one a ms */
  readonly bluePerSecond?: (t: number) => number;
  /** Green's counters before the watch began (requests and failures the watch must not count). */
  readonly greenBefore?: { readonly requests: number; readonly failures: number };
  /** A TTY output (a progress line at every evaluation). */
  readonly tty?: boolean;
}

export function gateWatchRig(options: RigOptions) {
  let now = T0;
  let green = options.greenBefore?.requests ?? 0;
  let greenFailures = options.greenBefore?.failures ?? 0;
  let blue = 1000;
  let lastAt = T0;
  const controller = new AbortController();
  const clock: Clock = {
    now: () => new Date(now),
    sleep: async (ms) => {
      now += ms;
    },
  };
  const metrics = async (): Promise<RouterMetrics> => {
    // integrate the rates second by second up to `now`
    for (let s = Math.floor((lastAt - T0) / 1000); s < Math.floor((now - T0) / 1000); s++) {
      const n = options.greenPerSecond(s);
      green += n;
      if (options.failEvery) greenFailures += Math.floor(n / options.failEvery);
      greenFailures += options.greenFailuresPerSecond?.(s) ?? 0;
      blue += options.bluePerSecond?.(s) ?? 0;
    }
    lastAt = T0 + Math.floor((now - T0) / 1000) * 1000;
    return {
      at: new Date(now).toISOString(),
      upstreams: { blue: upstream(options.bluePerSecond ? blue : 1000 + (now - T0), 4), green: upstream(green, options.greenMs ?? 5, greenFailures) },
      held: { total: 0, current: 0, holdMsBuckets: [], holdMsCounts: [], maxHoldMs: 0 },
      clientFailures: 0,
    };
  };
  const out = new RecordingOutput();
  const done: string[] = [];
  out.done = (topic?: string) => void done.push(topic ?? '');
  if (options.tty) Object.defineProperty(out, 'mode', { value: 'tty' });
  const journal = new MemoryJournal();
  const env = testEnvironment({ gates: { minRequests: 20, ...options.gates } });
  const ctx: PhaseContext = {
    env,
    platform: { router: { metrics } } as unknown as Platform,
    out,
    journal,
    clock,
    signal: controller.signal,
    options: {},
  };
  const watch = (o: Partial<GateWatchOptions> = {}) => watchGates(ctx, { seconds: 30, lag: async () => 40, topic: 'shift', label: 'reads 1 %', ...o });
  return { ctx, out, journal, watch, done, abort: () => controller.abort(), elapsedSeconds: () => (now - T0) / 1000 };
}
