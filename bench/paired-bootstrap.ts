/**
 * Confidence intervals for an A/B bench run as paired rounds on a shared machine (each round
 * measures both conditions back to back, so a drift of the machine's load hits both alike).
 * The round is the unit resampled (a block bootstrap): latencies inside one block are not
 * independent (one burst of another process delays many requests at once), rounds nearly are.
 * Seeded, so a run's interval is reproducible from its figures.
 */

import { SeededRandom } from '../lib/demo/seeded-random.ts';

export interface Interval {
  readonly estimate: number;
  /** 2.5 % and 97.5 % quantiles of the bootstrap distribution (a 95 % interval). */
  readonly lo: number;
  readonly hi: number;
}

function quantileSorted(s: Float64Array, q: number): number {
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * q) - 1))]!;
}

function percentileInterval(estimate: number, draws: number[]): Interval {
  draws.sort((a, b) => a - b);
  const at = (q: number) => draws[Math.min(draws.length - 1, Math.max(0, Math.round(q * (draws.length - 1))))]!;
  return { estimate, lo: at(0.025), hi: at(0.975) };
}

/**
 * The differences of quantiles (e.g. p50 and p99) of the pooled latencies, `on` minus `off`, each
 * with its interval: each draw picks rounds with replacement and pools both conditions of those
 * rounds (one sort per side and draw serves every quantile).
 */
export function pooledQuantileDifferences(rounds: readonly { readonly off: readonly number[]; readonly on: readonly number[] }[], qs: readonly number[], draws = 500, seed = 16): Interval[] {
  const pool = (pick: readonly number[], side: 'off' | 'on') => {
    const n = pick.reduce((a, i) => a + rounds[i]![side].length, 0);
    const out = new Float64Array(n);
    let k = 0;
    for (const i of pick) for (const v of rounds[i]![side]) out[k++] = v;
    return out.sort();
  };
  const differences = (pick: readonly number[]) => {
    const on = pool(pick, 'on');
    const off = pool(pick, 'off');
    return qs.map((q) => quantileSorted(on, q) - quantileSorted(off, q));
  };
  const all = rounds.map((_, i) => i);
  const estimate = differences(all);
  const rng = new SeededRandom(seed);
  const random = () => rng.next();
  const out: number[][] = qs.map(() => []);
  for (let d = 0; d < draws; d++) {
    const got = differences(all.map(() => Math.floor(random() * rounds.length)));
    got.forEach((v, i) => out[i]!.push(v));
  }
  return qs.map((_, i) => percentileInterval(estimate[i]!, out[i]!));
}

/** The mean of per-round paired differences (e.g. router CPU per request, on minus off), with its interval. */
export function meanDifference(differences: readonly number[], draws = 2000, seed = 16): Interval {
  return centerDifference(differences, (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), draws, seed);
}

/**
 * The median of per-round paired differences (e.g. each round's p99 on minus off), with its
 * interval: a round spoilt by another process's burst moves it far less than it moves a mean or
 * a pooled p99.
 */
export function medianDifference(differences: readonly number[], draws = 2000, seed = 16): Interval {
  return centerDifference(
    differences,
    (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    },
    draws,
    seed,
  );
}

function centerDifference(differences: readonly number[], center: (xs: readonly number[]) => number, draws: number, seed: number): Interval {
  const rng = new SeededRandom(seed);
  const random = () => rng.next();
  const out: number[] = [];
  for (let d = 0; d < draws; d++) out.push(center(differences.map(() => differences[Math.floor(random() * differences.length)]!)));
  return percentileInterval(center(differences), out);
}
