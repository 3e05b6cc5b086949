import { typeFamily, type TypeFamily } from './column-types.ts';
import type { SqliteBindValue, SqliteValue } from './sqlite.ts';

/**
 * Converts a source value — as node-postgres returns it (number, string, Date, Buffer, object)
 * or as text (pgoutput, COPY) — into the value bound to a SQLite `$column` parameter. Both
 * shapes of one value bind the same way, so full load and CDC compute the same expression.
 *
 *   integer types -> INTEGER (bound as digits text and CAST in the SQL: sql.js would bind a
 *                    JavaScript number beyond 32 bits as REAL)
 *   real/double   -> REAL;          numeric -> TEXT (exact digits)
 *   boolean       -> INTEGER 1/0;   bytea -> BLOB
 *   date          -> 'YYYY-MM-DD';  timestamp -> 'YYYY-MM-DDTHH:MM:SS.sss' (wall clock)
 *   timestamptz   -> ISO 8601 UTC 'YYYY-MM-DDTHH:MM:SS.sssZ'
 *   json/jsonb and other objects -> JSON text;  everything else -> its text
 */
export function toSqliteValue(value: unknown, pgType: string): SqliteBindValue {
  return toSqliteValueOf(value, typeFamily(pgType));
}

/** As toSqliteValue, with the type family computed once by the caller (hot path). */
export function toSqliteValueOf(value: unknown, family: TypeFamily): SqliteBindValue {
  if (value === null || value === undefined) return null;
  switch (family) {
    case 'integer':
      return integerText(value);
    case 'float':
      return typeof value === 'number' ? value : floatOf(String(value));
    case 'numeric':
      return typeof value === 'number' ? String(value) : String(value).trim();
    case 'boolean':
      return booleanOf(value);
    case 'bytea':
      return bytesOf(value);
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return timeText(value, family);
    default:
      return generic(value);
  }
}

/** sql.js results back to JavaScript: blobs as Buffer, BigInt as number when exact, else text. */
export function fromSqliteValue(v: SqliteValue | bigint): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function integerText(value: unknown): SqliteBindValue {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value;
  if (typeof value === 'bigint') return value.toString();
  const s = String(value).trim();
  return /^[+-]?\d+$/.test(s) ? s : s;
}

function floatOf(s: string): number | null {
  const t = s.trim();
  if (t === 'NaN') return null; // SQLite has no NaN; it stores NULL for one
  if (t === 'Infinity') return Infinity;
  if (t === '-Infinity') return -Infinity;
  return Number(t);
}

function booleanOf(v: unknown): number | string {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const s = String(v).trim().toLowerCase();
  if (s === 't' || s === 'true') return 1;
  if (s === 'f' || s === 'false') return 0;
  return s;
}

function bytesOf(v: unknown): SqliteBindValue {
  if (v instanceof Uint8Array) return v;
  const s = String(v);
  if (s.startsWith('\\x')) return Uint8Array.from(Buffer.from(s.slice(2), 'hex'));
  return Uint8Array.from(Buffer.from(s, 'utf8'));
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function timeText(v: unknown, family: 'date' | 'timestamp' | 'timestamptz'): string {
  if (v instanceof Date) {
    if (family === 'timestamptz') return v.toISOString();
    const date = `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
    if (family === 'date') return date;
    return `${date}T${pad(v.getHours())}:${pad(v.getMinutes())}:${pad(v.getSeconds())}.${pad(v.getMilliseconds(), 3)}`;
  }
  const s = String(v).trim();
  if (family === 'date') return s;
  const m = /^(\d{4,}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(s);
  if (!m) return s;
  const ms = (m[3] ?? '').slice(0, 3).padEnd(3, '0');
  if (family === 'timestamp') return `${m[1]}T${m[2]}.${ms}`;
  const d = new Date(`${m[1]}T${m[2]}.${ms}${normalizeOffset(m[4])}`);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

function normalizeOffset(off: string | undefined): string {
  if (!off || off.toUpperCase() === 'Z') return 'Z';
  const digits = off.slice(1).replace(':', '');
  return `${off[0]}${digits.slice(0, 2)}:${(digits.slice(2, 4) || '00')}`;
}

function generic(v: unknown): SqliteBindValue {
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array) return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

export type { TypeFamily };
