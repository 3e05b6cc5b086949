import type pg from 'pg';
import type { RowTransformer } from '../mappings/types.ts';
import { queryText, RAW_TEXT_TYPES } from './comparison-pool.ts';
import type { FormOptions } from './normalized-form.ts';
import { diffChunkRows, type ChunkDiff } from './row-diff.ts';
import { hashQuery, MAX_ARMS, rowsQuery, sourceRowsQuery, sourceShape, statements, targetShape, transformedShape, type KeyRange, type SideShape } from './side-query.ts';
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
  range = hashedRange(ctx, range);
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

/** The range as hashChunk cuts it into buckets (ChunkHashes' bucket numbers refer to it). */
export function hashedRange(ctx: ChunkContext, range: KeyRange): KeyRange {
  // the row transformer's tables ship the chunk's source rows anyway: one bucket
  return ctx.plan.viaTransformer ? { lower: range.lower, upper: range.upper } : range;
}

type Row = (string | null)[];

/** The exact rows of disjoint ranges as the target holds them (key values first, then the columns). */
export async function targetRows(ctx: ChunkContext, ranges: KeyRange | readonly KeyRange[]): Promise<Row[]> {
  return rowsOf(ctx.targetDb, ctx, targetShape(ctx.plan), ranges);
}

/** Rows of `ranges` on one side, at most MAX_ARMS ranges per statement. */
async function rowsOf(db: pg.Pool, ctx: ChunkContext, shape: SideShape, ranges: KeyRange | readonly KeyRange[]): Promise<Row[]> {
  const list = Array.isArray(ranges) ? (ranges as readonly KeyRange[]) : [ranges as KeyRange];
  const parts = await Promise.all(
    statements(list).map((batch) => {
      const q = rowsQuery(ctx.plan, shape, batch, ctx.form);
      return queryText(db, q.text, q.values);
    }),
  );
  return parts.flat();
}

/** The exact rows of disjoint ranges as the source should appear on the target (mapped and filtered). */
export async function sourceRows(ctx: ChunkContext, ranges: KeyRange | readonly KeyRange[]): Promise<{ rows: Row[]; fetched: number }> {
  const { plan, form } = ctx;
  if (plan.viaTransformer) {
    const out = { rows: [] as Row[], fetched: 0 };
    for (const range of Array.isArray(ranges) ? (ranges as readonly KeyRange[]) : [ranges as KeyRange]) {
      const shipped = await transformedSourceRows(ctx, range);
      const q = rowsQuery(plan, transformedShape(plan), range, form);
      const rows = await queryText(ctx.targetDb, q.text, [shipped.json]);
      out.rows.push(...rows);
      out.fetched += shipped.fetched + rows.length;
    }
    return out;
  }
  const rows = await rowsOf(ctx.sourceDb, ctx, sourceShape(plan), ranges);
  return { rows, fetched: rows.length };
}

/**
 * Both sides' exact rows of disjoint ranges, per range (a statement per side per MAX_ARMS ranges,
 * each row tagged with its range). Not for the row transformer's tables.
 */
export async function rowsPerRange(ctx: ChunkContext, ranges: readonly KeyRange[]): Promise<{ source: Row[][]; target: Row[][] }> {
  const side = async (db: pg.Pool, shape: SideShape): Promise<Row[][]> => {
    const out: Row[][] = ranges.map(() => []);
    await Promise.all(
      statements(ranges).map(async (batch, b) => {
        const q = rowsQuery(ctx.plan, shape, batch, ctx.form, true);
        for (const row of await queryText(db, q.text, q.values)) out[b * MAX_ARMS + Number(row[0])]!.push(row.slice(1));
      }),
    );
    return out;
  };
  const [source, target] = await Promise.all([side(ctx.sourceDb, sourceShape(ctx.plan)), side(ctx.targetDb, targetShape(ctx.plan))]);
  return { source, target };
}

/** Ships both sides' exact rows of disjoint ranges (a statement per side per MAX_ARMS ranges) and diffs them to the row and column. */
export async function diffChunk(ctx: ChunkContext, ranges: KeyRange | readonly KeyRange[]): Promise<{ diff: ChunkDiff; rowsFetched: number }> {
  const [src, tgt] = await Promise.all([sourceRows(ctx, ranges), targetRows(ctx, ranges)]);
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
