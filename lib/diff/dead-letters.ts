import type pg from 'pg';
import { queryText } from './comparison-pool.ts';
import { keyId } from './row-diff.ts';

/** What of a table plan the dead letters are matched by (a TablePlan or a cross-engine plan). */
export interface DeadLetterPlan {
  readonly source: string;
  readonly mapped: { readonly source: { readonly table: string } };
  readonly keys: readonly { readonly source: string }[];
}

/** Rows of a statement as text (a pool, or a cross-engine side's `rows`). */
export type TextQuery = (sql: string, params?: readonly unknown[]) => Promise<(string | null)[][]>;

/**
 * Keys of source rows the target rejected, recorded by the replicator in `_cutover.dead_letter`
 * (`source_table` = `schema.table`, `source_key` = object keyed by source key column names).
 * Returned as key ids (see row-diff.ts) per source table; a missing table means none.
 */
export async function readDeadLetterIds(target: pg.Pool | TextQuery, plans: readonly DeadLetterPlan[]): Promise<Map<string, Set<string>>> {
  const query: TextQuery = typeof target === 'function' ? target : (sql, params = []) => queryText(target, sql, [...params]);
  const out = new Map<string, Set<string>>(plans.map((p) => [p.source, new Set<string>()]));
  const [exists] = await query(`SELECT to_regclass('_cutover.dead_letter') IS NOT NULL`);
  if (exists?.[0] !== 't') return out;
  const rows = await query(`SELECT DISTINCT source_table, source_key::text FROM _cutover.dead_letter WHERE source_table = any($1)`, [
    [...plans.map((p) => p.source), ...plans.map((p) => p.mapped.source.table)],
  ]);
  for (const [table, keyJson] of rows) {
    const plan = plans.find((p) => p.source === table) ?? plans.find((p) => p.mapped.source.table === table);
    if (!plan || keyJson === null) continue;
    const key = JSON.parse(keyJson) as Record<string, unknown>;
    out.get(plan.source)!.add(keyId(plan.keys.map((k) => (key[k.source] === null || key[k.source] === undefined ? null : String(key[k.source])))));
  }
  return out;
}
