import type { TableDiff } from '../platform/roles.ts';

/**
 * A table's validation line, the same from every validator (runbooks/cutover.md step 5):
 * `src -> tgt: S / T rows, missing M, extra E, different D (in flight I, dead letters L)`.
 */
export function tableLine(t: TableDiff): { readonly differs: boolean; readonly text: string } {
  const line = `${t.source} -> ${t.target}: ${t.sourceRows} / ${t.targetRows} rows, missing ${t.missing.length}, extra ${t.extra.length}, different ${t.different.length}`;
  const extras = [t.inFlight ? `in flight ${t.inFlight}` : '', t.deadLetter.length ? `dead letters ${t.deadLetter.length}` : ''].filter(Boolean).join(', ');
  return { differs: t.missing.length + t.extra.length + t.different.length > 0, text: extras ? `${line} (${extras})` : line };
}
