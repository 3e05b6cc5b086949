import { BucketHistogram, exactQuantile, HOLD_BUCKETS_MS } from '../platform/histogram.ts';

/** Hold-time figures of one hold (what `releaseWrites` returns). */
export interface HoldFigures {
  readonly released: number;
  readonly holdMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** `admin` (the runbook released it) or `cap` (maxHoldMs ran out first). */
  readonly releasedBy: 'admin' | 'cap' | 'none';
}

interface Waiter {
  readonly arrivedAt: number;
  readonly resume: () => void;
}

/**
 * The write pause: while held, write requests wait here (never failed) until the runbook
 * releases them or the cap runs out, whichever is first; then each goes on to the write target
 * current at that moment. Keeps cumulative hold-time metrics and the figures of the last hold.
 */
export class WriteHold {
  private waiters: Waiter[] = [];
  private capTimer: NodeJS.Timeout | null = null;
  private heldSince: number | null = null;
  private lastFigures: HoldFigures = { released: 0, holdMs: { p50: 0, p99: 0, max: 0 }, releasedBy: 'none' };
  private readonly histogram = new BucketHistogram(HOLD_BUCKETS_MS);
  private total = 0;
  private maxObservedMs = 0;

  get held(): boolean {
    return this.heldSince !== null;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Starts holding (or, when already holding, restarts the cap from now). */
  hold(maxHoldMs: number): void {
    if (this.heldSince === null) this.heldSince = performance.now();
    if (this.capTimer) clearTimeout(this.capTimer);
    this.capTimer = setTimeout(() => this.release('cap'), maxHoldMs);
    this.capTimer.unref();
  }

  /** Resolves when the request may proceed (at once when not holding). */
  enter(): Promise<void> {
    if (this.heldSince === null) return Promise.resolve();
    this.total++;
    return new Promise((resume) => this.waiters.push({ arrivedAt: performance.now(), resume }));
  }

  /** Lets every waiting write go; returns this hold's figures (the last hold's when none is active). */
  release(by: 'admin' | 'cap' = 'admin'): HoldFigures {
    if (this.heldSince === null) return this.lastFigures;
    if (this.capTimer) clearTimeout(this.capTimer);
    this.capTimer = null;
    this.heldSince = null;
    const now = performance.now();
    const waiters = this.waiters;
    this.waiters = [];
    const times = waiters.map((w) => now - w.arrivedAt).sort((a, b) => a - b);
    for (const t of times) {
      this.histogram.record(t);
      this.maxObservedMs = Math.max(this.maxObservedMs, t);
    }
    const round = (v: number) => Math.round(v * 100) / 100;
    this.lastFigures = {
      released: waiters.length,
      holdMs: { p50: round(exactQuantile(times, 0.5)), p99: round(exactQuantile(times, 0.99)), max: round(times[times.length - 1] ?? 0) },
      releasedBy: by,
    };
    for (const w of waiters) w.resume();
    return this.lastFigures;
  }

  metrics(): { total: number; current: number; holdMsBuckets: readonly number[]; holdMsCounts: readonly number[]; maxHoldMs: number } {
    return {
      total: this.total,
      current: this.waiters.length,
      holdMsBuckets: HOLD_BUCKETS_MS,
      holdMsCounts: this.histogram.snapshot(),
      maxHoldMs: Math.round(this.maxObservedMs * 100) / 100,
    };
  }

  /** Stops the cap timer; waiting writes are let go (the caller is shutting down). */
  dispose(): void {
    this.release('admin');
  }
}
