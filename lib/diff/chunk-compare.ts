import type pg from 'pg';
import type { RowTransformer } from '../mappings/types.ts';
import { queryText, RAW_TEXT_TYPES } from './comparison-pool.ts';
import type { FormOptions } from './normalized-form.ts';
import { diffChunkRows, type ChunkDiff } from './row-diff.ts';
import { hashQuery, rowsQuery, sourceRowsQuery, sourceShape, targetShape, transformedShape, type KeyRange } from './side-query.ts';
import type { TablePlan } from './table-plan.ts';

export interface ChunkContext {
  readonly plan: TablePlan;
  readonly sourceDb: pg.Pool;
  readonly targetDb: pg.Pool;
  readonly form: FormOptions;
  /** Present when `plan.viaTransformer`. */
  readonly transformer?: RowTransformer;
  readonly deadLetterIds: ReadonlySet<string>;
}

export interface ChunkHashes {
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Buckets (see KeyRange.splits) whose count or hash differ. */
  readonly mismatchedBuckets: number[];
  /** Rows per bucket, the larger of the two sides (how far a mismatching bucket can be narrowed). */
  readonly bucketRows: ReadonlyMap<number, number>;
  /** Rows shipped to the client: one per non-empty bucket and side, plus transformed source rows. */
  readonly rowsFetched: number;
}

/**
 * Count + hash per bucket of one chunk on both sides, concurrently, inside the databases. Tables
 * whose mapping has an expression without a PostgreSQL form ship the source chunk through the row
 * transformer and let the target server hash the result (one bucket: the rows are shipped anyway).
 */
export async function hashChunk(ctx: ChunkContext, range: KeyRange): Promise<ChunkHashes> {
  const { plan, form } = ctx;
  if (plan.viaTransformer) range = { lower: range.lower, upper: range.upper };
  const target = hashQuery(plan, targetShape(plan), range, form);
  const targetHash = queryText(ctx.targetDb, target.text, target.values);
  let sourceHash: Promise<(string | null)[][]>;
  let transformed = 0;
  if (plan.viaTransformer) {
    const rows = await transformedSourceRows(ctx, range);
    transformed = rows.fetched;
    const q = hashQuery(plan, transformedShape(plan), range, form);
    sourceHash = queryText(ctx.targetDb, q.text, [rows.json]);
  } else {
    const q = hashQuery(plan, sourceShape(plan), range, form);
    sourceHash = queryText(ctx.sourceDb, q.text, q.values);
  }
  const [s, t] = await Promise.all([sourceHash, targetHash]);
  const buckets = new Map<string, [string, string]>();
  const bucketRows = new Map<number, number>();
  for (const [b, n, h] of s) buckets.set(b!, [`${n}/${h}`, '0/0']);
  for (const [b, n, h] of t) buckets.set(b!, [buckets.get(b!)?.[0] ?? '0/0', `${n}/${h}`]);
  for (const [b, n] of [...s, ...t]) bucketRows.set(Number(b), Math.max(bucketRows.get(Number(b)) ?? 0, Number(n)));
  const count = (rows: (string | null)[][]) => rows.reduce((sum, r) => sum + Number(r[1]), 0);
  return {
    sourceRows: count(s),
    targetRows: count(t),
    mismatchedBuckets: [...buckets].filter(([, [a, b]]) => a !== b).map(([bucket]) => Number(bucket)).sort((a, b) => a - b),
    bucketRows,
    rowsFetched: transformed + s.length + t.length,
  };
}

type Row = (string | null)[];

/** The exact rows of a range as the target holds them (key values first, then the columns). */
export async function targetRows(ctx: ChunkContext, range: KeyRange): Promise<Row[]> {
  const q = rowsQuery(ctx.plan, targetShape(ctx.plan), range, ctx.form);
  return queryText(ctx.targetDb, q.text, q.values);
}

/** The exact rows of a range as the source should appear on the target (mapped and filtered). */
export async function sourceRows(ctx: ChunkContext, range: KeyRange): Promise<{ rows: Row[]; fetched: number }> {
  const { plan, form } = ctx;
  if (plan.viaTransformer) {
    const shipped = await transformedSourceRows(ctx, range);
    const q = rowsQuery(plan, transformedShape(plan), range, form);
    const rows = await queryText(ctx.targetDb, q.text, [shipped.json]);
    return { rows, fetched: shipped.fetched + rows.length };
  }
  const q = rowsQuery(plan, sourceShape(plan), range, form);
  const rows = await queryText(ctx.sourceDb, q.text, q.values);
  return { rows, fetched: rows.length };
}

/** Ships both sides' exact rows of one range and diffs them to the row and column. */
export async function diffChunk(ctx: ChunkContext, range: KeyRange): Promise<{ diff: ChunkDiff; rowsFetched: number }> {
  const [src, tgt] = await Promise.all([sourceRows(ctx, range), targetRows(ctx, range)]);
  const diff = diffChunkRows(ctx.plan, src.rows, tgt, { floatTolerance: ctx.form.floatTolerance, deadLetterIds: ctx.deadLetterIds });
  return { diff, rowsFetched: src.fetched + tgt.length };
}

/** The source chunk read as text, run through the mapping's row transformer, as a JSON array. */
async function transformedSourceRows(ctx: ChunkContext, range: KeyRange): Promise<{ json: string; fetched: number }> {
  const q = sourceRowsQuery(ctx.plan, range, ctx.form);
  const res = await ctx.sourceDb.query({ text: q.text, values: q.values, types: RAW_TEXT_TYPES });
  const out: Record<string, unknown>[] = [];
  for (const row of res.rows as Record<string, unknown>[]) {
    const mapped = ctx.transformer!.transform(row);
    if (mapped) out.push(mapped);
  }
  return { json: JSON.stringify(out), fetched: res.rows.length };
}
