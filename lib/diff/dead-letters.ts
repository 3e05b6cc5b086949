import type pg from 'pg';
import { queryText } from './comparison-pool.ts';
import { keyId } from './row-diff.ts';
import type { TablePlan } from './table-plan.ts';

/**
 * Keys of source rows the target rejected, recorded by the replicator in `_cutover.dead_letter`
 * (`source_table` = `schema.table`, `source_key` = object keyed by source key column names).
 * Returned as key ids (see row-diff.ts) per source table; a missing table means none.
 */
export async function readDeadLetterIds(targetDb: pg.Pool, plans: readonly TablePlan[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>(plans.map((p) => [p.source, new Set<string>()]));
  const [exists] = await queryText(targetDb, `SELECT to_regclass('_cutover.dead_letter') IS NOT NULL`);
  if (exists?.[0] !== 't') return out;
  const rows = await queryText(targetDb, `SELECT DISTINCT source_table, source_key::text FROM _cutover.dead_letter WHERE source_table = any($1)`, [
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
