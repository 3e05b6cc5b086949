import type { EngineName } from '../engines/engine-of-url.ts';

/**
 * The narrow interface a database engine implements so one diff algorithm can compare a table on
 * two different engines (data-diff's `NormalizeValue` + `MD5` mixins): SQL that turns a column
 * into one canonical text, and SQL that hashes such a text into an exact integer. The algorithm
 * (cross-engine-validator.ts) composes these expressions and never asks which engine it talks to.
 *
 * The canonical text of a value is defined by the TARGET column's type (the type DMS's
 * MySQL→PostgreSQL mapping gives it), so both sides print what the target should hold:
 *
 * | form      | canonical text                                              |
 * |-----------|-------------------------------------------------------------|
 * | integer   | decimal digits, `-` sign                                    |
 * | numeric   | exactly `scale` decimals (rounded half away from zero); unconstrained: no trailing zeros |
 * | float     | exact: the 16 lower-case hex digits of the IEEE-754 double (PostgreSQL's `float8send`; MariaDB reads them from a dynamic column, MySQL computes them arithmetically), ±0 as `0` — one ulp apart prints differently; with a tolerance the hash uses `d:m` (decimal exponent, rounded mantissa) and rows are compared within it |
 * | boolean   | `t` / `f` (a MySQL `tinyint(1)`: non-zero is `t`)            |
 * | timestamp | `YYYY-MM-DD HH:MM:SS[.f]`, UTC (both sessions in UTC), the fraction without trailing zeros (PostgreSQL's own ISO output, its cheapest); MySQL zero dates are NULL (what DMS writes) |
 * | date      | `YYYY-MM-DD`; zero dates NULL                               |
 * | time      | `HH:MM:SS.ffffff`                                           |
 * | interval  | the duration in whole microseconds, `-` sign (a MySQL TIME: ±838:59:59.999999; PostgreSQL counts a day as 24 h, a month as 30 days, as its `=` does) |
 * | bytes     | `\x` + lower-case hex (bytea's input form)                  |
 * | text      | the characters as UTF-8 (byte-exact: trailing spaces and case count) |
 * | json      | compared in the client: parsed, keys sorted (see jsonCanonical) |
 */
export type ValueForm =
  | { readonly kind: 'integer' }
  | { readonly kind: 'numeric'; readonly scale: number | null }
  | { readonly kind: 'float' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'timestamp' }
  | { readonly kind: 'date' }
  | { readonly kind: 'time' }
  | { readonly kind: 'interval' }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'json' }
  | { readonly kind: 'text' };

/** `exact` for rows shipped to the client; `hash` rounds floats to the tolerance. */
export interface FormMode {
  readonly mode: 'exact' | 'hash';
  /** Significant decimal digits kept in `hash` mode for floats; null: exact. */
  readonly floatDigits: number | null;
}

/** The canonical form of a PostgreSQL target column type (as `format_type()` prints it). */
export function formOfTargetType(type: string): ValueForm {
  const t = type.toLowerCase().trim();
  if (/^(smallint|integer|bigint|int2|int4|int8)$/.test(t)) return { kind: 'integer' };
  const num = /^(numeric|decimal)(\(\s*\d+\s*(?:,\s*(\d+)\s*)?\))?$/.exec(t);
  if (num) return { kind: 'numeric', scale: num[2] ? Number(num[3] ?? 0) : null };
  if (/^(real|double precision|float4|float8)$/.test(t)) return { kind: 'float' };
  if (t === 'boolean' || t === 'bool') return { kind: 'boolean' };
  if (t.startsWith('timestamp')) return { kind: 'timestamp' };
  if (t === 'date') return { kind: 'date' };
  if (t.startsWith('time')) return { kind: 'time' };
  if (t.startsWith('interval')) return { kind: 'interval' };
  if (t === 'bytea') return { kind: 'bytes' };
  if (t === 'json' || t === 'jsonb') return { kind: 'json' };
  return { kind: 'text' };
}

/** A canonical text in a row text; `fixed`: see isFixedPart. */
export interface RowPart {
  readonly sql: string;
  readonly fixed: boolean;
}

/**
 * True when a column's canonical text can go into a row text without a length prefix: a form
 * whose text is drawn from a fixed alphabet (digits, signs, hex, `t`/`f`, dates) — never `|`, never
 * the lone `-` that stands for NULL — computed from a source column that is not itself text (a
 * VARCHAR cast to an integer target could still hold a `|`). Both sides decide it from the plan.
 */
export function isFixedPart(form: ValueForm, sourceNative: string): boolean {
  if (form.kind === 'text' || form.kind === 'json') return false;
  return !/^(char|varchar|tinytext|text|mediumtext|longtext|enum|set|character|character varying|bpchar|citext|name)\b/i.test(sourceNative.trim());
}

