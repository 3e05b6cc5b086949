import type { ChunkContext } from './chunk-compare.ts';
import { queryText } from './comparison-pool.ts';
import { MAX_ARMS, narrowingQuery, statements, sourceShape, targetShape, type KeyRange, type NarrowingArm } from './side-query.ts';

/** A mismatching range (or key-hash group) this small ships its rows; a larger one is split again. */
export const LEAF_ROWS = 48;
/** Bits one narrowing step splits a range by, at most (1,024 groups). */
const MAX_STEP_BITS = 10;
/** Groups one step returns per side and range, at most (bounds what narrowing ships). */
const MAX_GROUPS = 4096;
/** Sub-ranges of one range shipped separately; more differing ones ship the range whole. */
const MAX_LEAF_RANGES = 8;
/** Key values per row, at most, for integer sub-ranges (sparser keys group by key hash). */
const DENSE_SPAN = 16n;
/** Steps at most (a group still larger is shipped as it is). */
const MAX_DEPTH = 3;

/**
 * What narrowing needs of a table compared on two sides: whether its key is a single integer, and
 * the per-group counts and hash sums of narrowing arms on each side. The PostgreSQL diff answers
 * with narrowingQuery (side-query.ts); the cross-engine diff with each engine's dialect.
 */
export interface NarrowingSides {
  readonly integerKey: boolean;
  /** Rows go through the row transformer: nothing is narrowed, every mismatch ships as it is. */
  readonly viaTransformer: boolean;
  /**
   * Rows `[arm, group, count, hash sum]` for at most MAX_ARMS arms on one side: per arm, the group
   * is the sub-range `(key - lower) / step` when the arm has a step, else the low
   * `range.keyHash.bits + bits` bits of the key hash. Empty groups return no row.
   */
  groupRows(side: 'source' | 'target', arms: readonly NarrowingArm[]): Promise<(string | null)[][]>;
}

/** The PostgreSQL diff's sides of one chunk context. */
function postgresSides(ctx: ChunkContext): NarrowingSides {
  return {
    integerKey: ctx.plan.integerKey,
    viaTransformer: ctx.plan.viaTransformer,
    groupRows(side, arms) {
      const q = narrowingQuery(ctx.plan, side === 'source' ? sourceShape(ctx.plan) : targetShape(ctx.plan), arms, ctx.form);
      return queryText(side === 'source' ? ctx.sourceDb : ctx.targetDb, q.text, q.values);
    },
  };
}

/** A bucket whose count or hash differ, and its rows (the larger of the two sides). */
export interface Mismatch {
  readonly range: KeyRange;
  readonly rows: number;
  /** Whose bucket it is (the caller's number, e.g. the chunk's): its leaves carry it. @default 0 */
  readonly owner?: number;
}

/** A range (or key-hash group of a range) to ship, and whose bucket it came from. */
export interface Leaf {
  readonly range: KeyRange;
  readonly owner: number;
}

/**
 * Narrows mismatching buckets to the rows that differ, inside the databases. A step groups the
 * rows of every range still too large into groups of about LEAF_ROWS / 2 rows; both sides count and
 * hash the groups of all those ranges in a statement per MAX_ARMS ranges (one index range scan
 * each) and only the groups that differ go on. A group holds the same keys on both sides: a sub-range of a
 * single integer key (`(key - lower) / step`), else the low bits of a hash of the key's
 * normalized text. A range's count and hash are the sums of its groups', so a range that differs
 * has a group that differs. A scattered difference thus ships about LEAF_ROWS / 2 rows per side,
 * for one round trip before the rows are fetched, whatever the key type.
 *
 * `mismatches` in key order; the leaves (ranges, some with a key-hash filter) are disjoint.
 */
export async function narrowMismatches(
  context: ChunkContext | NarrowingSides,
  mismatches: readonly Mismatch[],
): Promise<{ leaves: Leaf[]; rowsFetched: Map<number, number> }> {
  const ctx = 'groupRows' in context ? context : postgresSides(context);
  const leaves: Leaf[] = [];
  const rowsFetched = new Map<number, number>();
  let pending: Mismatch[] = [];
  for (const m of mismatches) {
    if (ctx.viaTransformer || m.rows <= LEAF_ROWS) leaves.push({ range: m.range, owner: m.owner ?? 0 });
    else pending.push(m);
  }
  for (let depth = 0; depth < MAX_DEPTH && pending.length; depth++) {
    const arms = pending.map((p) => arm(ctx, p));
    const [s, t] = await Promise.all([groupHashes(ctx, 'source', arms), groupHashes(ctx, 'target', arms)]);
    const next: Mismatch[] = [];
    arms.forEach((a, i) => {
      const owner = pending[i]!.owner ?? 0;
      const source = s.get(i);
      const target = t.get(i);
      rowsFetched.set(owner, (rowsFetched.get(owner) ?? 0) + (source?.size ?? 0) + (target?.size ?? 0));
      const differing = differingGroups(source, target);
      const split = a.step !== undefined ? subRanges(a, differing) : hashGroups(a, differing);
      leaves.push(...split.leaves.map((range) => ({ range, owner })));
      next.push(...split.pending.map((m) => ({ ...m, owner })));
    });
    pending = next;
  }
  leaves.push(...pending.map((p) => ({ range: p.range, owner: p.owner ?? 0 })));
  return { leaves, rowsFetched };
}

