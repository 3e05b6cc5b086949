/** Quoting of identifiers and qualified names for SQL text built by the replicator. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function quoteLiteral(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

const NEEDS_ESCAPE = /["\\']/;

/**
 * A `text[]` literal (`'{"a","b",NULL}'`) for SQL text: a whole column of a batch travels as one
 * string the server parses once, instead of one bind parameter per value. Needs
 * `standard_conforming_strings = on` (the apply session sets it): backslashes are the array's.
 */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  let out = "'{";
  for (let i = 0; i < values.length; i++) {
    if (i) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (!NEEDS_ESCAPE.test(v)) out += '"' + v + '"';
    else out += '"' + v.replace(/["\\]/g, '\\$&').replace(/'/g, "''") + '"';
  }
  return out + "}'";
}

/**
 * A `text[]` value as PostgreSQL prints it (`{"a","b",NULL}`), without SQL quoting: an element of
 * another text array literal that the server casts to `text[]` (a composite key as one value).
 */
export function arrayText(values: readonly (string | null)[]): string {
  return '{' + values.map((v) => (v === null ? 'NULL' : '"' + v.replace(/["\\]/g, '\\$&') + '"')).join(',') + '}';
}
