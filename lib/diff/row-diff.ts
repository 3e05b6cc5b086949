import type { ColumnSample, RowKey } from '../platform/roles.ts';
import { isIntegerType } from './column-types.ts';
import { floatsAgree } from './normalized-form.ts';
import { deleteStatement, insertStatement, updateStatement } from './repair-sql.ts';
import type { TablePlan } from './table-plan.ts';

/** A differing row: `id` is the key's normalized text (matches across sides), `key` the report form. */
export interface DiffEntry {
  readonly id: string;
  readonly key: RowKey;
  readonly repair?: string;
}

export interface ChunkDiff {
  readonly missing: DiffEntry[];
  readonly extra: DiffEntry[];
  readonly different: DiffEntry[];
  /** Missing on the target but recorded in the dead-letter table. */
  readonly deadLetter: DiffEntry[];
  readonly samples: ColumnSample[];
}

export const SAMPLES_PER_CHUNK = 5;

export function keyId(values: readonly (string | null)[]): string {
  return JSON.stringify(values);
}

/** The report form: keyed by SOURCE key column names; integer keys as numbers when exact. */
export function rowKey(plan: TablePlan, values: readonly (string | null)[]): RowKey {
  const key: RowKey = {};
  plan.keys.forEach((k, i) => {
    const v = values[i] ?? null;
    key[k.source] = v !== null && isIntegerType(k.targetType) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
  });
  return key;
}

type Row = readonly (string | null)[];

/**
 * Diffs the exact rows of one chunk (key values first, then `plan.columns`), to the row and the
 * column. Only mismatching chunks get here, so the maps hold at most one chunk per side.
 */
export function diffChunkRows(
  plan: TablePlan,
  sourceRows: readonly Row[],
  targetRows: readonly Row[],
  options: { floatTolerance: number; deadLetterIds: ReadonlySet<string> },
): ChunkDiff {
  const nk = plan.keys.length;
  const diff: ChunkDiff = { missing: [], extra: [], different: [], deadLetter: [], samples: [] };
  const targetById = new Map<string, Row>();
  for (const row of targetRows) targetById.set(keyId(row.slice(0, nk)), row);
  for (const src of sourceRows) {
    const keyValues = src.slice(0, nk);
    const id = keyId(keyValues);
    const tgt = targetById.get(id);
    if (!tgt) {
      const key = rowKey(plan, keyValues);
      if (options.deadLetterIds.has(id)) diff.deadLetter.push({ id, key });
      else diff.missing.push({ id, key, repair: insertStatement(plan, src.slice(nk)) });
      continue;
    }
    targetById.delete(id);
    const changed: { column: number; value: string | null }[] = [];
    plan.columns.forEach((col, i) => {
      const a = src[nk + i] ?? null;
      const b = tgt[nk + i] ?? null;
      const same = col.float && options.floatTolerance > 0 ? floatsAgree(a, b, options.floatTolerance) : a === b;
      if (!same) changed.push({ column: i, value: a });
    });
    if (!changed.length) continue;
    const key = rowKey(plan, keyValues);
    diff.different.push({ id, key, repair: updateStatement(plan, keyValues, changed) });
    for (const c of changed) {
      if (diff.samples.length >= SAMPLES_PER_CHUNK) break;
      diff.samples.push({ key, column: plan.columns[c.column]!.target, source: c.value, target: tgt[nk + c.column] ?? null });
    }
  }
  for (const [id, row] of targetById) {
    const keyValues = row.slice(0, nk);
    diff.extra.push({ id, key: rowKey(plan, keyValues), repair: deleteStatement(plan, keyValues) });
  }
  return diff;
}
