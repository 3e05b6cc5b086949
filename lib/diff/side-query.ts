import { isCollatableType } from './column-types.ts';
import { canonical, rowHash, textHash, type FormOptions } from './normalized-form.ts';
import { ident } from './sql-text.ts';
import type { TablePlan } from './table-plan.ts';

/**
 * A chunk: primary-key range [lower, upper), bounds as the source's key texts; null = unbounded.
 * `splits` cut it into buckets that one statement hashes separately, so a few scattered differences
 * send only their buckets' rows to the client, not whole chunks.
 */
export interface KeyRange {
  readonly lower: readonly string[] | null;
  readonly upper: readonly string[] | null;
  readonly splits?: readonly (readonly string[])[];
  /**
   * Only these rows of the range: key values in their normalized text (row-diff.ts `keyId` parts).
   * Used by the lag-aware re-check, which reads back just the rows that differed.
   */
  readonly keys?: readonly (readonly (string | null)[])[];
  /**
   * Only the rows with these keys, as the source's key texts (cast to each side's key types, like
   * the bounds): the rows changed since the last full validation (changed-rows.ts).
   */
  readonly sourceKeys?: readonly (readonly (string | null)[])[];
  /**
   * Only the rows whose key hash (see keyHash) has one of `values` in its low `bits` bits: a
   * sub-bucket of the range that narrowing (bucket-narrowing.ts) found different.
   */
  readonly keyHash?: KeyHashFilter;
}

export interface KeyHashFilter {
  readonly bits: number;
  readonly values: readonly number[];
}

/** Ranges one statement reads at most (planning a long UNION ALL costs more than a round trip). */
export const MAX_ARMS = 16;

/** Ranges (or narrowing arms) in consecutive slices of at most MAX_ARMS, one statement each. */
export function statements<T>(arms: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < arms.length; i += MAX_ARMS) out.push(arms.slice(i, i + MAX_ARMS));
  return out;
}

/** Bucket `i` of a range as a range of its own. */
export function bucketRange(range: KeyRange, i: number): KeyRange {
  const splits = range.splits ?? [];
  return { lower: i === 0 ? range.lower : splits[i - 1]!, upper: i >= splits.length ? range.upper : splits[i]! };
}

/**
 * How one side produces the compared rows: the relation, its own key columns (for the range
 * predicate, so the side's primary-key index serves it) and every compared value in the target
 * type (so both sides normalize the same thing).
 */
export interface SideShape {
  readonly relation: string;
  readonly keyColumns: readonly string[];
  readonly keyTypes: readonly string[];
  /** Key values in the target type (matched across sides). */
  readonly keyValues: readonly string[];
  /** Aligned with `plan.columns`. */
  readonly columnValues: readonly string[];
  readonly filter: string | null;
  readonly collateC: boolean;
}

export function sourceShape(plan: TablePlan): SideShape {
  return {
    relation: plan.sourceRelation,
    keyColumns: plan.keys.map((k) => ident(k.source)),
    keyTypes: plan.keys.map((k) => k.sourceType),
    keyValues: plan.keys.map((k) => {
      const col = plan.columns.find((c) => c.target === k.target);
      return col?.sourceSql ?? ident(k.source);
    }),
    columnValues: plan.columns.map((c) => c.sourceSql ?? 'NULL'),
    filter: plan.filterSql,
    collateC: plan.collateC,
  };
}

export function targetShape(plan: TablePlan): SideShape {
  return {
    relation: plan.targetRelation,
    keyColumns: plan.keys.map((k) => ident(k.target)),
    keyTypes: plan.keys.map((k) => k.targetType),
    keyValues: plan.keys.map((k) => ident(k.target)),
    columnValues: plan.columns.map((c) => ident(c.target)),
    filter: null,
    collateC: plan.collateC,
  };
}

/**
 * Rows the row transformer produced, handed to the TARGET server as JSON and read with the target
 * column types, so expressions without a PostgreSQL form are normalized by the same code as the
 * target's own rows. The JSON is parameter `$1`; no range predicate (the rows are one chunk).
 */
export function transformedShape(plan: TablePlan): SideShape {
  const defs = plan.columns.map((c) => `${ident(c.target)} ${c.targetType}`).join(', ');
  return {
    relation: `jsonb_to_recordset($1::jsonb) AS x(${defs})`,
    keyColumns: [],
    keyTypes: [],
    keyValues: plan.keys.map((k) => ident(k.target)),
    columnValues: plan.columns.map((c) => ident(c.target)),
    filter: null,
    collateC: false,
  };
}

