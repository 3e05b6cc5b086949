import { isFloatType, isNumericType } from './column-types.ts';

/**
 * The normalized form both databases hash and compare: every value is first given the TARGET
 * column's type the way replication gives it (the source's output text read by the target type's
 * input function), then printed canonically in a session pinned to UTC / ISO dates / shortest
 * exact floats (see comparison-pool.ts). So numeric scale, timestamp precision and time zone,
 * char(n) padding and float4→float8 agree, while NULL and '' stay distinct (a record's text form
 * prints NULL as nothing and '' as "").
 */

export type FormMode =
  /** For the in-database hash: floats rounded to the tolerance (confirmed row by row later). */
  | 'hash'
  /** For rows shipped to the client: exact text; floats are compared with the tolerance in JS. */
  | 'exact';

/**
 * How a row's normalized text becomes a 64-bit number. `hashtextextended` (PostgreSQL 11+) is
 * about twice as cheap per row as md5 (the row's text form is then most of the cost); it is used
 * only when both servers return the same value for a probe text (same hash code, same byte order).
 */
export type RowHashFunction = 'hashtextextended' | 'md5';

export interface FormOptions {
  /** Relative float tolerance; 0 compares exactly. */
  readonly floatTolerance: number;
  /** `trim_scale()` exists (PostgreSQL 13+) on both sides. */
  readonly trimScale: boolean;
  /** @default 'md5' */
  readonly rowHash?: RowHashFunction;
}

/**
 * `expr` (of `fromType`, or of unknown type when null) as a value of `targetType`, with the
 * semantics of replication: the output function's text fed to the target type's input function.
 * `format('%s', x)` is the output function (unlike `x::text`, which strips char(n) padding and
 * prints booleans as `true`).
 */
export function asTargetType(expr: string, fromType: string | null, targetType: string): string {
  if (fromType === targetType) return expr;
  return `(CASE WHEN (${expr}) IS NULL THEN NULL ELSE format('%s', ${expr}) END)::${targetType}`;
}

/** Significant digits that make any two floats further apart than `tolerance` print differently. */
export function floatDigits(tolerance: number): number {
  return Math.ceil(-Math.log10(tolerance)) + 1;
}

/** The canonical form of a value already of `targetType`. */
export function canonical(expr: string, targetType: string, mode: FormMode, options: FormOptions): string {
  // numeric(p,s) prints exactly s decimals on both sides (the source value is cast to it): only
  // an unconstrained numeric can print 1.5 and 1.50 for the same number
  if (isNumericType(targetType) && options.trimScale && !hasFixedScale(targetType)) return `trim_scale(${expr})`;
  if (mode === 'hash' && isFloatType(targetType) && options.floatTolerance > 0) {
    const digits = floatDigits(options.floatTolerance);
    if (digits > 15) return expr;
    const pattern = `9.${'9'.repeat(digits - 1)}EEEE`;
    // to_char prints NaN/Infinity as '#'s: keep their own text
    return `(CASE WHEN (${expr})::float8 IN ('NaN', 'Infinity', '-Infinity') THEN (${expr})::text ELSE ltrim(to_char((${expr})::float8, '${pattern}')) END)`;
  }
  return expr;
}

/** `numeric(p,s)` / `decimal(p,s)`: every value prints with exactly s decimals. */
function hasFixedScale(type: string): boolean {
  return /^(numeric|decimal)\(\s*\d+\s*,\s*\d+\s*\)$/i.test(type.trim());
}

/** Order-independent 64-bit hash of one row's normalized form (summed per chunk). */
export function rowHash(canonicalExprs: readonly string[], fn: RowHashFunction = 'md5'): string {
  return textHash(`ROW(${canonicalExprs.join(', ')})::text`, fn);
}

/** 64-bit hash (a bigint) of a text expression. */
export function textHash(text: string, fn: RowHashFunction = 'md5'): string {
  if (fn === 'hashtextextended') return `hashtextextended(${text} COLLATE "C", 0)`;
  return `('x' || substr(md5(${text}), 1, 16))::bit(64)::bigint`;
}

/** Do two exact-form float texts agree within a relative tolerance? */
export function floatsAgree(a: string | null, b: string | null, tolerance: number): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return false;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  return Math.abs(x - y) <= tolerance * Math.max(Math.abs(x), Math.abs(y));
}
