/**
 * "Did you mean" for rule locators: the candidate closest to a name that matched nothing, by edit
 * distance (case-insensitive), when it is close enough to be a plausible typo.
 */

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to `name`, or undefined when none is within a third of the name's length
 * (at least 2 edits): `t_orderz` → `t_order`; `cust_name_typo` is too far from `cust_nm` and gets none.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase();
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(wanted, c.toLowerCase());
    if (d <= limit && (!best || d < best.distance)) best = { name: c, distance: d };
  }
  return best?.name;
}

/** "did you mean X?" when a candidate is close, else the candidates (the first 8) named as `what`. */
export function suggestion(value: string, candidates: readonly string[], what: string): string {
  const near = closestName(value, candidates);
  if (near) return `did you mean ${near}?`;
  const shown = candidates.slice(0, 8).join(', ');
  return candidates.length ? `${what}: ${shown}${candidates.length > 8 ? ', …' : ''}` : `there are no ${what}`;
}
