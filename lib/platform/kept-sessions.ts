import type { EventEmitter } from 'node:events';

/**
 * Two database sessions a step opened before the write hold, kept for the call it makes inside the
 * hold (a sequence sync's prepare, then its sync): that call then spends no time connecting to
 * both sides, and the server backends already know the tables it reads. Taken at most once, for
 * the same `key` only; closed when not taken within `keepMs` (the timer never holds the process).
 * A session whose connection ended meanwhile (server restart, a fence ending it) is not handed
 * out; the caller opens new ones, and should do so once more if a kept one fails on first use.
 */
export class KeptSessions<A extends { end(): Promise<unknown> }, B extends { end(): Promise<unknown> }> {
  private kept: { key: string; a: A; b: B; ended: boolean; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly keepMs: number) {}

  keep(key: string, a: A, b: B): void {
    void this.close();
    const kept = { key, a, b, ended: false, timer: setTimeout(() => void this.close(), this.keepMs).unref() };
    for (const s of [a, b] as unknown as Partial<EventEmitter>[]) s.once?.('end', () => (kept.ended = true));
    this.kept = kept;
  }

  /** The kept pair when it is for `key` and still connected, else null (and it is closed). */
  take(key: string): [A, B] | null {
    const kept = this.kept;
    if (!kept) return null;
    this.kept = null;
    clearTimeout(kept.timer);
    if (kept.key === key && !kept.ended) return [kept.a, kept.b];
    void endBoth(kept.a, kept.b);
    return null;
  }

  async close(): Promise<void> {
    const kept = this.kept;
    if (!kept) return;
    this.kept = null;
    clearTimeout(kept.timer);
    await endBoth(kept.a, kept.b);
  }
}

async function endBoth(a: { end(): Promise<unknown> }, b: { end(): Promise<unknown> }): Promise<void> {
  await Promise.all([a.end().catch(() => {}), b.end().catch(() => {})]);
}
