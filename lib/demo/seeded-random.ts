/** A small deterministic PRNG (mulberry32): the same seed gives the same demo data everywhere. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** A generator that continues from a saved `position` (see `position`). */
  static at(position: number): SeededRandom {
    const rng = new SeededRandom(1);
    rng.state = position >>> 0;
    return rng;
  }

  /** Where the sequence stands; `SeededRandom.at(position)` continues from here. */
  get position(): number {
    return this.state;
  }

  /** Moves past `draws` values without computing them (mulberry32's state is a counter). */
  skip(draws: number): void {
    this.state = (this.state + Math.imul(draws >>> 0, 0x6d2b79f5)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /**
   * `count` distinct items (order random): a partial Fisher–Yates shuffle, kept sparse so a few
   * items out of a long list cost a few draws and no copy of the list.
   */
  sample<T>(items: readonly T[], count: number): T[] {
    const picked = this.sampleRange(0, items.length, count);
    const out: T[] = [];
    for (let i = picked.take(); i !== undefined; i = picked.take()) out.push(items[i]!);
    return out;
  }

  /**
   * `sample(range, count)` over the integers `start … start + length - 1`, drawn lazily: the i-th
   * `take()` returns the i-th element `sample` would return, using the same draws, in memory
   * proportional to the elements taken (not to `length`). `finish()` skips the draws `sample`
   * would still have made, so the sequence continues exactly as after `sample`.
   */
  sampleRange(start: number, length: number, count: number): RangeSample {
    return new RangeSample(this, start, Math.max(0, length), Math.max(0, Math.min(count, length)));
  }
}

export class RangeSample {
  private taken = 0;
  /** Positions swapped away from their identity value (partial Fisher–Yates, sparse). */
  private readonly moved = new Map<number, number>();

  constructor(
    private readonly rng: SeededRandom,
    private readonly start: number,
    private readonly length: number,
    /** Draws the eager `sample` makes. */
    readonly size: number,
  ) {}

  /** The next sampled value, or `undefined` once `size` values were taken. */
  take(): number | undefined {
    const i = this.taken;
    if (i >= this.size) return undefined;
    this.taken++;
    const j = i + Math.floor(this.rng.next() * (this.length - i));
    const atI = this.moved.get(i) ?? this.start + i;
    const atJ = this.moved.get(j) ?? this.start + j;
    this.moved.set(j, atI);
    this.moved.delete(i);
    return atJ;
  }

  /** Skips the draws not taken. */
  finish(): void {
    this.rng.skip(this.size - this.taken);
    this.taken = this.size;
    this.moved.clear();
  }
}
