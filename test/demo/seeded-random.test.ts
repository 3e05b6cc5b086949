import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../lib/demo/seeded-random.ts';

/** The eager partial Fisher–Yates the demo data was first generated with: the reference. */
function eagerSample<T>(rng: SeededRandom, items: readonly T[], count: number): T[] {
  const copy = [...items];
  const n = Math.min(count, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng.next() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

describe('SeededRandom', () => {
  test('sample gives what the eager shuffle gave, without copying the list', () => {
    for (const [length, count] of [[10, 10], [60000, 3], [57, 80], [0, 2]] as const) {
      const items = Array.from({ length }, (_, i) => `item${i}`);
      const a = new SeededRandom(21);
      const b = new SeededRandom(21);
      for (let round = 0; round < 5; round++) expect(a.sample(items, count)).toEqual(eagerSample(b, items, count));
      expect(a.next()).toBe(b.next());
    }
  });

  test('sampleRange gives the same values and leaves the sequence where sample does', () => {
    for (const [length, count] of [[10, 10], [1000, 4], [57, 80], [1, 1], [0, 3]] as const) {
      const eager = new SeededRandom(11);
      const lazy = new SeededRandom(11);
      const expected = eagerSample(eager, Array.from({ length }, (_, i) => i + 5), count);
      const s = lazy.sampleRange(5, length, count);
      const got: number[] = [];
      for (let v = s.take(); v !== undefined; v = s.take()) got.push(v);
      expect(got).toEqual(expected);
      expect(lazy.next()).toBe(eager.next());
    }
  });

  test('a partly taken sampleRange, finished, continues as after the whole sample', () => {
    const eager = new SeededRandom(5);
    const lazy = new SeededRandom(5);
    const expected = eagerSample(eager, Array.from({ length: 5000 }, (_, i) => i), 5000);
    const s = lazy.sampleRange(0, 5000, 5000);
    const firstTen = Array.from({ length: 10 }, () => s.take());
    s.finish();
    expect(firstTen).toEqual(expected.slice(0, 10));
    expect(lazy.next()).toBe(eager.next());
  });

  test('skip(n) equals n draws, and at(position) continues a sequence', () => {
    const a = new SeededRandom(3);
    const b = new SeededRandom(3);
    for (let i = 0; i < 12345; i++) a.next();
    b.skip(12345);
    expect(b.position).toBe(a.position);
    const c = SeededRandom.at(a.position);
    expect(c.next()).toBe(a.next());
  });
});
