/**
 * Families of PostgreSQL types (as `format_type()` prints them) that decide how a value is
 * compared in a filter and how it is handed to SQLite in an expression.
 */
export type TypeFamily =
  | 'integer'
  | 'numeric'
  | 'float'
  | 'text'
  | 'bpchar'
  | 'boolean'
  | 'uuid'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'bytea'
  | 'json'
  | 'other';

export function typeFamily(formatType: string): TypeFamily {
  const t = formatType.trim().toLowerCase();
  if (t.endsWith('[]')) return 'other';
  if (t === 'smallint' || t === 'integer' || t === 'bigint' || t === 'int' || t === 'int2' || t === 'int4' || t === 'int8') return 'integer';
  if (t === 'numeric' || t.startsWith('numeric(') || t === 'decimal' || t.startsWith('decimal(')) return 'numeric';
  if (t === 'real' || t === 'double precision' || t === 'float4' || t === 'float8') return 'float';
  if (t === 'text' || t.startsWith('character varying') || t.startsWith('varchar') || t === 'name' || t === 'citext' || t === '"char"') return 'text';
  if (t === 'character' || t.startsWith('character(') || t === 'bpchar' || t.startsWith('char(')) return 'bpchar';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (t === 'uuid') return 'uuid';
  if (t === 'date') return 'date';
  if (t.startsWith('timestamp') && t.endsWith('with time zone') && !t.endsWith('without time zone')) return 'timestamptz';
  if (t === 'timestamptz') return 'timestamptz';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t === 'bytea') return 'bytea';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'other';
}
