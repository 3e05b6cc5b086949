/**
 * Rate and ETA of a long step, for `Output.progress` figures: `rate` is measured over the last
 * `windowMs` (so a slow start or a pause does not skew it for ever), the ETA is what is left at
 * that rate. Pure arithmetic over the samples it is given; the clock is injectable for tests.
 */
export class ProgressRate {
  private readonly samples: { at: number; done: number }[] = [];

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly windowMs = 10_000,
  ) {}

  /** Records `done` now; returns units/s over the window and the seconds left to `total` (undefined when unknown). */
  update(done: number, total?: number): { perSecond: number; etaSeconds?: number } {
    const at = this.now();
    this.samples.push({ at, done });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (at - first.at) / 1000;
    const perSecond = seconds > 0 ? Math.max(0, (done - first.done) / seconds) : 0;
    const etaSeconds = total !== undefined && perSecond > 0 ? Math.max(0, (total - done) / perSecond) : undefined;
    return { perSecond, etaSeconds };
  }

  /** `figures` for `Output.progress`: `{ '<unit>/s': n, eta: '1m05s' }` (eta `?` until a rate is known). */
  figures(done: number, total: number | undefined, unit = 'rows'): Record<string, string | number> {
    const { perSecond, etaSeconds } = this.update(done, total);
    const figures: Record<string, string | number> = { [`${unit}/s`]: Math.round(perSecond) };
    if (total !== undefined) figures.eta = etaSeconds === undefined ? '?' : formatSeconds(etaSeconds);
    return figures;
  }
}

/** `45s`, `3m07s`, `1h02m`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
