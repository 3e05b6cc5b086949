import type pg from 'pg';
import { queryText, serverVersionNum } from './comparison-pool.ts';
import type { FormOptions, RowHashFunction } from './normalized-form.ts';

/** A text both servers hash: equal results mean `hashtextextended` agrees across the two. */
const PROBE = `SELECT hashtextextended('cutover row-hash probe 0123456789' COLLATE "C", 0)::text`;

/**
 * The normalized form for this pair of servers: `trim_scale` only where both have it, the cheap
 * row hash only where both have it and compute the same value (same hash code, same byte order).
 */
export async function negotiateForm(sourceDb: pg.Pool, targetDb: pg.Pool, floatTolerance: number): Promise<FormOptions> {
  // before PostgreSQL 11 the probe fails (no such function): md5 then
  const probe = (db: pg.Pool) => queryText(db, PROBE).then((rows) => rows[0]?.[0] ?? null, () => null);
  const [sv, tv, s, t] = await Promise.all([serverVersionNum(sourceDb), serverVersionNum(targetDb), probe(sourceDb), probe(targetDb)]);
  const rowHash: RowHashFunction = s !== null && s === t ? 'hashtextextended' : 'md5';
  return { floatTolerance, trimScale: sv >= 130000 && tv >= 130000, rowHash };
}
