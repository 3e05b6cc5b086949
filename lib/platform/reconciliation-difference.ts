/** The first row where a reconciliation's two result sets differ, each side cut to 120 characters (whole sets can be kilobytes). */
export function firstDifference(source: unknown, target: unknown): string {
  const rows = (v: unknown) => (Array.isArray(v) ? v : [v]);
  const a = rows(source);
  const b = rows(target);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = JSON.stringify(a[i] ?? null);
    const y = JSON.stringify(b[i] ?? null);
    if (x !== y) return `row ${i + 1} of ${a.length}/${b.length}: source ${x.slice(0, 120)} vs target ${y.slice(0, 120)}`;
  }
  return `${a.length} source row(s) vs ${b.length} target row(s)`;
}
