import { CutoverError } from '../errors.ts';

/** A table as a full validation compared it, with the mapping's filter of its source rows (null: none). */
export interface ComparedTable {
  readonly source: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly filter: string | null;
}

/**
 * A table whose mapping filter leaves none of its source rows was not compared: a misspelt filter
 * value (`status = 'shiped'`) selects nothing, the target then holds nothing either, and "equal
 * over 0 rows" would hide that the table's data never moved. validate is equal only when every
 * selected table was compared (shared CONTRACTS.md), so this is refused like a mapping that
 * selects no table (exit 2). `hasRows` asks the source whether the table holds any row at all: an
 * empty table compared equal is right (nothing to miss), and so is a filter that leaves some rows.
 */
export async function refuseFilteredToNothing(tables: readonly ComparedTable[], hasRows: (source: string) => Promise<boolean>): Promise<void> {
  const suspects = tables.filter((t) => t.filter !== null && t.sourceRows === 0 && t.targetRows === 0);
  const unselected: ComparedTable[] = [];
  for (const t of suspects) if (await hasRows(t.source)) unselected.push(t);
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
