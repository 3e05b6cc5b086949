import { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import { CutoverError } from '../../errors.ts';
import { connectMysql, KIT_SESSION_TAG, mysqlRows, parseMysqlUrl, SESSION_SETUP } from './mysql-connection.ts';

/**
 * A consistent logical export of MySQL-family tables and its restore, row for row:
 *
 * - one session, `START TRANSACTION WITH CONSISTENT SNAPSHOT`: every table is read as of one
 *   instant. MariaDB reports the binlog position of exactly that instant in the status variables
 *   `binlog_snapshot_file` / `binlog_snapshot_position` (no lock at all); MySQL 8 has no such
 *   variables, so there the position is read under a brief `FLUSH TABLES WITH READ LOCK` taken
 *   before the snapshot starts and released right after (RELOAD privilege; not tested here);
 * - a table file is JSON lines, one row per line in primary-key order, each value exactly as the
 *   server prints it (DECIMAL digits, DATETIME(6) text in UTC, JSON text, ENUM labels) or, for
 *   binary columns (BLOB, BINARY, BIT, GEOMETRY), `{"x":"<hex>"}`. MySQL converts the printed
 *   text back into the same value on INSERT, so a restored table printed again gives the very
 *   same bytes — the restore is verified by that (count and SHA-256 of the lines);
 * - the schema is `SHOW CREATE TABLE`; generated columns are left out of the rows (the server
 *   computes them again).
 */

/** A table as the export reads it. */
export interface ExportTable {
  readonly database: string;
  readonly table: string;
  /** Stored (non-generated) columns, in table order. */
  readonly columns: readonly string[];
  /** Per column: binary (BLOB, BINARY, VARBINARY, BIT, spatial): exported as hex, never decoded as text. */
  readonly binary: readonly boolean[];
  readonly primaryKey: readonly string[];
  /** `SHOW CREATE TABLE`, without the database name. */
  readonly createTable: string;
}

export interface ExportPosition {
  /** `binlog.000003:1234` (binlog file and position), the point the snapshot sees everything before. */
  readonly position: string;
  readonly binlogFile: string | null;
  readonly binlogPosition: number | null;
  /** MariaDB `gtid_binlog_pos` / MySQL `gtid_executed` at the snapshot, when known. */
  readonly gtid: string | null;
  readonly serverVersion: string;
}

const q = (name: string) => '`' + name.replace(/`/g, '``') + '`';

/** A session for the export (or the read-back after a restore): values printed, never parsed. */
export async function openExportSession(url: string, side = 'source'): Promise<mysql.Connection> {
  const o = parseMysqlUrl(url);
  let c: mysql.Connection | undefined;
  try {
    // typeCast false: every value as the bytes the server printed, decoded per column below
    c = await mysql.createConnection({ ...o, charset: 'utf8mb4', typeCast: false, connectTimeout: 10_000 });
    for (const s of SESSION_SETUP) await c.query(s);
    await c.query(KIT_SESSION_TAG).catch(() => {});
    return c;
  } catch (err) {
    await c?.end().catch(() => {});
    // the same errors as any kit session
    await connectMysql(url, side).then((x) => x.end());
    throw err;
  }
}

/** Starts the consistent snapshot on `c` and returns its binlog position. */
export async function startConsistentSnapshot(c: mysql.Connection): Promise<ExportPosition> {
  const [v] = await mysqlRows<{ v: unknown }>(c, 'SELECT VERSION() AS v');
  const serverVersion = text(v?.v);
  const mariadb = /mariadb/i.test(serverVersion);
  await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  let locked = false;
  if (!mariadb) {
    try {
      await c.query('FLUSH TABLES WITH READ LOCK');
      locked = true;
    } catch (err) {
      throw new CutoverError('PRECONDITION_FAILED', `MySQL refused the brief FLUSH TABLES WITH READ LOCK that pins the snapshot's binlog position: ${(err as Error).message}`, {
        fix: "grant RELOAD to the kit's account (on RDS/Aurora, where FTWRL is not allowed, take the snapshot with platform \"aws\": an RDS snapshot)",
        cause: err,
      });
    }
  }
  let file: string | null = null;
  let pos: number | null = null;
  let gtid: string | null = null;
  try {
    await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    if (mariadb) {
      const rows = await mysqlRows<{ Variable_name: unknown; Value: unknown }>(c, "SHOW STATUS LIKE 'binlog_snapshot_%'");
      const value = (name: string) => text(rows.find((r) => text(r.Variable_name) === name)?.Value);
      file = value('Binlog_snapshot_file') || null;
      pos = value('Binlog_snapshot_position') ? Number(value('Binlog_snapshot_position')) : null;
    } else {
      const rows = await mysqlRows<{ File: unknown; Position: unknown }>(c, 'SHOW MASTER STATUS').catch(() => mysqlRows<{ File: unknown; Position: unknown }>(c, 'SHOW BINARY LOG STATUS'));
      file = rows[0] ? text(rows[0].File) : null;
      pos = rows[0] ? Number(text(rows[0].Position)) : null;
    }
    // the GTID of that same point: MariaDB converts the snapshot's file/position (gtid_binlog_pos
    // read now may already be past it); MySQL reads gtid_executed while the lock still holds
    const [g] = await mysqlRows<{ g: unknown }>(c, mariadb ? 'SELECT BINLOG_GTID_POS(?, ?) AS g' : 'SELECT @@global.gtid_executed AS g', mariadb ? [file, pos] : []).catch(() => []);
    gtid = g?.g ? text(g.g) : null;
  } finally {
    if (locked) await c.query('UNLOCK TABLES');
  }
  if (!file || pos === null) {
    throw new CutoverError('PRECONDITION_FAILED', 'the source reports no binary log position: is log_bin on?', {
      fix: 'start the server with log_bin (and binlog_format=ROW), as `cutover assess` asks; a snapshot without a position cannot be lined up with replication',
    });
  }
  return { position: `${file}:${pos}`, binlogFile: file, binlogPosition: pos, gtid, serverVersion };
}

/** The table's stored columns, key and `SHOW CREATE TABLE`. */
export async function describeExportTable(c: mysql.Connection, database: string, table: string): Promise<ExportTable> {
  const all = await mysqlRows<{ c: unknown; extra: unknown; d: unknown }>(
    c,
    'SELECT COLUMN_NAME AS c, EXTRA AS extra, DATA_TYPE AS d FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database, table],
  );
  const cols = all.map((x) => ({ c: text(x.c), extra: text(x.extra), d: text(x.d).toLowerCase() })).filter((x) => !/generated/i.test(x.extra));
  const keys = await mysqlRows<{ c: string }>(
    c,
    "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
    [database, table],
  );
  const [create] = await mysqlRows<Record<string, string>>(c, `SHOW CREATE TABLE ${q(database)}.${q(table)}`);
  return {
    database,
    table,
    columns: cols.map((x) => x.c),
    binary: cols.map((x) => BINARY_TYPES.has(x.d)),
    primaryKey: keys.map((k) => text(k.c)),
    createTable: text(create?.['Create Table'] ?? ''),
  };
}

const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']);

/** A value of an export session (typeCast false: bytes) as text. */
function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? '');
}

