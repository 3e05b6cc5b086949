/**
 * Everything the rehearsal starts is pushed here and stopped in reverse order on normal exit,
 * on Ctrl-C / SIGTERM and on error, so no `postgres` process outlives the rehearsal.
 */
export class CleanupStack {
  private readonly tasks: { name: string; fn: () => Promise<void> }[] = [];
  private running: Promise<void> | null = null;
  private onInterrupt: (signal: NodeJS.Signals) => void = () => {};
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.onInterrupt(signal);
    void this.run().finally(() => {
      process.exitCode = signal === 'SIGINT' ? 130 : 143;
      process.exit();
    });
  };

  /** Installs SIGINT/SIGTERM handlers that call `onInterrupt`, run the stack, then exit. */
  trapSignals(onInterrupt?: (signal: NodeJS.Signals) => void): void {
    if (onInterrupt) this.onInterrupt = onInterrupt;
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  push(name: string, fn: () => Promise<void>): void {
    this.tasks.push({ name, fn });
  }

  /** Runs every task once, newest first; a failing task does not stop the others. */
  run(onError?: (name: string, err: unknown) => void): Promise<void> {
    if (!this.running) {
      this.running = (async () => {
        process.off('SIGINT', this.onSignal);
        process.off('SIGTERM', this.onSignal);
        while (this.tasks.length) {
          const t = this.tasks.pop()!;
          try {
            await t.fn();
          } catch (err) {
            onError?.(t.name, err);
          }
        }
      })();
    }
    return this.running;
  }
}
