import { describe, expect, test } from 'vitest';
import { binomialTailAtLeast, errorRatioAboveLimit, errorRatioLowerBound } from '../../lib/traffic/error-ratio-bound.ts';

/** P(X ≥ k), X ~ Binomial(n, p), summed directly (small n only). */
function directTail(k: number, n: number, p: number): number {
  let choose = 1;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) choose = (choose * (n - i + 1)) / i;
    if (i >= k) sum += choose * p ** i * (1 - p) ** (n - i);
  }
  return sum;
}

describe('error-ratio lower bound (exact binomial, one-sided 95 %)', () => {
  test('the binomial tail matches the direct sum, above and below the mean', () => {
    for (const [k, n, p] of [[1, 16, 0.05], [3, 16, 0.05], [2, 20, 0.01], [10, 40, 0.3], [30, 40, 0.3], [0, 5, 0.5], [6, 5, 0.5]] as const) {
      expect(binomialTailAtLeast(k, n, p)).toBeCloseTo(directTail(k, n, p), 12);
    }
    expect(binomialTailAtLeast(1, 10, 0)).toBe(0);
    expect(binomialTailAtLeast(1, 10, 1)).toBe(1);
  });

  test('closed forms at the ends: 1 failure of n is 1 − 0.95^(1/n), n of n is 0.05^(1/n)', () => {
    expect(errorRatioLowerBound(1, 16)).toBeCloseTo(1 - 0.95 ** (1 / 16), 9);
    expect(errorRatioLowerBound(16, 16)).toBeCloseTo(0.05 ** (1 / 16), 9);
    expect(errorRatioLowerBound(0, 16)).toBe(0);
    expect(errorRatioLowerBound(0, 0)).toBe(0);
  });

  test('the bound is below the observed ratio, rises with the failures, and closes in on the ratio as windows grow', () => {
    const b = [1, 2, 3, 4, 8].map((k) => errorRatioLowerBound(k, 16));
    for (let i = 1; i < b.length; i++) expect(b[i]!).toBeGreaterThan(b[i - 1]!);
    for (const [k, n] of [[1, 16], [5, 100], [50, 1000], [500, 10_000]] as const) expect(errorRatioLowerBound(k, n)).toBeLessThan(k / n);
    // 5 % observed: the bound is 1.98 % of 100 requests, 4.4 % of 10,000
    expect(errorRatioLowerBound(5, 100)).toBeCloseTo(0.0198, 3);
    expect(errorRatioLowerBound(500, 10_000)).toBeCloseTo(0.0464, 3);
  });

  test('large windows neither underflow nor take long: 40,000 of 1,000,000', () => {
    const started = performance.now();
    const bound = errorRatioLowerBound(40_000, 1_000_000);
    expect(bound).toBeGreaterThan(0.039);
    expect(bound).toBeLessThan(0.04);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test('above the limit exactly when the bound is: a limit of 0 means any failure', () => {
    for (const [k, n, limit] of [[1, 16, 0.05], [3, 16, 0.05], [2, 16, 0.01], [9, 500, 0.01], [10, 500, 0.01], [5, 5, 0.05]] as const) {
      expect(errorRatioAboveLimit(k, n, limit)).toBe(errorRatioLowerBound(k, n) > limit);
    }
    expect(errorRatioAboveLimit(1, 1_000_000, 0)).toBe(true);
    expect(errorRatioAboveLimit(0, 1_000_000, 0)).toBe(false);
    expect(errorRatioAboveLimit(16, 16, 1)).toBe(false);
  });
});
