import { typeFamily, type TypeFamily } from './column-types.ts';
import { quoteIdent, quoteLiteral } from './postgres-quote.ts';
import type { CatalogColumn, ColumnFilter, FilterCondition } from './types.ts';

/**
 * DMS selection filters, rendered twice with one meaning: as a PostgreSQL WHERE fragment (full
 * load and validation push it into the source query) and as a JavaScript predicate (CDC tests
 * each decoded row). Conditions on one column are OR-ed, filters are AND-ed, a NULL value fails
 * every condition except `null`.
 *
 * Comparison follows the column's PostgreSQL type: numbers numerically (exact for numeric),
 * text by code point (the SQL uses COLLATE "C" so both agree regardless of the database
 * collation), char(n) ignoring trailing blanks, dates and timestamps by time. A timestamptz
 * filter value without an offset is read as UTC.
 */
export interface CompiledFilters {
  /** WHERE fragment over source column names, or null when there are no filters. */
  readonly sql: string | null;
  readonly test: (row: Readonly<Record<string, unknown>>) => boolean;
}

/** Returns the problem text when a filter cannot be executed with these semantics. */
export function checkFilter(filter: ColumnFilter, column: CatalogColumn | undefined): string | null {
  if (!column) return `filter column "${filter.column}" does not exist`;
  const family = typeFamily(column.type);
  for (const c of filter.conditions) {
    if (c.operator === 'null' || c.operator === 'notnull') continue;
    if (!COMPARABLE.has(family)) {
      return `filter on column "${column.name}" of type ${column.type}: only null/notnull are supported for this type`;
    }
    for (const v of values(c)) {
      const parsed = parseFilterValue(family, v);
      if (parsed === undefined) return `filter value ${JSON.stringify(v)} is not a valid ${column.type} for column "${column.name}"`;
    }
  }
  return null;
}

export function compileFilters(filters: readonly ColumnFilter[], columns: readonly CatalogColumn[]): CompiledFilters {
  if (filters.length === 0) return { sql: null, test: () => true };
  const parts: string[] = [];
  const tests: ((row: Readonly<Record<string, unknown>>) => boolean)[] = [];
  for (const f of filters) {
    const column = columns.find((c) => c.name === f.column);
    const problem = checkFilter(f, column);
    if (problem || !column) throw new Error(problem ?? 'unknown column');
    const family = typeFamily(column.type);
    const sqlConds = f.conditions.map((c) => conditionSql(c, column, family));
    parts.push(sqlConds.length === 1 ? sqlConds[0]! : `(${sqlConds.join(' OR ')})`);
    const condTests = f.conditions.map((c) => conditionTest(c, family));
    const name = column.name;
    tests.push((row) => {
      const v = row[name];
      return condTests.some((t) => t(v));
    });
  }
  return {
    sql: parts.join(' AND '),
    test: (row) => {
      for (const t of tests) if (!t(row)) return false;
      return true;
    },
  };
}

const COMPARABLE = new Set<TypeFamily>(['integer', 'numeric', 'float', 'text', 'bpchar', 'boolean', 'uuid', 'date', 'timestamp', 'timestamptz']);

function values(c: FilterCondition): string[] {
  if (c.operator === 'between' || c.operator === 'notbetween') return [c.start ?? '', c.end ?? ''];
  if (c.operator === 'null' || c.operator === 'notnull') return [];
  return [c.value ?? ''];
}

// --- SQL -------------------------------------------------------------------------------------

function conditionSql(c: FilterCondition, column: CatalogColumn, family: TypeFamily): string {
  const col = quoteIdent(column.name);
  if (c.operator === 'null') return `${col} IS NULL`;
  if (c.operator === 'notnull') return `${col} IS NOT NULL`;
  const lhs = family === 'text' || family === 'bpchar' ? `${col} COLLATE "C"` : col;
  const lit = (v: string): string => literalSql(v, column, family);
  switch (c.operator) {
    case 'eq':
      return `${lhs} = ${lit(c.value!)}`;
    case 'noteq':
      return `${lhs} <> ${lit(c.value!)}`;
    case 'ste':
      return `${lhs} <= ${lit(c.value!)}`;
    case 'gte':
      return `${lhs} >= ${lit(c.value!)}`;
    case 'between':
      return `(${lhs} >= ${lit(c.start!)} AND ${lhs} <= ${lit(c.end!)})`;
    case 'notbetween':
      return `(${lhs} < ${lit(c.start!)} OR ${lhs} > ${lit(c.end!)})`;
  }
}

function literalSql(v: string, column: CatalogColumn, family: TypeFamily): string {
  const q = quoteLiteral(v);
  switch (family) {
    case 'text':
      return q;
    case 'bpchar':
      return `${q}::${column.type}`;
    case 'timestamptz':
      return hasOffset(v) ? `${q}::timestamptz` : `(${q}::timestamp AT TIME ZONE 'UTC')`;
    default:
      return `${q}::${column.type}`;
  }
}

// --- JavaScript ------------------------------------------------------------------------------

type Comparable = bigint | number | string | Decimal;

