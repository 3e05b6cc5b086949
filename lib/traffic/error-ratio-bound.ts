/**
 * How sure a window's failures make us that green's error ratio is above the limit. A window is a
 * sample of green's requests: 1 failure in 16 is 6.25 %, but a green whose true ratio is 1 % shows
 * at least one failure in 16 requests 15 % of the time, so that failure proves nothing. The gate
 * asks the binomial question instead: could a green at the limit have failed this often by chance?
 *
 * Exact (Clopper-Pearson, one-sided) rather than the Wilson score bound: Wilson's lower bound is
 * too high for one or two failures in a small window (1 of 16 → 1.1 %, above a 1 % limit), the very
 * case the gate must not roll back on. Hand-written (two short loops) rather than a statistics
 * package: the only library functions that give it (a beta-distribution quantile) come with a
 * tree of dependencies for these few lines.
 */

/** Confidence the gate needs that green's true error ratio is above the limit before it rolls back. */
export const ERROR_RATIO_CONFIDENCE = 0.95;

/**
 * P(X ≥ k) for X ~ Binomial(n, p): the chance that a green failing each request with probability
 * p fails at least k of n. Summed term by term from k in log space (no underflow at large n).
 */
export function binomialTailAtLeast(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  // from k up when k is above the mean (the terms fall), else 1 − P(X ≤ k − 1) summed from k − 1 down
  return k > n * p ? sumFrom(k, n, p, 1) : Math.max(0, 1 - sumFrom(k - 1, n, p, -1));
}

/** Σ P(X = i) from i = start, going up (dir 1) or down (dir −1) until the terms stop counting. */
function sumFrom(start: number, n: number, p: number, dir: 1 | -1): number {
  let logChoose = 0;
  for (let i = 1; i <= start; i++) logChoose += Math.log((n - start + i) / i);
  const odds = p / (1 - p);
  let term = 1;
  let sum = 1;
  for (let i = start; dir === 1 ? i < n : i > 0; i += dir) {
    term *= dir === 1 ? ((n - i) / (i + 1)) * odds : i / ((n - i + 1) * odds);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.min(1, Math.exp(logChoose + start * Math.log(p) + (n - start) * Math.log1p(-p) + Math.log(sum)));
}

/**
 * The lowest error ratio green can have, at `confidence`, having failed `failures` of `requests`:
 * the ratio at which that many failures would be as rare as 1 − confidence (0 with no failure).
 * Above the limit means the window's failures are more than chance at the limit explains.
 */
export function errorRatioLowerBound(failures: number, requests: number, confidence = ERROR_RATIO_CONFIDENCE): number {
  if (failures <= 0 || requests <= 0) return 0;
  const k = Math.min(failures, requests);
  if (k === requests) return (1 - confidence) ** (1 / requests);
  let low = 0;
  let high = k / requests;
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (binomialTailAtLeast(k, requests, mid) < 1 - confidence) low = mid;
    else high = mid;
  }
  return low;
}

/**
 * Whether a window's failures prove green's error ratio above `maxErrorRatio`: its lower
 * confidence bound is above the limit. A limit of 0 means any failure does (zero tolerance).
 */
export function errorRatioAboveLimit(failures: number, requests: number, maxErrorRatio: number, confidence = ERROR_RATIO_CONFIDENCE): boolean {
  if (failures <= 0 || requests <= 0) return false;
  if (maxErrorRatio <= 0) return true;
  if (failures / requests <= maxErrorRatio) return false;
  return binomialTailAtLeast(Math.min(failures, requests), requests, maxErrorRatio) < 1 - confidence;
}
