import type { FlowControl } from './transaction-queue.ts';

/**
 * One change stream paused by several holders of what it sent (the queue, each large transaction
 * applied while it arrives, the transactions behind one): it reads again only once none of them
 * is full. With the stream's own pause/resume shared, one holder's resume undid another's pause —
 * the queue, draining, resumed the stream while a large transaction already held its limit of
 * parts, and one more part arrived per batch taken (PAUSE_AT_PARTS then bounded nothing).
 */
export class BackPressure {
  private readonly full = new Set<object>();
  private readonly flows = new WeakMap<object, FlowControl>();

  constructor(private readonly stream: FlowControl) {}

  /** The flow control `holder` pauses and resumes the stream with (the same object each time). */
  flowOf(holder: object): FlowControl {
    let flow = this.flows.get(holder);
    if (!flow) {
      flow = {
        pause: () => {
          this.full.add(holder);
          this.stream.pause();
        },
        resume: () => this.release(holder),
      };
      this.flows.set(holder, flow);
    }
    return flow;
  }

  /**
   * `holder` is no longer full (or gone): the stream reads again if no other holder is. Nothing
   * happens when `holder` had not paused it (the stream's hot path calls this per transaction).
   */
  release(holder: object): void {
    if (!this.full.delete(holder)) return;
    if (!this.full.size) this.stream.resume();
  }

  /** Whether any holder keeps the stream paused. */
  get paused(): boolean {
    return this.full.size > 0;
  }
}
