/**
 * A CDC worker's apply capacity, whatever the write rate: the changes applied, the time batches
 * were in flight on the target (a pipeline of them counts once), and the time since CDC began —
 * the `applyCapacity` of the status file, which the forecast reads. Shared by the WAL, binlog and
 * MySQL-reverse workers.
 */
export class ApplyCapacityMeter {
  private changes = 0;
  private busyMs = 0;
  private busySince: number | null = null;
  private cdcStartedAt: number | null = null;

  /** CDC (re)started now. */
  startCdc(): void {
    this.cdcStartedAt = performance.now();
  }

  get cdcStarted(): boolean {
    return this.cdcStartedAt !== null;
  }

  /** A batch went to the target: busy from now, unless it already was. */
  busy(): void {
    this.busySince ??= performance.now();
  }

  /** A batch of `changes` settled; `idle`: nothing is in flight any more. */
  settled(changes: number, idle: boolean): void {
    this.changes += changes;
    if (idle && this.busySince !== null) {
      this.busyMs += performance.now() - this.busySince;
      this.busySince = null;
    }
  }

  /** The figures, the batch in flight included. */
  figures(): { changes: number; busyMs: number; cdcMs: number } {
    const now = performance.now();
    return {
      changes: this.changes,
      busyMs: Math.round(this.busyMs + (this.busySince === null ? 0 : now - this.busySince)),
      cdcMs: this.cdcStartedAt === null ? 0 : Math.round(now - this.cdcStartedAt),
    };
  }
}