function conditionTest(c: FilterCondition, family: TypeFamily): (v: unknown) => boolean {
  if (c.operator === 'null') return (v) => v === null || v === undefined;
  if (c.operator === 'notnull') return (v) => v !== null && v !== undefined;
  const cmp = (v: unknown, lit: Comparable): number | undefined => {
    if (v === null || v === undefined) return undefined;
    const x = toComparable(family, v);
    if (x === undefined) return undefined;
    return compare(x, lit);
  };
  const parse = (s: string): Comparable => parseFilterValue(family, s)!;
  switch (c.operator) {
    case 'eq': {
      const lit = parse(c.value!);
      return (v) => cmp(v, lit) === 0;
    }
    case 'noteq': {
      const lit = parse(c.value!);
      return (v) => {
        const r = cmp(v, lit);
        return r !== undefined && r !== 0;
      };
    }
    case 'ste': {
      const lit = parse(c.value!);
      return (v) => {
        const r = cmp(v, lit);
        return r !== undefined && r <= 0;
      };
    }
    case 'gte': {
      const lit = parse(c.value!);
      return (v) => {
        const r = cmp(v, lit);
        return r !== undefined && r >= 0;
      };
    }
    case 'between':
    case 'notbetween': {
      const lo = parse(c.start!);
      const hi = parse(c.end!);
      const inside = c.operator === 'between';
      return (v) => {
        const a = cmp(v, lo);
        const b = cmp(v, hi);
        if (a === undefined || b === undefined) return false;
        return inside ? a >= 0 && b <= 0 : a < 0 || b > 0;
      };
    }
  }
}

/** Parses a filter value (always text in the file) as the column's type; undefined if invalid. */
export function parseFilterValue(family: TypeFamily, s: string): Comparable | undefined {
  return toComparable(family, s);
}

function toComparable(family: TypeFamily, v: unknown): Comparable | undefined {
  switch (family) {
    case 'integer': {
      if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
      if (typeof v === 'bigint') return v;
      const s = String(v).trim();
      return /^[+-]?\d+$/.test(s) ? BigInt(s) : undefined;
    }
    case 'numeric': {
      if (typeof v === 'number') return Number.isFinite(v) ? Decimal.parse(String(v)) : undefined;
      return Decimal.parse(String(v).trim());
    }
    case 'float': {
      const n = typeof v === 'number' ? v : Number(String(v).trim());
      return Number.isNaN(n) && String(v).trim().toLowerCase() !== 'nan' ? undefined : n;
    }
    case 'text':
      return typeof v === 'string' ? v : String(v);
    case 'bpchar':
      return String(v).replace(/ +$/, '');
    case 'boolean': {
      if (typeof v === 'boolean') return v ? 1 : 0;
      const s = String(v).trim().toLowerCase();
      if (['t', 'true', 'y', 'yes', 'on', '1'].includes(s)) return 1;
      if (['f', 'false', 'n', 'no', 'off', '0'].includes(s)) return 0;
      return undefined;
    }
    case 'uuid': {
      const s = String(v).trim().toLowerCase().replace(/[{}-]/g, '');
      return /^[0-9a-f]{32}$/.test(s) ? s : undefined;
    }
    case 'date':
      return dateKey(v);
    case 'timestamp':
      return timestampKey(v);
    case 'timestamptz':
      return instantMicros(v);
    default:
      return undefined;
  }
}

function compare(a: Comparable, b: Comparable): number {
  if (a instanceof Decimal && b instanceof Decimal) return a.compare(b);
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') {
    // PostgreSQL orders NaN above every number and equal to itself
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return 0;
}

/** UTF-8 byte order (what COLLATE "C" gives) equals code point order. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `YYYY-MM-DD`. node-pg returns a date as local midnight. */
function dateKey(v: unknown): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
  const m = /^(\d{4,})-(\d{2})-(\d{2})$/.exec(String(v).trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` wall-clock. node-pg returns a timestamp as a local-time Date. */
function timestampKey(v: unknown): string | undefined {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return undefined;
    return `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1)}-${pad(v.getDate())} ${pad(v.getHours())}:${pad(v.getMinutes())}:${pad(v.getSeconds())}.${pad(v.getMilliseconds(), 3)}000`;
  }
  const m = /^(\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(String(v).trim());
  if (!m) return undefined;
  return `${m[1]}-${m[2]}-${m[3]} ${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}.${(m[7] ?? '').padEnd(6, '0')}`;
}

function hasOffset(s: string): boolean {
  return /(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/.test(s.trim()) && /\d{2}:\d{2}/.test(s);
}

/** Microseconds since the epoch as a bigint; text without an offset is UTC. */
function instantMicros(v: unknown): bigint | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : BigInt(v.getTime()) * 1000n;
  const m = /^(\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/.exec(String(v).trim());
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  let micros = BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  const off = m[8];
  if (off && off.toUpperCase() !== 'Z') {
    const sign = off[0] === '-' ? -1n : 1n;
    const digits = off.slice(1).replace(':', '');
    const minutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
    micros -= sign * minutes * 60_000_000n;
  }
  return micros;
}

/** Exact decimal for numeric comparisons (sign, digits, scale); NaN sorts above all numbers. */
export class Decimal {
  private constructor(
    readonly nan: boolean,
    readonly unscaled: bigint,
    readonly scale: number,
  ) {}

  static parse(s: string): Decimal | undefined {
    if (/^nan$/i.test(s)) return new Decimal(true, 0n, 0);
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
    const frac = m[3] ?? '';
    let unscaled = BigInt((m[2] || '0') + frac);
    let scale = frac.length - Number(m[4] ?? 0);
    if (scale < 0) {
      unscaled *= 10n ** BigInt(-scale);
      scale = 0;
    }
    if (m[1] === '-') unscaled = -unscaled;
    return new Decimal(false, unscaled, scale);
  }

  compare(o: Decimal): number {
    if (this.nan || o.nan) return this.nan ? (o.nan ? 0 : 1) : -1;
    const s = Math.max(this.scale, o.scale);
    const a = this.unscaled * 10n ** BigInt(s - this.scale);
    const b = o.unscaled * 10n ** BigInt(s - o.scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
