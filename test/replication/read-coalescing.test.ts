import { describe, expect, test } from 'vitest';
import { ReadCoalescing } from '../../lib/replication/read-coalescing.ts';

/** Reads of `bytes` every `everyMs`, `count` of them: how many were followed by a rest. */
function rests(bytes: number, everyMs: number, count: number): number {
  const c = new ReadCoalescing();
  let n = 0;
  for (let i = 0; i < count; i++) if (c.restAfter(bytes, 1_000 + i * everyMs)) n++;
  return n;
}

describe('ReadCoalescing', () => {
  test('a backlog trickling in (600-byte reads, 10,000 a second) rests every few reads', () => {
    // 4,096 bytes take 7 reads of 600: one rest per 7 reads
    expect(rests(600, 0.1, 700)).toBe(100);
  });

  test('live changes are never held back: 2,000 single-row transactions a second, one read each', () => {
    expect(rests(300, 0.5, 10_000)).toBe(0);
    // a burst of a few small reads at once stays under the threshold too
    expect(rests(500, 0, 8)).toBe(0);
  });

  test('a stream already arriving in large reads never rests', () => {
    expect(rests(64 * 1024, 0.1, 1_000)).toBe(0);
    expect(rests(16 * 1024, 0, 1_000)).toBe(0);
  });

  test('the window restarts: small reads spread over more than 2 ms do not add up', () => {
    const c = new ReadCoalescing();
    expect(c.restAfter(3_000, 0)).toBe(false);
    expect(c.restAfter(3_000, 2.5)).toBe(false); // a new window: 3,000 bytes in it
    expect(c.restAfter(1_100, 3)).toBe(true); // 4,100 within 2 ms
    expect(c.restAfter(1_000, 3.1)).toBe(false); // after a rest, counting starts again
  });
});
