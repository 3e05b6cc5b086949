import { isCollatableType } from './column-types.ts';
import { canonical, rowHash, type FormOptions } from './normalized-form.ts';
import { ident } from './sql-text.ts';
import type { TablePlan } from './table-plan.ts';

/**
 * A chunk: primary-key range [lower, upper), bounds as the source's key texts; null = unbounded.
 * `splits` cut it into buckets that one scan hashes separately, so a few scattered differences
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
  constructor(
    private readonly shape: SideShape,
    private readonly firstParam: number,
  ) {}

  get lhs(): string {
    const cols = this.shape.keyColumns.map((c, i) => keyOperand(this.shape, i, c));
    return cols.length === 1 ? cols[0]! : `(${cols.join(', ')})`;
  }

  bound(vals: readonly string[]): string {
    const params = vals.map((v, i) => {
      this.values.push(v);
      return keyOperand(this.shape, i, `$${this.firstParam + this.values.length - 1}::${this.shape.keyTypes[i]}`);
    });
    return params.length === 1 ? params[0]! : `(${params.join(', ')})`;
  }

  /** `$n::text[]`: one array parameter. */
  array(vals: readonly (string | null)[]): string {
    this.values.push(vals);
    return `$${this.firstParam + this.values.length - 1}::text[]`;
  }
}

function where(shape: SideShape, range: KeyRange, params: KeyParams, keyTexts?: readonly string[]): string {
  const parts: string[] = [];
  if (shape.keyColumns.length) {
    if (range.lower) parts.push(`${params.lhs} >= ${params.bound(range.lower)}`);
    if (range.upper) parts.push(`${params.lhs} < ${params.bound(range.upper)}`);
    if (range.keys && keyTexts) {
      // the key's printed normalized form, as the rows query ships it; the bounds above keep
      // the scan on the primary-key index
      const columns = keyTexts.map((_, i) => params.array(range.keys!.map((k) => k[i] ?? null)));
      parts.push(`(${keyTexts.join(', ')}) IN (SELECT * FROM unnest(${columns.join(', ')}))`);
    }
  }
  if (shape.filter) parts.push(`(${shape.filter})`);
  return parts.length ? parts.join(' AND ') : 'true';
}

/**
 * WHERE clause (without `WHERE`) and parameters for a key range on one side. `keyTexts` (the
 * key's normalized text per key column) is needed when the range lists `keys`.
 */
export function rangePredicate(shape: SideShape, range: KeyRange, firstParam = 1, keyTexts?: readonly string[]): { sql: string; values: unknown[] } {
  const params = new KeyParams(shape, firstParam);
  return { sql: where(shape, range, params, keyTexts), values: params.values };
}

/** The key's normalized form printed as the rows query ships it (the output function's text). */
function keyTextsOf(plan: TablePlan, shape: SideShape, form: FormOptions): string[] {
  return plan.keys.map((k, i) => `format('%s', ${canonical(shape.keyValues[i]!, k.targetType, 'exact', form)})`);
}

/**
 * Per bucket of the range: bucket number, `count` and the order-independent hash sum, computed by
 * the server in one scan. Empty buckets return no row.
 */
export function hashQuery(plan: TablePlan, shape: SideShape, range: KeyRange, form: FormOptions): { text: string; values: unknown[] } {
  const exprs = plan.columns.map((c, i) => canonical(shape.columnValues[i]!, c.targetType, 'hash', form));
  const params = new KeyParams(shape, shape.keyColumns.length ? 1 : 2);
  const filter = where(shape, range, params, keyTextsOf(plan, shape, form));
  const splits = shape.keyColumns.length ? (range.splits ?? []) : [];
  if (!splits.length) {
    return { text: `SELECT 0, count(*), coalesce(sum(${rowHash(exprs, form.rowHash)}), 0) FROM ${shape.relation} WHERE ${filter}`, values: params.values };
  }
  const whens = splits.map((b, i) => `WHEN ${params.lhs} < ${params.bound(b)} THEN ${i}`).join(' ');
  return {
    text: `SELECT bucket, count(*), sum(h) FROM (SELECT CASE ${whens} ELSE ${splits.length} END AS bucket, ${rowHash(exprs, form.rowHash)} AS h
             FROM ${shape.relation} WHERE ${filter}) AS rows GROUP BY bucket`,
    values: params.values,
  };
}

/** The chunk's rows in exact normalized text: key values first, then every compared column. */
export function rowsQuery(plan: TablePlan, shape: SideShape, range: KeyRange, form: FormOptions): { text: string; values: unknown[] } {
  const keys = plan.keys.map((k, i) => canonical(shape.keyValues[i]!, k.targetType, 'exact', form));
  const cols = plan.columns.map((c, i) => canonical(shape.columnValues[i]!, c.targetType, 'exact', form));
  const where = rangePredicate(shape, range, shape.keyColumns.length ? 1 : 2, keyTextsOf(plan, shape, form));
  return { text: `SELECT ${[...keys, ...cols].join(', ')} FROM ${shape.relation} WHERE ${where.sql}`, values: where.values };
}

/** The source's own rows of a chunk (every source column, as text) for the row transformer. */
export function sourceRowsQuery(plan: TablePlan, range: KeyRange, form: FormOptions): { text: string; values: unknown[] } {
  const shape = { ...sourceShape(plan), filter: null };
  const where = rangePredicate(shape, range, 1, keyTextsOf(plan, shape, form));
  return { text: `SELECT ${plan.sourceColumns.map(ident).join(', ')} FROM ${plan.sourceRelation} WHERE ${where.sql}`, values: where.values };
}