/** One row (raw bytes per value, as the export session reads it) as its JSON line (see the module comment). */
export function encodeRow(values: readonly unknown[], binary: readonly boolean[]): string {
  return JSON.stringify(values.map((v, i) => (v === null || v === undefined ? null : binary[i] ? { x: Buffer.from(v as Buffer).toString('hex') } : text(v)))) + '\n';
}

function decodeRow(line: string): unknown[] {
  return (JSON.parse(line) as unknown[]).map((v) => (v !== null && typeof v === 'object' ? Buffer.from((v as { x: string }).x, 'hex') : v));
}

/**
 * The table's rows as JSON lines in key order, streamed (the driver reads one row at a time and
 * waits while the consumer does). Without a key, in the order of every column.
 */
export function exportRows(c: mysql.Connection, t: Pick<ExportTable, 'database' | 'table' | 'columns' | 'primaryKey' | 'binary'>): Readable {
  const order = (t.primaryKey.length ? t.primaryKey : t.columns).map(q).join(', ');
  const rows = (c as unknown as { connection: { query(o: { sql: string; rowsAsArray: boolean }): { stream(o: { highWaterMark: number }): Readable } } }).connection
    .query({ sql: `SELECT ${t.columns.map(q).join(', ')} FROM ${q(t.database)}.${q(t.table)} ORDER BY ${order}`, rowsAsArray: true })
    .stream({ highWaterMark: 256 });
  const out = new Readable({
    read() {
      rows.resume();
    },
  });
  // rows go out in chunks of ~64 KB: one tiny chunk per row costs every stage downstream a call
  // (gzip one thread-pool round trip each) and made the export 8 times slower
  let pending = '';
  rows.on('data', (row: unknown[]) => {
    pending += encodeRow(row, t.binary);
    if (pending.length < CHUNK_CHARS) return;
    const full = out.push(pending);
    pending = '';
    if (!full) rows.pause();
  });
  rows.on('end', () => {
    if (pending) out.push(pending);
    out.push(null);
  });
  rows.on('error', (err: Error) => out.destroy(err));
  return out;
}