/** One engine's SQL for the diff (see the module comment). */
export interface ValueDialect {
  readonly engine: EngineName;
  ident(name: string): string;
  relation(schema: string, table: string): string;
  /** The `i`-th (0-based) statement parameter. */
  placeholder(i: number): string;
  /**
   * `expr`, a column of this engine's `nativeType`, as the canonical text of `form` (NULL stays
   * NULL). `nativeType` is the engine's own spelling (`tinyint(1)`, `datetime(6)`, `numeric(12,2)`).
   */
  canonical(expr: string, nativeType: string, form: ValueForm, mode: FormMode): string;
  /**
   * One text per row that no two different rows share, the parts joined by `|`: a fixed part as it
   * is (it never holds `|` and is never `-`), any other prefixed by its byte length; NULL as `-`.
   * (Prefixing only the free texts evaluates each fixed part once: a float or a timestamp
   * expression is the dearest part of the hash.)
   */
  rowText(parts: readonly RowPart[]): string;
  /** The first 60 bits of md5(text) as an exact non-negative integer (sums stay exact). */
  hash60(text: string): string;
  /** Exact sum of hash60 values, printed as text (an empty set sums to NULL). */
  sumText(expr: string): string;
  /** Byte-wise comparison operand for a key column (text keys compare as UTF-8 bytes). */
  keyOperand(expr: string, nativeType: string): string;
  /** A key bound parameter, compared like keyOperand. */
  keyParam(i: number, nativeType: string): string;
}

/**
 * A key value as the forward worker recorded it — the PostgreSQL input text of its column
 * (`2024-01-01 10:00:00.500000`, a TIME `12:00:00.5`) — in the canonical text both dialects
 * print for its form (`2024-01-01 10:00:00.5`, `12:00:00.500000`), which is what a changed key is
 * looked up by. Without it a DATETIME(6) key whose fraction ends in a zero named "no source row",
 * and its table was compared in full inside the write hold. Other forms are recorded as they print.
 */
export function canonicalKeyText(text: string, form: ValueForm): string {
  if (form.kind === 'timestamp') {
    const m = /^(.*\d:\d\d:\d\d)\.(\d+)$/.exec(text);
    if (!m) return text;
    const fraction = m[2]!.replace(/0+$/, '');
    return fraction ? `${m[1]}.${fraction}` : m[1]!;
  }
  if (form.kind === 'time') {
    const m = /^(-?\d+:\d\d:\d\d)(?:\.(\d{1,6}))?$/.exec(text);
    return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}` : text;
  }
  if (form.kind === 'interval') {
    // a TIME key as the worker recorded it (`-12:34:56.5`): its microseconds
    const m = /^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(text);
    if (!m) return text;
    const us = ((BigInt(m[2]!) * 60n + BigInt(m[3]!)) * 60n + BigInt(m[4]!)) * 1_000_000n + BigInt((m[5] ?? '').padEnd(6, '0'));
    return us === 0n ? '0' : `${m[1]}${us}`;
  }
  return text;
}

/** An interval's canonical microseconds as a person reads a TIME: `-838:59:59.000000`. */
export function durationOfCanonical(text: string): string {
  if (!/^-?\d+$/.test(text)) return text;
  const us = BigInt(text);
  const abs = us < 0n ? -us : us;
  const two = (n: bigint) => String(n).padStart(2, '0');
  return `${us < 0n ? '-' : ''}${two(abs / 3_600_000_000n)}:${two((abs / 60_000_000n) % 60n)}:${two((abs / 1_000_000n) % 60n)}.${String(abs % 1_000_000n).padStart(6, '0')}`;
}

/** Key order every engine agrees on: integers numerically, everything else by UTF-8 bytes. */
export function compareKeyTexts(a: readonly string[], b: readonly string[], integer: readonly boolean[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (integer[i]) {
      const d = BigInt(x) - BigInt(y);
      return d < 0n ? -1 : 1;
    }
    return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
  }
  return 0;
}

/** A float's exact canonical text (16 hex digits of the IEEE-754 bits, or `0`) back to a number. */
export function floatOfCanonical(text: string): number {
  if (text === '0') return 0;
  if (/^[0-9a-f]{16}$/.test(text)) return Buffer.from(text, 'hex').readDoubleBE(0);
  return Number(text);
}

/** JSON text with object keys sorted by code point at every level (numbers as JS prints them). */
export function jsonCanonical(text: string | null): string | null {
  if (text === null) return null;
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sort(o[k])]));
    }
    return v;
  };
  try {
    return JSON.stringify(sort(JSON.parse(text)));
  } catch {
    return `invalid JSON: ${text}`;
  }
}
