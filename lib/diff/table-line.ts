import type { TableDiff } from '../platform/roles.ts';

/**
 * A table's validation line, the same from every validator (runbooks/cutover.md step 5):
 * `src -> tgt: S / T rows, missing M, extra E, different D (in flight I, dead letters L)`.
 */
export function tableLine(t: TableDiff): { readonly differs: boolean; readonly text: string } {
  const line = `${t.source} -> ${t.target}: ${t.sourceRows} / ${t.targetRows} rows, missing ${t.missing.length}, extra ${t.extra.length}, different ${t.different.length}`;
  const extras = [t.inFlight ? `in flight ${t.inFlight}` : '', t.deadLetter.length ? `dead letters ${t.deadLetter.length}` : ''].filter(Boolean).join(', ');
  return { differs: !tableEqual(t), text: extras ? `${line} (${extras})` : line };
}

/**
 * A table is equal when no row is missing, extra or different, and none is a dead letter: a row the
 * target refused is not on the target, whatever its cause is known to be (trial6: two rows of a new
 * source partition green had no partition for were dead letters, and validate said EQUAL with 2
 * source rows more than the target, which opened the shift gate and the switch's frozen check).
 */
export function tableEqual(t: Pick<TableDiff, 'missing' | 'extra' | 'different' | 'deadLetter'>): boolean {
  return !t.missing.length && !t.extra.length && !t.different.length && !t.deadLetter.length;
}
