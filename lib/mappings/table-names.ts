import type { MappedTable } from './types.ts';

/** A mapped table's source as `schema.table` (how status, validation and `--table` name it). */
export function sourceName(t: MappedTable): string {
  return `${t.source.schema}.${t.source.table}`;
}

/** A mapped table's target as `schema.table`. */
export function targetName(t: MappedTable): string {
  return `${t.target.schema}.${t.target.table}`;
}