function keyOperand(shape: SideShape, i: number, expr: string): string {
  return shape.collateC && isCollatableType(shape.keyTypes[i]!) ? `${expr} COLLATE "C"` : expr;
}

/** Builds `$n::type` operands for key bounds, collecting their values. */
class KeyParams {
  readonly values: unknown[] = [];
  /** A bound passed once (a split is the upper bound of one bucket and the lower of the next). */
  private readonly bounds = new Map<readonly string[], string>();
  constructor(
    private readonly shape: SideShape,
    private readonly firstParam: number,
  ) {}

  get lhs(): string {
    const cols = this.shape.keyColumns.map((c, i) => keyOperand(this.shape, i, c));
    return cols.length === 1 ? cols[0]! : `(${cols.join(', ')})`;
  }

  bound(vals: readonly string[]): string {
    const known = this.bounds.get(vals);
    if (known) return known;
    const params = vals.map((v, i) => {
      this.values.push(v);
      return keyOperand(this.shape, i, `$${this.firstParam + this.values.length - 1}::${this.shape.keyTypes[i]}`);
    });
    const sql = params.length === 1 ? params[0]! : `(${params.join(', ')})`;
    this.bounds.set(vals, sql);
    return sql;
  }

  /** `$n::<type>`: one parameter. */
  scalar(value: string, type: string): string {
    this.values.push(value);
    return `$${this.firstParam + this.values.length - 1}::${type}`;
  }

  /** `$n::<type>[]`: one array parameter. */
  array(vals: readonly (string | null)[], type = 'text'): string {
    this.values.push(vals);
    return `$${this.firstParam + this.values.length - 1}::${type}[]`;
  }
}

/** How a side names the key's normalized form: its printed text and its 64-bit hash. */
interface KeyForms {
  /** Per key column, the text the rows query ships (needed for `range.keys`). */
  readonly texts: readonly string[];
  /** The key hash (needed for `range.keyHash`). */
  readonly hash: string;
}

function where(shape: SideShape, range: KeyRange, params: KeyParams, key?: KeyForms): string {
  const parts: string[] = [];
  if (shape.keyColumns.length) {
    if (range.lower) parts.push(`${params.lhs} >= ${params.bound(range.lower)}`);
    if (range.upper) parts.push(`${params.lhs} < ${params.bound(range.upper)}`);
    if (range.keys && key) {
      // the key's printed normalized form, as the rows query ships it; the bounds above keep
      // the scan on the primary-key index
      const columns = key.texts.map((_, i) => params.array(range.keys!.map((k) => k[i] ?? null)));
      parts.push(`(${key.texts.join(', ')}) IN (SELECT * FROM unnest(${columns.join(', ')}))`);
    }
    if (range.sourceKeys) {
      // plain key columns (no COLLATE): equality, and the primary-key index serves it
      const arrays = shape.keyColumns.map((_, i) => params.array(range.sourceKeys!.map((k) => k[i] ?? null), shape.keyTypes[i]));
      parts.push(
        shape.keyColumns.length === 1
          ? `${shape.keyColumns[0]} = ANY(${arrays[0]})`
          : `(${shape.keyColumns.join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`,
      );
    }
    if (range.keyHash && key) parts.push(`${lowBits(key.hash, range.keyHash.bits)} = ANY(${params.array(range.keyHash.values.map(String), 'bigint')})`);
  }
  if (shape.filter) parts.push(`(${shape.filter})`);
  return parts.length ? parts.join(' AND ') : 'true';
}

/** The low `bits` bits of a 64-bit hash expression (a non-negative bigint). */
function lowBits(hash: string, bits: number): string {
  return `(${hash} & ${(2n ** BigInt(bits) - 1n).toString()}::bigint)`;
}

/** The key's normalized form on one side: printed as the rows query ships it, and hashed. */
function keyForms(plan: TablePlan, shape: SideShape, form: FormOptions): KeyForms {
  const exact = plan.keys.map((k, i) => canonical(shape.keyValues[i]!, k.targetType, 'exact', form));
  // the same value of the same (target) type on both sides, printed in the same pinned session:
  // the same text, so a key hash picks the same rows on each side
  const hash = exact.length === 1 ? textHash(`(${exact[0]})::text`, form.rowHash) : rowHash(exact, form.rowHash);
  return { texts: exact.map((e) => `format('%s', ${e})`), hash };
}

/**
 * Per bucket of the range: bucket number, `count` and the order-independent hash sum, computed by
 * the server in one statement that reads each bucket's key range once. Empty buckets return no row.
 */
