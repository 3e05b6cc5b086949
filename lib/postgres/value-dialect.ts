import type { FormMode, ValueDialect, ValueForm } from '../diff/value-dialect.ts';

/** PostgreSQL's side of the cross-engine diff (see lib/diff/value-dialect.ts for the forms). */

const q = (name: string): string => '"' + name.replace(/"/g, '""') + '"';

function isText(nativeType: string): boolean {
  return /^(text|character|character varying|varchar|bpchar|citext|name)\b/.test(nativeType);
}

/** Drops trailing zeros (and a trailing point) of a decimal text. */
function trimZeros(t: string): string {
  return `(CASE WHEN ${t} LIKE '%.%' THEN rtrim(rtrim(${t}, '0'), '.') ELSE ${t} END)`;
}

/** The exact binary form of a float8 `v`: `e:m` with m the 53-bit integer mantissa. */
function exactFloat(v: string): string {
  const e0 = `floor(ln(abs(${v})) / ln(2::float8))::int`;
  // ln/ln may be one off at a power of two: move e until |v| / 2^e is in [1, 2)
  const e = `(${e0} + CASE WHEN abs(${v}) / power(2::float8, ${e0}) >= 2 THEN 1 WHEN abs(${v}) / power(2::float8, ${e0}) < 1 THEN -1 ELSE 0 END)`;
  return `(CASE WHEN ${v} IS NULL THEN NULL WHEN ${v} = 0 THEN '0' WHEN ${v} IN ('NaN', 'Infinity', '-Infinity') THEN ${v}::text
    WHEN abs(${v}) < 2.2250738585072014e-308 THEN 's:' || (${v} * power(2::float8, 537) * power(2::float8, 537))::bigint::text
    ELSE ${e}::text || ':' || (${v} / power(2::float8, ${e} - 52))::bigint::text END)`;
}

function roundedFloat(v: string, digits: number): string {
  const d = `floor(log(abs(${v})))::int`;
  return `(CASE WHEN ${v} IS NULL THEN NULL WHEN ${v} = 0 THEN '0' WHEN ${v} IN ('NaN', 'Infinity', '-Infinity') THEN ${v}::text
    ELSE ${d}::text || ':' || round(${v} / power(10::float8, ${d} - ${digits - 1}))::bigint::text END)`;
}

export const postgresValueDialect: ValueDialect = {
  engine: 'postgres',
  ident: q,
  relation: (schema, table) => `${q(schema)}.${q(table)}`,
  placeholder: (i) => `$${i + 1}`,

  canonical(expr: string, _nativeType: string, form: ValueForm, mode: FormMode): string {
    const x = `(${expr})`;
    switch (form.kind) {
      case 'integer':
      case 'text':
      case 'json':
        return `${x}::text`;
      case 'numeric':
        return form.scale === null ? trimZeros(`${x}::numeric::text`) : `round(${x}::numeric, ${form.scale})::text`;
      case 'float': {
        const v = `${x}::float8`;
        return mode.mode === 'hash' && mode.floatDigits !== null ? roundedFloat(v, mode.floatDigits) : exactFloat(v);
      }
      case 'boolean':
        return `(CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} THEN 't' ELSE 'f' END)`;
      case 'timestamp':
        return `to_char(${x}, 'YYYY-MM-DD HH24:MI:SS.US')`;
      case 'date':
        return `to_char(${x}, 'YYYY-MM-DD')`;
      case 'time':
        return `to_char(${x}, 'HH24:MI:SS.US')`;
      case 'bytes':
        return `('\\x' || encode(${x}, 'hex'))`;
    }
  },

  rowText: (texts) => (texts.length ? `concat(${texts.map((t) => `coalesce(octet_length(${t})::text || ':' || ${t}, '-')`).join(`, '|', `)})` : `''`),
  hash60: (text) => `('x' || substr(md5(${text}), 1, 15))::bit(60)::bigint`,
  sumText: (expr) => `sum(${expr})::text`,
  keyOperand: (expr, nativeType) => (isText(nativeType) ? `${expr} COLLATE "C"` : expr),
  keyParam: (i, nativeType) => (isText(nativeType) ? `$${i + 1}::text COLLATE "C"` : `$${i + 1}::${nativeType}`),
};
