import { writeStatusFileAsync, type WorkerStatusFile } from './status-file.ts';

/** The window the applied-rows-per-second figure is averaged over. */
const RATE_WINDOW_MS = 5000;

/**
 * Rows applied over the last five seconds, as a per-second figure for the status file. A window
 * younger than a second is divided by a full second, so one early batch does not read as a burst.
 */
export class AppliedRateWindow {
  private readonly entries: { at: number; rows: number }[] = [];

  add(rows: number, now = Date.now()): void {
    this.entries.push({ at: now, rows });
    this.trim(now);
  }

  perSecond(now = Date.now()): number {
    this.trim(now);
    const rows = this.entries.reduce((s, r) => s + r.rows, 0);
    const span = Math.min(RATE_WINDOW_MS, now - (this.entries[0]?.at ?? now));
    return Math.round((rows * 1000) / Math.max(span, 1000));
  }

  private trim(now: number): void {
    while (this.entries.length && this.entries[0]!.at < now - RATE_WINDOW_MS) this.entries.shift();
  }
}

/**
 * Writes a worker's status file: one asynchronous write at a time (a request meanwhile writes the
 * newest state right after it), at most one every `minIntervalMs` unless forced — a throttled
 * request still lands, as one trailing write, because `wait --max-lag-ms` and the write switch
 * poll this file. A failed write (a full disk) must not stop replication: the next one retries.
 */
export class WorkerStatusWriter {
  private lastWrite = 0;
  private trailing: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => WorkerStatusFile,
    private readonly minIntervalMs = 50,
  ) {}

  write(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastWrite < this.minIntervalMs) {
      this.trailing ??= setTimeout(() => {
        this.trailing = null;
        this.write(true);
      }, this.minIntervalMs - (now - this.lastWrite));
      return;
    }
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = null;
    this.lastWrite = now;
    this.flush();
  }

  /** Resolves once the newest status requested is on disk. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private flush(): void {
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = writeStatusFileAsync(this.file, this.snapshot())
      .catch(() => {})
      .finally(() => {
        this.writing = null;
        if (this.dirty) {
          this.dirty = false;
          this.flush();
        }
      });
  }
}
