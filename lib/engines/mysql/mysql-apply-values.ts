import type mysql from 'mysql2/promise';
import { mysqlRows } from './mysql-connection.ts';

/** A column of a MySQL-family table as the apply path needs it. */
export interface MysqlTargetColumn {
  readonly name: string;
  /** `DATA_TYPE`, lower case: `tinyint`, `decimal`, `datetime`, `enum`, `json` (MariaDB: `longtext` + a json_valid check). */
  readonly dataType: string;
  /** `COLUMN_TYPE`, e.g. `tinyint(1)`, `enum('new','paid')`. */
  readonly columnType: string;
  /** ENUM / SET labels, in definition order. */
  readonly labels?: readonly string[];
}

/** Why a value cannot be written into blue without changing it: the change goes to a dead letter with this reason. */
export class ValueRejected extends Error {}

/** Columns of `db.table` by name (empty map: no such table). */
export async function readMysqlTargetColumns(c: mysql.Connection, database: string, table: string): Promise<Map<string, MysqlTargetColumn>> {
  const rows = await mysqlRows<{ c: string; d: string; t: string }>(
    c,
    'SELECT COLUMN_NAME AS c, DATA_TYPE AS d, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database, table],
  );
  const out = new Map<string, MysqlTargetColumn>();
  for (const r of rows) {
    const dataType = r.d.toLowerCase();
    const labels = dataType === 'enum' || dataType === 'set' ? enumLabels(r.t) : undefined;
    out.set(r.c, { name: r.c, dataType, columnType: r.t.toLowerCase(), ...(labels ? { labels } : {}) });
  }
  return out;
}

/** `enum('a','it''s')` -> ['a', "it's"]. */
export function enumLabels(columnType: string): string[] {
  const body = columnType.slice(columnType.indexOf('(') + 1, columnType.lastIndexOf(')'));
  return [...body.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'").replace(/\\\\/g, '\\'));
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'bit', 'year']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
/** `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`, as PostgreSQL prints a timestamptz (DateStyle ISO). */
const TIMESTAMPTZ = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d{1,6})?([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/;

/**
 * A value of green (PostgreSQL text output, as pgoutput and the mapping give it; an expression
 * may give a number) in the form blue's column takes without changing it — MySQL converts a
 * quoted string into DECIMAL, DATETIME or JSON exactly:
 * - boolean `t`/`f` -> 1/0 (`tinyint(1)`, `bit(1)`);
 * - numeric -> the same digits as a string (DECIMAL parses it exactly; `NaN` is refused);
 * - timestamptz -> `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, the zone the kit's sessions use for
 *   TIMESTAMP and the convention DATETIME follows across the kit (forward mapping, validation);
 * - bytea `\x…` -> the bytes; jsonb -> its text (a JSON column validates it);
 * - text -> an ENUM/SET column only when it is one of the labels exactly (MySQL would store the
 *   label in its own case, or refuse).
 * Anything that cannot be stored as it is (infinity, BC dates, a year outside DATETIME's range, a
 * float NaN, an unknown ENUM value) throws ValueRejected with the reason.
 */
export function toMysqlValue(value: unknown, pgType: string, column: MysqlTargetColumn): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'bigint') {
    checkLabels(String(value), column);
    return value;
  }
  if (Buffer.isBuffer(value)) return value;
  const text = String(value);
  const type = pgType.toLowerCase();
  if (type === 'boolean') {
    if (text === 't' || text === 'true') return 1;
    if (text === 'f' || text === 'false') return 0;
    throw new ValueRejected(`boolean value ${JSON.stringify(text)} is neither t nor f`);
  }
  if (type === 'bytea') {
    if (!text.startsWith('\\x')) throw new ValueRejected('bytea value is not in hex output format (set bytea_output = hex on green)');
    return Buffer.from(text.slice(2), 'hex');
  }
  if (type === 'timestamp with time zone' || type.startsWith('timestamp(') && type.endsWith('with time zone')) return datetimeFor(utcOf(text), column);
  if (type.startsWith('timestamp') || type === 'date') return datetimeFor(checkFinite(text), column);
  if (type.startsWith('numeric') || type === 'real' || type === 'double precision') {
    if (/^(NaN|-?Infinity)$/i.test(text)) throw new ValueRejected(`${pgType} value ${text} has no MySQL equivalent`);
    return text;
  }
  if (BINARY_TYPES.has(column.dataType)) return Buffer.from(text, 'utf8');
  if (INTEGER_TYPES.has(column.dataType) && (text === 't' || text === 'f')) return text === 't' ? 1 : 0;
  checkLabels(text, column);
  return text;
}

function checkLabels(text: string, column: MysqlTargetColumn): null {
  if (!column.labels) return null;
  const values = column.dataType === 'set' ? (text === '' ? [] : text.split(',')) : [text];
  const unknown = values.filter((v) => !column.labels!.includes(v));
  if (unknown.length) {
    throw new ValueRejected(`${JSON.stringify(unknown.join(','))} is not a value of ${column.name} ${column.columnType} (labels are compared exactly, case included)`);
  }
  return null;
}

function checkFinite(text: string): string {
  if (/infinity/i.test(text)) throw new ValueRejected(`${text} cannot be stored in MySQL`);
  if (/ BC$/.test(text)) throw new ValueRejected(`${text}: MySQL has no dates before year 1`);
  return text;
}

/** A timestamptz as UTC `YYYY-MM-DD HH:MM:SS[.ffffff]`, fractions kept digit for digit. */
function utcOf(text: string): string {
  checkFinite(text);
  const m = TIMESTAMPTZ.exec(text);
  if (!m) throw new ValueRejected(`timestamptz value ${JSON.stringify(text)} is not in ISO form (set DateStyle = ISO on green)`);
  const [, y, mo, d, h, mi, s, frac = '', sign, oh, om = '0', os = '0'] = m;
  const offsetMs = (sign === '-' ? -1 : 1) * ((Number(oh) * 60 + Number(om)) * 60 + Number(os)) * 1000;
  const local = new Date(0);
  local.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // Date.UTC would read years 0–99 as 1900–1999
  local.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const utc = new Date(local.getTime() - offsetMs);
  const year = utc.getUTCFullYear();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(year, 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())} ${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}${frac}`;
}

/** DATETIME holds 1000-01-01 … 9999-12-31; TIMESTAMP 1970-01-01 00:00:01 … 2038-01-19 03:14:07 UTC. */
function datetimeFor(text: string, column: MysqlTargetColumn): string {
  const year = Number(text.slice(0, text.indexOf('-')));
  if ((column.dataType === 'datetime' || column.dataType === 'date') && (year < 1000 || year > 9999)) {
    throw new ValueRejected(`${text} is outside ${column.dataType.toUpperCase()}'s range (1000-01-01 … 9999-12-31)`);
  }
  if (column.dataType === 'timestamp' && (text < '1970-01-01 00:00:01' || text > '2038-01-19 03:14:07.999999')) {
    throw new ValueRejected(`${text} (UTC) is outside TIMESTAMP's range (1970-01-01 00:00:01 … 2038-01-19 03:14:07 UTC)`);
  }
  return text;
}
