import type { PacingConfig } from '../config/common-schema.ts';
import type { Output } from '../output/output.ts';
import type { ChunkSizingFigures, PacingFigures, SourceHealth, Throttler } from '../platform/roles.ts';
import { ChunkSizer } from './chunk-sizer.ts';
import { SLICE_MS } from './paced-stream.ts';
import type { SourceHealthProbe } from './source-health.ts';
import { judgeStress, type Stress } from './stress-judgement.ts';

/** A health sample is reused for this long by every reader asking meanwhile. */
const SAMPLE_EVERY_MS = 500;
/** A waiting reader looks again after this. */
const WAIT_STEP_MS = 250;

export interface SourceThrottlerPorts {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The throttler (gh-ost's split; see `Throttler` in lib/platform/roles.ts). All readers share one
 * view of blue's health, sampled at most every 500 ms; a pause is one episode however many readers
 * wait in it, printed once when it begins and once when it ends, with its cause and figures.
 */
export class SourceThrottler implements Throttler {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private last: { at: number; health: SourceHealth; stress: Stress | null } | null = null;
  private sampling: Promise<Stress | null> | null = null;
  private waiting = 0;
  private pauseStartedAt: number | null = null;
  private pauseReason: string | null = null;
  /** After a pause of `maxPauseMs`, reads do not wait before this. */
  private graceUntil = 0;
  private caveatShown = false;
  private totals = this.empty();
  /** One chunk size per table (rows/s differ with row width and cache). */
  private readonly sizers = new Map<string, ChunkSizer>();
  private sizing: ChunkSizingFigures | null = null;

  constructor(
    private readonly pacing: PacingConfig,
    private readonly probe: SourceHealthProbe,
    private readonly out: Output,
    ports: SourceThrottlerPorts = {},
  ) {
    this.now = ports.now ?? (() => Date.now());
    this.sleep = ports.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get sliceMs(): number {
    return this.adapting ? this.pacing.chunkTargetMs : SLICE_MS;
  }

  chunkRows(key: string): number | null {
    return this.adapting ? this.sizer(key).next() : null;
  }

  async paced<T>(topic: string, chunk: () => Promise<T>, sized?: { readonly key: string; readonly rows: (result: T) => number }): Promise<T> {
    if (!this.pacing.enabled) return chunk();
    await this.waitForHealth(topic);
    const started = this.now();
    let ok = false;
    let result: T;
    try {
      result = await chunk();
      ok = true;
    } finally {
      this.totals.chunks++;
      const took = this.now() - started;
      if (ok && sized && this.adapting) this.recordSized(sized.key, sized.rows(result!), took);
      const rest = Math.round(took * this.pacing.niceRatio);
      if (rest > 0) {
        this.totals.restedMs += rest;
        await this.sleep(rest);
      }
    }
    return result!;
  }

  private get adapting(): boolean {
    return this.pacing.enabled && this.pacing.chunkTargetMs > 0;
  }

  private sizer(key: string): ChunkSizer {
    let s = this.sizers.get(key);
    if (!s) this.sizers.set(key, (s = new ChunkSizer({ targetMs: this.pacing.chunkTargetMs, minRows: this.pacing.minChunkRows, maxRows: this.pacing.maxChunkRows })));
    return s;
  }

  private recordSized(key: string, rows: number, ms: number): void {
    this.sizer(key).record(rows, ms);
    if (rows <= 0) return;
    const z = this.sizing;
    this.sizing = z
      ? { ...z, chunks: z.chunks + 1, smallestRows: Math.min(z.smallestRows, rows), largestRows: Math.max(z.largestRows, rows), lastRows: rows }
      : { targetMs: this.pacing.chunkTargetMs, chunks: 1, smallestRows: rows, largestRows: rows, lastRows: rows };
  }

  async pause(topic: string, workedMs: number): Promise<void> {
    if (!this.pacing.enabled) return;
    this.totals.chunks++;
    const rest = Math.round(workedMs * this.pacing.niceRatio);
    if (rest > 0) {
      this.totals.restedMs += rest;
      await this.sleep(rest);
    }
    await this.waitForHealth(topic);
  }

  /**
   * Waits while blue is under stress. A pause lasts at most `maxPauseMs`; after one that long the
   * reads run unpaused for as long again before they may wait anew, so under lasting stress a
   * phase takes at most about twice its time, and always advances.
   */
  private async waitForHealth(topic: string): Promise<void> {
    let stress = await this.stress();
    if (!stress || this.now() < this.graceUntil) return;
    this.enter(topic, stress);
    try {
      while (stress) {
        if (this.now() < this.graceUntil) return;
        if (this.now() - this.pauseStartedAt! >= this.pacing.maxPauseMs) {
          this.graceUntil = this.now() + this.pacing.maxPauseMs;
          this.totals.forcedResumes++;
          this.out.warn(topic, `pacing: reads go on for ${Math.round(this.pacing.maxPauseMs / 1000)} s after a pause of ${Math.round(this.pacing.maxPauseMs / 1000)} s (pacing.maxPauseMs) although ${stress.reason}`);
          return;
        }
        await this.sleep(WAIT_STEP_MS);
        stress = await this.stress();
        if (stress) this.pauseReason = stress.reason;
      }
    } finally {
      this.leave(topic);
    }
  }

  private enter(topic: string, stress: Stress): void {
    this.waiting++;
    if (this.pauseStartedAt !== null) return;
    this.pauseStartedAt = this.now();
    this.pauseReason = stress.reason;
    this.totals.pauses++;
    this.totals.reasons[stress.kind] = (this.totals.reasons[stress.kind] ?? 0) + 1;
    this.out.info(topic, `pacing: reads on the source wait: ${stress.reason}`);
  }

  private leave(topic: string): void {
    this.waiting--;
    if (this.waiting > 0 || this.pauseStartedAt === null) return;
    const ms = this.now() - this.pauseStartedAt;
    this.totals.pausedMs += ms;
    this.pauseStartedAt = null;
    this.pauseReason = null;
    this.out.info(topic, `pacing: reads on the source go on after ${(ms / 1000).toFixed(1)} s (paused ${(this.totals.pausedMs / 1000).toFixed(1)} s in all)`);
  }

  /** The current stress, from a sample at most `SAMPLE_EVERY_MS` old (one sample in flight at a time). */
  private stress(): Promise<Stress | null> {
    const last = this.last;
    if (last && this.now() - last.at < SAMPLE_EVERY_MS) return Promise.resolve(last.stress);
    this.sampling ??= this.probe
      .sample()
      .then((health) => {
        const stress = judgeStress(health, this.pacing);
        this.last = { at: this.now(), health, stress };
        if (health.blueP99Ms !== null) this.totals.maxBlueP99Ms = Math.max(this.totals.maxBlueP99Ms ?? 0, health.blueP99Ms);
        if (this.probe.caveat && !this.caveatShown) {
          this.caveatShown = true;
          this.out.warn('pacing', this.probe.caveat);
        }
        return stress;
      })
      .catch(() => null)
      .finally(() => (this.sampling = null));
    return this.sampling;
  }

  progressFigures(key?: string): Record<string, string | number> {
    const pausedMs = this.totals.pausedMs + (this.pauseStartedAt !== null ? this.now() - this.pauseStartedAt : 0);
    const f: Record<string, string | number> = {};
    if (this.pauseReason) f.paused = this.pauseReason;
    if (this.totals.pauses > 0) f.pauses = this.totals.pauses;
    if (pausedMs > 0) f['paused s'] = Math.round(pausedMs / 100) / 10;
    if (key !== undefined && this.adapting && this.sizers.has(key)) f['chunk rows'] = this.sizers.get(key)!.next();
    return f;
  }

  figures(): PacingFigures {
    const open = this.pauseStartedAt !== null ? this.now() - this.pauseStartedAt : 0;
    return {
      enabled: this.pacing.enabled,
      ...this.totals,
      pausedMs: this.totals.pausedMs + open,
      reasons: { ...this.totals.reasons },
      ...(this.sizing ? { chunkSizing: { ...this.sizing } } : {}),
    };
  }

  reset(): void {
    this.totals = this.empty();
    this.sizing = null;
    this.sizers.clear();
    if (this.pauseStartedAt !== null) this.pauseStartedAt = this.now();
  }

  async close(): Promise<void> {
    await this.probe.close();
  }

  private empty() {
    return { chunks: 0, pauses: 0, pausedMs: 0, restedMs: 0, forcedResumes: 0, reasons: {} as Record<string, number>, maxBlueP99Ms: null as number | null };
  }
}
