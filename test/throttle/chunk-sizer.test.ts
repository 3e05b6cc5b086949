import { describe, expect, test } from 'vitest';
import { pacingSchema, type PacingConfig } from '../../lib/config/common-schema.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { SourceHealth } from '../../lib/platform/roles.ts';
import type { SourceHealthProbe } from '../../lib/throttle/source-health.ts';
import { ChunkSizer } from '../../lib/throttle/chunk-sizer.ts';
import { SourceThrottler } from '../../lib/throttle/source-throttler.ts';

const pacing = (o: Partial<PacingConfig> = {}): PacingConfig => pacingSchema.parse(o);
const healthy: SourceHealth = { blueP99Ms: 50, blueRequests: 100, activeSessions: 1, probeMs: 2 };

/** A source read at `rowsPerMs`: the chunk of `rows` rows takes rows / rowsPerMs ms. */
function feed(sizer: ChunkSizer, rowsPerMs: number, chunks: number): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < chunks; i++) {
    const rows = sizer.next();
    sizes.push(rows);
    sizer.record(rows, rows / rowsPerMs);
  }
  return sizes;
}

describe('ChunkSizer', () => {
  const limits = { targetMs: 500, minRows: 1000, maxRows: 100_000 };

  test('starts small, then grows at most twofold per chunk towards rows/s x target time while chunks are fast', () => {
    const sizer = new ChunkSizer(limits);
    // 40 rows/ms: a 500 ms chunk is 20,000 rows
    const sizes = feed(sizer, 40, 12);
    expect(sizes[0]).toBe(1000);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeLessThanOrEqual(sizes[i - 1]! * 2);
    expect(sizes.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 16000, 20000]);
    expect(sizer.next()).toBe(20_000);
  });

  test('shrinks when chunks get slow (the source is busy), smoothed: one slow chunk does not halve it at once to the new rate', () => {
    const sizer = new ChunkSizer(limits);
    feed(sizer, 40, 12);
    // the source slows down 10x: 4 rows/ms, a 500 ms chunk is 2,000 rows
    sizer.record(20_000, 5000);
    const afterOne = sizer.next();
    expect(afterOne).toBeLessThan(20_000);
    expect(afterOne).toBeGreaterThan(2000);
    feed(sizer, 4, 10);
    expect(sizer.next()).toBeGreaterThanOrEqual(2000);
    expect(sizer.next()).toBeLessThan(2100);
  });

  test('stays within minRows and maxRows; an empty chunk changes nothing', () => {
    const fast = new ChunkSizer(limits);
    feed(fast, 10_000, 30);
    expect(fast.next()).toBe(100_000);
    const slow = new ChunkSizer(limits);
    feed(slow, 0.01, 10);
    expect(slow.next()).toBe(1000);
    const before = slow.smoothedRate();
    slow.record(0, 9000);
    expect(slow.smoothedRate()).toBe(before);
  });
});

/** A probe answering a scripted health, and a clock only the chunks and the throttler's sleeps move. */
function scripted(health: () => SourceHealth) {
  let t = 0;
  const probe: SourceHealthProbe = { caveat: null, sample: async () => health(), close: async () => {} };
  return { probe, ports: { now: () => t, sleep: async (ms: number) => void (t += ms) }, advance: (ms: number) => (t += ms), now: () => t };
}

describe('SourceThrottler sizing chunks', () => {
  test("each key's chunk rows follow its own chunks' time; figures and progress lines show them", async () => {
    const s = scripted(() => healthy);
    const throttler = new SourceThrottler(pacing({ chunkTargetMs: 100, minChunkRows: 50, maxChunkRows: 5000 }), s.probe, new RecordingOutput(), s.ports);
    expect(throttler.sliceMs).toBe(100);
    // table a reads 10 rows/ms, table b 1 row/ms
    for (let i = 0; i < 10; i++) {
      for (const [key, perMs] of [['a', 10], ['b', 1]] as const) {
        const rows = throttler.chunkRows(key)!;
        await throttler.paced(key, async () => (s.advance(rows / perMs), rows), { key, rows: (r) => r });
      }
    }
    expect(throttler.chunkRows('a')).toBe(1000);
    expect(throttler.chunkRows('b')).toBe(100);
    const f = throttler.figures();
    expect(f.chunkSizing).toMatchObject({ targetMs: 100, chunks: 20, smallestRows: 50, largestRows: 1000 });
    expect(throttler.progressFigures('a')).toMatchObject({ 'chunk rows': 1000 });
    throttler.reset();
    expect(throttler.figures().chunkSizing).toBeUndefined();
    expect(throttler.chunkRows('a')).toBe(50);
  });

  test('under stress the next chunk waits (a pause, counted in the progress line), and the wait does not count as chunk time', async () => {
    let recoverAt = 0;
    const s = scripted(() => ({ ...healthy, blueP99Ms: s.now() < recoverAt ? 5000 : 50 }));
    const out = new RecordingOutput();
    const throttler = new SourceThrottler(pacing({ chunkTargetMs: 100, minChunkRows: 100, maxChunkRows: 10_000, maxBlueP99Ms: 1000 }), s.probe, out, s.ports);
    const chunk = async () => {
      const rows = throttler.chunkRows('t')!;
      return throttler.paced('t', async () => (s.advance(rows / 10), rows), { key: 't', rows: (r) => r });
    };
    for (let i = 0; i < 6; i++) await chunk();
    expect(throttler.chunkRows('t')).toBe(1000);
    // blue is slow for the next 5 s (the last health sample is stale by then)
    s.advance(600);
    recoverAt = s.now() + 5000;
    const started = s.now();
    await chunk();
    expect(s.now() - started).toBeGreaterThanOrEqual(5000 + 100);
    expect(throttler.figures()).toMatchObject({ pauses: 1, reasons: { 'blue-p99': 1 } });
    expect(throttler.progressFigures('t')).toMatchObject({ pauses: 1, 'chunk rows': 1000 });
    expect(out.lines.some((l) => l.message.startsWith('pacing: reads on the source wait: blue p99 5000 ms'))).toBe(true);
  });

  test('fixed chunks when pacing is off or chunkTargetMs is 0: no chunk rows, slices of 250 ms', () => {
    const s = scripted(() => healthy);
    expect(new SourceThrottler(pacing({ enabled: false }), s.probe, new RecordingOutput(), s.ports).chunkRows('t')).toBeNull();
    const fixed = new SourceThrottler(pacing({ chunkTargetMs: 0 }), s.probe, new RecordingOutput(), s.ports);
    expect(fixed.chunkRows('t')).toBeNull();
    expect(fixed.sliceMs).toBe(250);
  });

  test('the config refuses minChunkRows above maxChunkRows, and documents its defaults', () => {
    expect(pacingSchema.safeParse({ minChunkRows: 5000, maxChunkRows: 100 }).success).toBe(false);
    expect(pacing()).toMatchObject({ chunkTargetMs: 500, minChunkRows: 1000, maxChunkRows: 100_000 });
  });
});
