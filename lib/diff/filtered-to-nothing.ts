import { CutoverError } from '../errors.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { TableDiff } from '../platform/roles.ts';

/** A table a full validation compared, with what the check needs to know of its mapping and source. */
export interface ComparedTable {
  readonly table: Pick<TableDiff, 'source' | 'sourceRows' | 'targetRows'>;
  readonly mapped: MappedTable;
  /** The mapping's filter as the source side runs it; null when it has no such form. */
  readonly filterSql: string | null;
  /** Whether the source table holds any row at all (asked only of a filtered table that compared none). */
  hasRows(): Promise<boolean>;
}

/**
 * A table whose mapping filter leaves none of its source rows was not compared: a misspelt filter
 * value (`status = 'shiped'`) selects nothing, the target then holds nothing either, and "equal
 * over 0 rows" would hide that the table's data never moved. validate is equal only when every
 * selected table was compared (shared CONTRACTS.md), so this is refused like a mapping that
 * selects no table (exit 2). An empty source table compared equal is right (nothing to miss), and
 * so is a filter that leaves some rows.
 */
export async function refuseFilteredToNothing(tables: readonly ComparedTable[]): Promise<void> {
  const unselected: { source: string; filter: string }[] = [];
  for (const t of tables) {
    if (!t.mapped.filters.length || t.table.sourceRows !== 0 || t.table.targetRows !== 0) continue;
    if (await t.hasRows()) unselected.push({ source: t.table.source, filter: t.filterSql ?? 'its filter' });
  }
  if (!unselected.length) return;
  throw new CutoverError(
    'MAPPING_INVALID',
    `validate compared no row of ${unselected.map((t) => t.source).join(', ')}: the forward mapping's filter selects none of the rows the source table holds`,
    {
      received: unselected.map((t) => `${t.source} where ${t.filter}: 0 rows selected`),
      fix: 'correct the filter in the forward mapping (a misspelt value selects nothing; `cutover mappings check FILE --env NAME` shows the rules), or leave the table out of the mapping while none of its rows is in scope',
    },
  );
}
