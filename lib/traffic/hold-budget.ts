import { undoReserveMs } from '../config/common-schema.ts';

/**
 * A write hold's deadline: how much of the router's cap (`switch.maxHoldMs`, from the hold) is
 * left for the steps inside it, the undo's reserve kept back (undoReserveMs). Once the cap runs
 * out the router answers the held writes 503; the write switch and the rollback after it bound
 * their waits by this and release the held writes to the safe side before that.
 */
export class HoldBudget {
  private readonly capAt: number;
  private readonly reserve: number;

  /** `undone` ends the reason's sentence: what was done instead of finishing (the switch: `undone`). */
  constructor(
    private readonly maxHoldMs: number,
    private readonly undone = 'undone',
  ) {
    this.capAt = performance.now() + maxHoldMs;
    this.reserve = undoReserveMs(maxHoldMs);
  }

  /** Milliseconds the steps may still spend before they must undo (0 when spent). */
  leftMs(): number {
    return Math.max(0, Math.round(this.capAt - this.reserve - performance.now()));
  }

  /** Aborted when the budget is spent (or when `outer` is: the operator's Ctrl-C). */
  signal(outer: AbortSignal): { signal: AbortSignal; spent: () => boolean; dispose: () => void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.leftMs());
    const onOuter = () => controller.abort();
    if (outer.aborted) controller.abort();
    else outer.addEventListener('abort', onOuter, { once: true });
    return {
      signal: controller.signal,
      spent: () => !outer.aborted && controller.signal.aborted,
      dispose: () => {
        clearTimeout(timer);
        outer.removeEventListener('abort', onOuter);
      },
    };
  }

  /** Why the steps stop: `what` did not finish within the hold's budget. */
  reason(what: string): string {
    return `${what} did not finish within the write hold's budget (switch.maxHoldMs ${this.maxHoldMs} ms less ${this.reserve} ms kept to undo): ${this.undone} before the router's cap would answer the held writes 503`;
  }
}
