import type pg from 'pg';
import { queryText } from './comparison-pool.ts';
import { isCollatableType } from './column-types.ts';
import type { KeyRange } from './side-query.ts';
import { ident, literal } from './sql-text.ts';
import type { TablePlan } from './table-plan.ts';

/**
 * Chunk boundaries from the SOURCE's keys (the target is read with the same ranges; the first and
 * last chunks are open so target rows outside the source's key span are still seen).
 *
 * A single integer key is split arithmetically from min/max (two index probes); a sparse or any
 * other key (text, uuid, composite) by one ordered key scan that ships every `chunkRows`-th key.
 * Either way the client holds rows/chunkRows keys, never the rows.
 */
export async function chunkBoundaries(db: pg.Pool, plan: TablePlan, chunkRows: number): Promise<{ boundaries: string[][]; rowsFetched: number }> {
  if (plan.integerKey) {
    const split = await integerBoundaries(db, plan, chunkRows);
    if (split) return { boundaries: split, rowsFetched: 1 };
  }
  const cols = plan.keys.map((k) => (plan.collateC && isCollatableType(k.sourceType) ? `${ident(k.source)} COLLATE "C"` : ident(k.source)));
  const names = plan.keys.map((k) => ident(k.source));
  const rows = await queryText(
    db,
    `SELECT ${names.join(', ')} FROM (SELECT ${names.join(', ')}, row_number() OVER (ORDER BY ${cols.join(', ')}) AS rn FROM ${plan.sourceRelation}) s
      WHERE rn % ${chunkRows} = 0 ORDER BY rn`,
  );
  return { boundaries: rows.map((r) => r.map((v) => v!)), rowsFetched: rows.length };
}

async function integerBoundaries(db: pg.Pool, plan: TablePlan, chunkRows: number): Promise<string[][] | null> {
  const key = ident(plan.keys[0]!.source);
  const [row] = await queryText(
    db,
    `SELECT min(${key}), max(${key}), (SELECT reltuples::bigint FROM pg_class WHERE oid = ${literal(plan.sourceRelation)}::regclass) FROM ${plan.sourceRelation}`,
  );
  if (!row || row[0] === null) return [];
  const min = BigInt(row[0]!);
  const max = BigInt(row[1]!);
  let rows = BigInt(row[2] ?? '-1');
  if (rows <= 0n) {
    const [count] = await queryText(db, `SELECT count(*) FROM ${plan.sourceRelation}`);
    rows = BigInt(count![0]!);
  }
  const span = max - min + 1n;
  // very sparse keys would give lopsided ranges: let the key scan cut them evenly instead
  if (span > rows * 20n && rows > BigInt(chunkRows)) return null;
  const chunks = rows <= 0n ? 1n : (rows + BigInt(chunkRows) - 1n) / BigInt(chunkRows);
  const stride = (span + chunks - 1n) / chunks;
  const out: string[][] = [];
  for (let b = min + stride; b <= max; b += stride) out.push([b.toString()]);
  return out;
}

/**
 * Buckets per chunk: a chunk is one range query per side returning one (count, hash) row per
 * bucket, so the client receives rows/bucketRows rows with nothing different, and a scattered
 * difference costs one bucket's rows, not a chunk's.
 */
export const BUCKETS_PER_CHUNK = 8;

/** Bucket boundaries -> chunks of BUCKETS_PER_CHUNK buckets (the inner boundaries become splits). */
export function chunkRanges(boundaries: readonly (readonly string[])[], bucketsPerChunk = BUCKETS_PER_CHUNK): KeyRange[] {
  const ranges: KeyRange[] = [];
  for (let i = 0; i <= boundaries.length; i += bucketsPerChunk) ranges.push(bucketsRange(boundaries, i, bucketsPerChunk));
  return ranges;
}

/** The chunk of `count` buckets from bucket `first` (of boundaries.length + 1; the first and last are open). */
export function bucketsRange(boundaries: readonly (readonly string[])[], first: number, count: number): KeyRange {
  const last = Math.min(first + count, boundaries.length + 1) - 1;
  return {
    lower: first === 0 ? null : boundaries[first - 1]!,
    upper: last >= boundaries.length ? null : boundaries[last]!,
    splits: boundaries.slice(first, last),
  };
}

/** Boundaries b1..bn -> ranges (-inf, b1), [b1, b2), …, [bn, +inf). */
export function rangesFrom(boundaries: readonly (readonly string[])[]): KeyRange[] {
  const ranges: KeyRange[] = [];
  let lower: readonly string[] | null = null;
  for (const b of boundaries) {
    ranges.push({ lower, upper: b });
    lower = b;
  }
  ranges.push({ lower, upper: null });
  return ranges;
}
