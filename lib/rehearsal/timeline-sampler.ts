import type { RouterMetrics, TrafficRouter, Replicator, UpstreamMetrics } from '../platform/roles.ts';
import type { TimelineSample } from './report.ts';

/** p99 from the delta of two cumulative histograms (bucket upper bounds in ms). */
export function windowP99(prev: UpstreamMetrics | undefined, cur: UpstreamMetrics): number | null {
  const counts = cur.latencyCounts.map((c, i) => c - (prev?.latencyCounts[i] ?? 0));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!;
    if (acc >= total * 0.99) return cur.latencyBucketsMs[i] ?? null;
  }
  return cur.latencyBucketsMs[cur.latencyBucketsMs.length - 1] ?? null;
}

/**
 * Polls the router and the replicator for the report's charts. A poller only: printing is the
 * live view's job.
 */
export class TimelineSampler {
  readonly samples: TimelineSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private prev: { at: number; m: RouterMetrics } | null = null;
  private busy = false;

  constructor(
    private readonly router: TrafficRouter,
    private readonly replicator: () => Replicator | null,
    private readonly t0: number,
    private readonly onSample?: (s: TimelineSample) => void,
  ) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      const [state, m] = await Promise.all([this.router.state(), this.router.metrics()]);
      let lagMs: number | null = null;
      const rep = this.replicator();
      if (rep) lagMs = await rep.status().then((s) => s.lagMs, () => null);
      const dt = this.prev ? Math.max(0.001, (now - this.prev.at) / 1000) : 1;
      const p = this.prev?.m;
      const rate = (f: (x: RouterMetrics) => number) => (p ? Math.max(0, (f(m) - f(p)) / dt) : 0);
      const s: TimelineSample = {
        t: now - this.t0,
        readWeightGreen: state.readWeightGreen,
        writeTarget: state.writeTarget,
        writesHeld: state.writesHeld,
        rps: { blue: rate((x) => x.upstreams.blue.requests), green: rate((x) => x.upstreams.green.requests) },
        errorsPerSec: {
          blue: rate((x) => x.upstreams.blue.status5xx + x.upstreams.blue.errors),
          green: rate((x) => x.upstreams.green.status5xx + x.upstreams.green.errors),
        },
        p99Ms: { blue: windowP99(p?.upstreams.blue, m.upstreams.blue), green: windowP99(p?.upstreams.green, m.upstreams.green) },
        clientFailuresPerSec: rate((x) => x.clientFailures),
        lagMs,
      };
      this.prev = { at: now, m };
      this.samples.push(s);
      this.onSample?.(s);
    } catch {
      // a sample missed while a server restarts is not worth failing the rehearsal for
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
