/**
 * Runs async tasks at most `limit` at a time. After the first failure queued tasks are skipped
 * and the failure is what `run` callers see.
 */
export class TaskLimiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private failure: unknown = undefined;

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    try {
      if (this.failure !== undefined) throw this.failure;
      return await task();
    } catch (err) {
      this.failure ??= err;
      throw err;
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}