export function hashQuery(plan: TablePlan, shape: SideShape, range: KeyRange, form: FormOptions): { text: string; values: unknown[] } {
  const hash = rowHash(plan.columns.map((c, i) => canonical(shape.columnValues[i]!, c.targetType, 'hash', form)), form.rowHash);
  const params = new KeyParams(shape, shape.keyColumns.length ? 1 : 2);
  const key = keyForms(plan, shape, form);
  const splits = shape.keyColumns.length ? (range.splits ?? []) : [];
  if (!splits.length) {
    return { text: `SELECT 0, count(*), coalesce(sum(${hash}), 0) FROM ${shape.relation} WHERE ${where(shape, range, params, key)}`, values: params.values };
  }
  // one plain aggregate per bucket over its own index range: no per-row CASE and no hash
  // aggregate, so a row costs what it costs in a plain scan computing the same hash
  const arms = splits.map((_, i) => i).concat(splits.length);
  return {
    text: arms
      .map((i) => `SELECT ${i}, count(*), sum(${hash}) FROM ${shape.relation} WHERE ${where(shape, bucketRange(range, i), params, key)} HAVING count(*) > 0`)
      .join(' UNION ALL '),
    values: params.values,
  };
}

/**
 * One range being narrowed, its rows grouped either by the next `bits` bits of their key hash or,
 * with `step` (a single integer key, both bounds), by `(key - lower) / step`: sub-ranges.
 */
export interface NarrowingArm {
  readonly range: KeyRange;
  readonly bits: number;
  readonly step?: bigint;
}

/**
 * Per arm and group: arm number, the group (the low `range.keyHash.bits + bits` bits of the key
 * hash, or the sub-range number), `count` and the row-hash sum, computed by the server in one scan
 * of each arm's key range. Empty groups return no row.
 */
export function narrowingQuery(plan: TablePlan, shape: SideShape, arms: readonly NarrowingArm[], form: FormOptions): { text: string; values: unknown[] } {
  const hash = rowHash(plan.columns.map((c, i) => canonical(shape.columnValues[i]!, c.targetType, 'hash', form)), form.rowHash);
  const params = new KeyParams(shape, 1);
  const key = keyForms(plan, shape, form);
  return {
    text: arms
      .map((arm, i) => {
        const filter = where(shape, arm.range, params, key);
        const group =
          arm.step !== undefined
            ? `((${shape.keyColumns[0]}::bigint - ${params.scalar(arm.range.lower![0]!, 'bigint')}) / ${params.scalar(arm.step.toString(), 'bigint')})`
            : lowBits(key.hash, (arm.range.keyHash?.bits ?? 0) + arm.bits);
        return `SELECT ${i}, ${group}, count(*), sum(${hash}) FROM ${shape.relation} WHERE ${filter} GROUP BY 2`;
      })
      .join(' UNION ALL '),
    values: params.values,
  };
}

/**
 * The rows of one or more disjoint ranges in exact normalized text: key values first, then every
 * compared column (one index range scan per range). `tagged`: each row starts with the number of
 * its range in `ranges`.
 */
export function rowsQuery(
  plan: TablePlan,
  shape: SideShape,
  ranges: KeyRange | readonly KeyRange[],
  form: FormOptions,
  tagged = false,
): { text: string; values: unknown[] } {
  const keys = plan.keys.map((k, i) => canonical(shape.keyValues[i]!, k.targetType, 'exact', form));
  const cols = plan.columns.map((c, i) => canonical(shape.columnValues[i]!, c.targetType, 'exact', form));
  const params = new KeyParams(shape, shape.keyColumns.length ? 1 : 2);
  const key = keyForms(plan, shape, form);
  const list = Array.isArray(ranges) ? (ranges as readonly KeyRange[]) : [ranges as KeyRange];
  return {
    text: list
      .map((r, i) => `SELECT ${[...(tagged ? [String(i)] : []), ...keys, ...cols].join(', ')} FROM ${shape.relation} WHERE ${where(shape, r, params, key)}`)
      .join(' UNION ALL '),
    values: params.values,
  };
}

/** The source's own rows of a chunk (every source column, as text) for the row transformer. */
export function sourceRowsQuery(plan: TablePlan, range: KeyRange, form: FormOptions): { text: string; values: unknown[] } {
  const shape = { ...sourceShape(plan), filter: null };
  const params = new KeyParams(shape, 1);
  const sql = where(shape, range, params, keyForms(plan, shape, form));
  return { text: `SELECT ${plan.sourceColumns.map(ident).join(', ')} FROM ${plan.sourceRelation} WHERE ${sql}`, values: params.values };
}
