import { CutoverError } from '../../errors.ts';

/**
 * A MySQL/MariaDB column value → the text PostgreSQL reads for the column DMS makes of it
 * (`postgresTypeOfMysql`), or null. One conversion for both the full load (mysql2 with
 * `dateStrings`, `bigNumberStrings`, `jsonStrings`, session time zone UTC) and the binlog
 * (zongji with the same options), so a row reads the same whichever way it travelled:
 * - `tinyint(1)`, `bool`, `bit(1)` → `t`/`f` (non-zero is true: `2` is a valid tinyint(1));
 * - DECIMAL as its exact digits (never a float); integers as digits;
 * - DATETIME/TIMESTAMP/DATE as written (TIMESTAMP in UTC), with every fractional digit; a zero
 *   date or a date with a zero month/day (`0000-00-00`, `2024-00-10`) → NULL, as DMS writes it;
 * - BINARY/VARBINARY/BLOB/BIT(n>1) → `\x` + hex (bytea);
 * - JSON as its text; ENUM/SET as their labels (an ENUM's invalid-value index 0 is `''`).
 * A value the decoder could not produce (undefined) is an error, never a silent NULL.
 */
export type PgTextConverter = (value: unknown) => string | null;

export function pgTextConverter(nativeType: string, column: string): PgTextConverter {
  const t = nativeType.toLowerCase().trim();
  const name = /^[a-z]+/.exec(t)?.[0] ?? t;
  const unsigned = /\bunsigned\b/.test(t);
  const missing = (value: unknown): never => {
    throw new CutoverError('INTERNAL', `the binlog decoder returned no value for column ${column} (${nativeType})`, {
      received: String(value),
      fix: 'report it with the column type: the kit never writes a value it could not decode',
    });
  };
  if ((name === 'tinyint' && /^tinyint\(1\)/.test(t) && !unsigned) || name === 'bool' || name === 'boolean' || (name === 'bit' && (t === 'bit' || t === 'bit(1)'))) {
    return (v) => {
      if (v === null) return null;
      if (v === undefined) return missing(v);
      if (Buffer.isBuffer(v)) return v.some((b) => b !== 0) ? 't' : 'f';
      return Number(v) !== 0 ? 't' : 'f';
    };
  }
  if (name === 'date' || name === 'datetime' || name === 'timestamp') {
    return (v) => {
      if (v === null) return null;
      if (v === undefined) return missing(v);
      if (v instanceof Date) {
        throw new CutoverError('INTERNAL', `column ${column} (${nativeType}) arrived as a JavaScript Date (millisecond precision)`, { fix: 'the MySQL session must use dateStrings' });
      }
      const s = String(v);
      // zero dates and zero month/day parts have no PostgreSQL form: DMS writes NULL
      if (/^0000-/.test(s) || /^\d{4}-00-/.test(s) || /^\d{4}-\d{2}-00/.test(s)) return null;
      return s;
    };
  }
  if (name === 'enum' || name === 'set') {
    return (v) => (v === null ? null : v === undefined ? (name === 'enum' ? '' : missing(v)) : String(v));
  }
  return (v) => {
    if (v === null) return null;
    if (v === undefined) return missing(v);
    if (typeof v === 'string') return v;
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return '\\x' + Buffer.from(v).toString('hex');
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    if (typeof v === 'boolean') return v ? 't' : 'f';
    if (v instanceof Date) {
      throw new CutoverError('INTERNAL', `column ${column} (${nativeType}) arrived as a JavaScript Date`, { fix: 'the MySQL session must use dateStrings' });
    }
    return JSON.stringify(v); // JSON decoded to a value (the decoder's jsonStrings off)
  };
}
