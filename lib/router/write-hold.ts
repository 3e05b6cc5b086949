import { BucketHistogram, exactQuantile, HOLD_BUCKETS_MS } from '../platform/histogram.ts';

/** Hold-time figures of one hold (what `releaseWrites` returns). */
export interface HoldFigures {
  readonly released: number;
  readonly holdMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * `admin` (the runbook released it), `cap` (maxHoldMs ran out first: the held writes were
   * answered 503, see `WriteHold`), `target-back` (a hold the router started itself because the
   * write target refused connections ended when it accepted them again).
   */
  readonly releasedBy: 'admin' | 'cap' | 'target-back' | 'none';
  /** Writes answered 503 because the cap ran out (0 unless `releasedBy` is `cap`). */
  readonly refused?: number;
}

/** What a write learns at the hold: go on to the write target, or answer 503 (the cap ran out). */
export type HoldPass = 'go' | 'refused';

interface Waiter {
  readonly arrivedAt: number;
  readonly resume: (pass: HoldPass) => void;
}

/**
 * The write pause: while held, write requests wait here (never failed) until the runbook
 * releases them. The pause is bounded: when `maxHoldMs` runs out first, nobody came back to
 * finish or undo the step that held them (a killed operator, a dead green), and neither side
 * is known to take writes — the old side is usually fenced. Then every waiting write and every
 * new one is answered at once with 503 and `Retry-After` (nothing was written, the client may
 * retry), never held longer and never sent to a side that may be fenced, until the runbook
 * releases or holds again (a re-run of `switch`, `rollback`). Keeps cumulative hold-time
 * metrics and the figures of the last hold.
 */
export class WriteHold {
  private waiters: Waiter[] = [];
  private capTimer: NodeJS.Timeout | null = null;
  private heldSince: number | null = null;
  private refusingSince: number | null = null;
  private refusedCount = 0;
  private lastFigures: HoldFigures = { released: 0, holdMs: { p50: 0, p99: 0, max: 0 }, releasedBy: 'none' };
  private readonly histogram = new BucketHistogram(HOLD_BUCKETS_MS);
  private total = 0;
  private refusedTotal = 0;
  private maxObservedMs = 0;

  /** Writes are not flowing: held, or refused after the cap. */
  get held(): boolean {
    return this.heldSince !== null || this.refusingSince !== null;
  }

  /** The cap ran out and no one released: writes are answered 503. */
  get refusing(): boolean {
    return this.refusingSince !== null;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Starts holding (or, when already holding, restarts the cap from now; after the cap, holds again). */
  hold(maxHoldMs: number): void {
    this.refusingSince = null;
    if (this.heldSince === null) this.heldSince = performance.now();
    if (this.capTimer) clearTimeout(this.capTimer);
    this.capTimer = setTimeout(() => this.expire(), maxHoldMs);
    this.capTimer.unref();
  }

  /** Resolves when the request may proceed (at once when not holding), or with `refused` after the cap. */
  enter(): Promise<HoldPass> {
    if (this.refusingSince !== null) {
      this.refusedCount++;
      this.refusedTotal++;
      return Promise.resolve('refused');
    }
    if (this.heldSince === null) return Promise.resolve('go');
    this.total++;
    return new Promise((resume) => this.waiters.push({ arrivedAt: performance.now(), resume }));
  }

  /** Lets every waiting write go; returns this hold's figures (the last hold's when none is active). */
  release(by: 'admin' | 'target-back' = 'admin'): HoldFigures {
    if (this.refusingSince !== null) {
      // the cap had ended the hold; from now writes flow again
      this.refusingSince = null;
      this.lastFigures = { ...this.lastFigures, refused: this.refusedCount };
      return this.lastFigures;
    }
    if (this.heldSince === null) return this.lastFigures;
    return this.finish(by === 'admin' ? 'admin' : 'target-back', 'go');
  }

  private expire(): void {
    if (this.heldSince === null) return;
    this.refusedCount = this.waiters.length;
    this.refusedTotal += this.waiters.length;
    this.finish('cap', 'refused');
    this.refusingSince = performance.now();
  }

  private finish(by: HoldFigures['releasedBy'], pass: HoldPass): HoldFigures {
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
      released: pass === 'go' ? waiters.length : 0,
      holdMs: { p50: round(exactQuantile(times, 0.5)), p99: round(exactQuantile(times, 0.99)), max: round(times[times.length - 1] ?? 0) },
      releasedBy: by,
      ...(by === 'cap' ? { refused: waiters.length } : {}),
    };
    for (const w of waiters) w.resume(pass);
    return this.lastFigures;
  }

  metrics(): { total: number; current: number; refused: number; holdMsBuckets: readonly number[]; holdMsCounts: readonly number[]; maxHoldMs: number } {
    return {
      total: this.total,
      current: this.waiters.length,
      refused: this.refusedTotal,
      holdMsBuckets: HOLD_BUCKETS_MS,
      holdMsCounts: this.histogram.snapshot(),
      maxHoldMs: Math.round(this.maxObservedMs * 100) / 100,
    };
  }

  /** Stops the cap timer; waiting writes are let go (the caller is shutting down). */
  dispose(): void {
    this.release('admin');
    this.refusingSince = null;
  }
}
