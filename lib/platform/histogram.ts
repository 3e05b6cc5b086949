/**
 * Fixed-bucket histograms, the shape `RouterMetrics` publishes: bucket upper bounds in ms and a
 * count per bucket (each bucket counts values above the previous bound and up to its own; the
 * last bucket also takes everything above it). Counts are cumulative over the router's life, so
 * a window is the difference of two snapshots.
 */

/** Upstream latency buckets, fine at the low end where the router's own cost lives. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

/** Write-hold time buckets. */
export const HOLD_BUCKETS_MS: readonly number[] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 15000, 30000, 60000];

export class BucketHistogram {
  private readonly counts: number[];

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  record(value: number): void {
    let i = 0;
    while (i < this.bounds.length - 1 && value > this.bounds[i]!) i++;
    this.counts[i]!++;
  }

  snapshot(): number[] {
    return [...this.counts];
  }
}

/** Per-bucket counts of the window between two cumulative snapshots (`prev` may be absent). */
export function windowCounts(prev: readonly number[] | undefined, cur: readonly number[]): number[] {
  return cur.map((c, i) => Math.max(0, c - (prev?.[i] ?? 0)));
}

/**
 * The `q` quantile (0..1) as the upper bound of the bucket it falls in (so it never
 * under-states latency); null when the window is empty.
 */
export function quantileFromCounts(bounds: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(total * q));
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!;
    if (acc >= rank) return bounds[i]!;
  }
  return bounds[bounds.length - 1]!;
}

/** Exact quantile of a list of samples (nearest rank); 0 for an empty list. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(sorted.length * q));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}
