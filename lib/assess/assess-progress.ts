import type { Output } from '../output/output.ts';
import { formatSeconds } from '../output/progress-rate.ts';

/**
 * Progress of `assess`: which of its steps runs (catalog reads, then one per data-quality check,
 * each a scan of a table: a minute in all at 1,000,000 orders), re-shown every second so a long
 * check still shows the run is alive, with the time spent so far.
 */
export class AssessProgress {
  private done = 0;
  private current: string | null = null;
  private finished = false;
  private readonly started = performance.now();
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly out: Output,
    private readonly total: number,
  ) {
    this.ticker = setInterval(() => this.show(), 1000);
    this.ticker.unref();
  }

  /** The previous step is done; `name` runs now. */
  at(name: string): void {
    if (this.current !== null) this.done++;
    this.current = name;
    this.show();
  }

  /** Idempotent (called when the steps end, and again on the way out of an error). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.ticker);
    this.out.done('assess');
  }

  private show(): void {
    const elapsed = formatSeconds((performance.now() - this.started) / 1000);
    this.out.progress({ topic: 'assess', done: this.done, total: this.total, unit: 'steps', figures: { step: this.current ?? '', elapsed } });
  }
}