/** The lines of a stream of UTF-8 text (a stream buffers while the consumer awaits; readline's iterator, created after an await, lost them). */
async function* linesOf(stream: Readable): AsyncGenerator<string> {
  let rest = '';
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of stream) {
    const text = rest + decoder.decode(chunk as Buffer, { stream: true });
    const parts = text.split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

const CHUNK_CHARS = 64 * 1024;
/** SQL text per INSERT of a restore (well below the default max_allowed_packet of 16 MB). */
const INSERT_CHARS = 1024 * 1024;

/** Names of the base tables in the session's database (a restore target must have none). */
export async function tablesIn(c: mysql.Connection, database: string): Promise<string[]> {
  const rows = await mysqlRows<{ t: unknown }>(c, 'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1 LIMIT 5', [database]);
  return rows.map((r) => text(r.t));
}

/** `DROP TABLE IF EXISTS` of `tables` in `database` (foreign keys between them do not matter). */
export async function dropTables(c: mysql.Connection, database: string, tables: readonly string[]): Promise<void> {
  if (!tables.length) return;
  await c.query('SET SESSION foreign_key_checks = 0');
  await c.query(`DROP TABLE IF EXISTS ${tables.map((t) => `${q(database)}.${q(t)}`).join(', ')}`);
}

/**
 * Creates `t` in `database` from its `SHOW CREATE TABLE` and inserts the JSON lines of `file`
 * as multi-row INSERTs of about 1 MB of SQL each (values as literals: strings escaped by the
 * driver, bytes as X'…'), in one transaction. Returns the rows inserted.
 */
export async function restoreTable(c: mysql.Connection, database: string, t: ExportTable, file: Readable): Promise<number> {
  await c.query(`USE ${q(database)}`);
  await c.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
  await c.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'");
  await c.query(t.createTable);
  const head = `INSERT INTO ${q(t.table)} (${t.columns.map(q).join(', ')}) VALUES `;
  const literal = (v: unknown) => (v === null ? 'NULL' : Buffer.isBuffer(v) ? `X'${v.toString('hex')}'` : mysql.escape(v as string));
  let values = '';
  let inBatch = 0;
  let rows = 0;
  await c.query('BEGIN');
  try {
    for await (const line of linesOf(file)) {
      if (!line) continue;
      values += `${inBatch ? ',' : ''}(${decodeRow(line).map(literal).join(',')})`;
      inBatch++;
      if (values.length >= INSERT_CHARS) {
        await c.query(head + values);
        rows += inBatch;
        values = '';
        inBatch = 0;
      }
    }
    if (inBatch) await c.query(head + values);
    rows += inBatch;
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return rows;
}
