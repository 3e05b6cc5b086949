import { hashChunk, type ChunkContext } from './chunk-compare.ts';
import { isCollatableType } from './column-types.ts';
import { queryText } from './comparison-pool.ts';
import { bucketRange, rangePredicate, sourceShape, type KeyRange } from './side-query.ts';
import { ident } from './sql-text.ts';

/** A mismatching range this small ships its rows; a larger one is split and hashed again. */
export const LEAF_ROWS = 48;
/** Sub-ranges per narrowing step: a ~1,250-row bucket becomes ~40-row leaves in one step. */
export const NARROWING_FANOUT = 32;
/** Steps at most (a range the source's keys cannot cut further is shipped as it is). */
const MAX_DEPTH = 4;

/**
 * Narrows a mismatching bucket to the small key ranges that really differ, inside the databases:
 * the range is cut into NARROWING_FANOUT sub-ranges (arithmetic for an integer key with both
 * bounds, else every n-th source key), both sides hash them in one query each, and only the
 * sub-ranges whose hashes differ go on. So a scattered difference ships ~LEAF_ROWS rows per side
 * instead of its whole bucket, for two or three short round trips.
 */
export async function narrowMismatch(ctx: ChunkContext, range: KeyRange, rows: number, depth = 0): Promise<{ leaves: KeyRange[]; rowsFetched: number }> {
  if (ctx.plan.viaTransformer || rows <= LEAF_ROWS || depth >= MAX_DEPTH) return { leaves: [range], rowsFetched: 0 };
  const cut = await subSplits(ctx, range, rows);
  if (!cut.splits.length) return { leaves: [range], rowsFetched: cut.rowsFetched };
  const split: KeyRange = { lower: range.lower, upper: range.upper, splits: cut.splits };
  const hashes = await hashChunk(ctx, split);
  const deeper = await Promise.all(
    hashes.mismatchedBuckets.map((b) => narrowMismatch(ctx, bucketRange(split, b), hashes.bucketRows.get(b) ?? 0, depth + 1)),
  );
  return {
    leaves: deeper.flatMap((d) => d.leaves),
    rowsFetched: cut.rowsFetched + hashes.rowsFetched + deeper.reduce((n, d) => n + d.rowsFetched, 0),
  };
}

/** Inner boundaries cutting `range` into about NARROWING_FANOUT parts of the source's rows. */
async function subSplits(ctx: ChunkContext, range: KeyRange, rows: number): Promise<{ splits: string[][]; rowsFetched: number }> {
  const { plan } = ctx;
  const parts = Math.min(NARROWING_FANOUT, Math.ceil(rows / (LEAF_ROWS / 2)));
  if (plan.integerKey && range.lower && range.upper) {
    const lower = BigInt(range.lower[0]!);
    const span = BigInt(range.upper[0]!) - lower;
    const step = (span + BigInt(parts) - 1n) / BigInt(parts);
    if (step < 1n) return { splits: [], rowsFetched: 0 };
    const splits: string[][] = [];
    for (let b = lower + step; b < lower + span; b += step) splits.push([b.toString()]);
    return { splits, rowsFetched: 0 };
  }
  // every step-th source key of the range (an index-only scan of at most a bucket's keys)
  const shape = { ...sourceShape(plan), filter: null };
  const where = rangePredicate(shape, range);
  const order = plan.keys.map((k) => (plan.collateC && isCollatableType(k.sourceType) ? `${ident(k.source)} COLLATE "C"` : ident(k.source)));
  const names = plan.keys.map((k) => ident(k.source));
  const step = Math.max(1, Math.ceil(rows / parts));
  const found = await queryText(
    ctx.sourceDb,
    `SELECT ${names.join(', ')} FROM (SELECT ${names.join(', ')}, row_number() OVER (ORDER BY ${order.join(', ')}) AS rn
       FROM ${plan.sourceRelation} WHERE ${where.sql}) s WHERE rn % ${step} = 0 ORDER BY rn`,
    where.values,
  );
  return { splits: found.map((r) => r.map((v) => v!)), rowsFetched: found.length };
}
