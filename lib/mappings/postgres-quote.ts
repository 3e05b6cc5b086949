/**
 * PostgreSQL quoting for the SQL fragments the mapping engine hands out (filterSql,
 * postgresSql). Independent of `standard_conforming_strings`: a literal with a backslash is
 * written as an E'' string.
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a PostgreSQL text literal cannot contain NUL');
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}
