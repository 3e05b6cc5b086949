import { CHANGED_KEYS_UNNESTED } from '../../lib/postgres/changed-key-record.ts';

/**
 * The forward worker's record of changed keys (`_cutover.changed_key_batch`: a row per table per
 * applied batch, its keys as arrays) as one row per recorded key, for tests that look at it or
 * bend it: `select … from ${RECORDED_KEYS} where key = '{8,1}'` (key: canonical `text[]` text).
 */
export const RECORDED_KEYS = `(select b.slot, b.source_table, u.key::text[]::text as key, u.present, u.lsn
    from ${CHANGED_KEYS_UNNESTED}) recorded`;

/** An UPDATE that makes the record name `to` (`text[]` text) wherever it names `from` in `sourceTable`. */
export function bendRecordedKey(sourceTable: string, from: string, to: string): string {
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return `update _cutover.changed_key_batch set keys = array(
      select case when k::text[] = ${lit(from)}::text[] then ${lit(to)} else k end from unnest(keys) with ordinality as u(k, n) order by n)
    where source_table = ${lit(sourceTable)}`;
}
