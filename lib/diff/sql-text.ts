/**
 * Quoting for the SQL the diff engine builds. Identifiers come from catalogs and mapping files,
 * values from rows; neither is ever pasted unquoted.
 */

export function ident(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/** A string literal (standard_conforming_strings on, which every supported server defaults to). */
export function literal(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

/** A text value re-read as `type`, or NULL. */
export function typedLiteral(value: string | null, type: string): string {
  return value === null ? 'NULL' : `${literal(value)}::${type}`;
}