/**
 * How the next step groups a range: sub-ranges of a single integer key when both bounds are known
 * and the keys are dense enough for sub-ranges of even size (the fetch is then a short range
 * scan), else key-hash groups (even whatever the keys are).
 */
function arm(ctx: NarrowingSides, m: Mismatch): NarrowingArm {
  const values = m.range.keyHash?.values.length ?? 1;
  let bits = Math.min(MAX_STEP_BITS, Math.max(1, Math.ceil(Math.log2(m.rows / (LEAF_ROWS / 2)))));
  while (bits > 1 && values * 2 ** bits > MAX_GROUPS) bits--;
  const { lower, upper } = m.range;
  if (ctx.integerKey && lower && upper && !m.range.keyHash && !m.range.keys) {
    const span = BigInt(upper[0]!) - BigInt(lower[0]!);
    if (span > 0n && span <= BigInt(m.rows) * DENSE_SPAN) {
      const parts = 2n ** BigInt(bits);
      return { range: m.range, bits, step: (span + parts - 1n) / parts };
    }
  }
  return { range: m.range, bits };
}

interface Split {
  readonly leaves: KeyRange[];
  readonly pending: Mismatch[];
}

/** Differing sub-ranges: small ones (adjacent ones merged) are leaves, large ones go on. */
function subRanges(a: NarrowingArm, differing: readonly Group[]): Split {
  const lower = BigInt(a.range.lower![0]!);
  const upper = BigInt(a.range.upper![0]!);
  const step = a.step!;
  const bound = (g: number) => {
    const b = lower + BigInt(g) * step;
    return [(b < upper ? b : upper).toString()];
  };
  const small = differing.filter((g) => g.rows <= LEAF_ROWS);
  const pending = differing.filter((g) => g.rows > LEAF_ROWS).map((g) => ({ range: { lower: bound(g.value), upper: bound(g.value + 1) }, rows: g.rows }));
  const leaves: KeyRange[] = [];
  for (const g of small) {
    const last = leaves[leaves.length - 1];
    if (last && last.upper![0] === bound(g.value)[0]) leaves[leaves.length - 1] = { lower: last.lower, upper: bound(g.value + 1) };
    else leaves.push({ lower: bound(g.value), upper: bound(g.value + 1) });
  }
  // many differing sub-ranges: most of the range differs, ship it whole
  if (leaves.length > MAX_LEAF_RANGES) return { leaves: [{ lower: a.range.lower, upper: a.range.upper }], pending: [] };
  return { leaves, pending };
}

/** Differing key-hash groups: the small ones are one leaf, the large ones one range that goes on. */
function hashGroups(a: NarrowingArm, differing: readonly Group[]): Split {
  const bits = (a.range.keyHash?.bits ?? 0) + a.bits;
  const narrowed = (groups: readonly Group[]): KeyRange => ({ lower: a.range.lower, upper: a.range.upper, keyHash: { bits, values: groups.map((g) => g.value) } });
  const small = differing.filter((g) => g.rows <= LEAF_ROWS);
  const large = differing.filter((g) => g.rows > LEAF_ROWS);
  return {
    leaves: small.length ? [narrowed(small)] : [],
    pending: large.length ? [{ range: narrowed(large), rows: Math.max(...large.map((g) => g.rows)) }] : [],
  };
}

interface Group {
  readonly value: number;
  readonly rows: number;
}

/** Group -> `count/hash` and its row count. */
type GroupSigs = Map<number, { sig: string; rows: number }>;

/** Per arm, per group: `count/hash` and the row count (at most MAX_ARMS arms per statement). */
async function groupHashes(ctx: NarrowingSides, side: 'source' | 'target', arms: readonly NarrowingArm[]): Promise<Map<number, GroupSigs>> {
  const groups = new Map<number, GroupSigs>();
  await Promise.all(
    statements(arms).map(async (batch, b) => {
      const rows = await ctx.groupRows(side, batch);
      for (const [arm, group, n, h] of rows) {
        const index = b * MAX_ARMS + Number(arm);
        const byGroup: GroupSigs = groups.get(index) ?? new Map();
        byGroup.set(Number(group), { sig: `${n}/${h}`, rows: Number(n) });
        groups.set(index, byGroup);
      }
    }),
  );
  return groups;
}

function differingGroups(source: GroupSigs | undefined, target: GroupSigs | undefined): Group[] {
  const out: Group[] = [];
  for (const value of new Set([...(source?.keys() ?? []), ...(target?.keys() ?? [])])) {
    const a = source?.get(value);
    const b = target?.get(value);
    if (a?.sig !== b?.sig) out.push({ value, rows: Math.max(a?.rows ?? 0, b?.rows ?? 0) });
  }
  return out.sort((x, y) => x.value - y.value);
}
