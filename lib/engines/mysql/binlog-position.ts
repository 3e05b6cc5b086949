import type mysql from 'mysql2/promise';
import { CutoverError } from '../../errors.ts';
import { mysqlRows } from './mysql-connection.ts';

/**
 * A place in a MySQL/MariaDB binary log: file + byte offset, and the server's GTID state there
 * when it has one (MariaDB `gtid_binlog_pos`, MySQL `gtid_executed`).
 *
 * The kit's apply side keeps positions in PostgreSQL `pg_lsn` columns (`_cutover.apply_state`,
 * `load_state`, `dead_letter`), shared with the WAL path. A binlog position maps onto one
 * exactly and in order: the file's sequence number (`binlog.000042` → 42) is the high 32 bits, the
 * offset the low 32 bits (`2A/1F4`). Comparing two such values compares the positions; the file's
 * base name is constant for a server and kept beside it (`_cutover.binlog_state`).
 */
export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
  readonly gtid?: string | null;
}

/** `binlog.000042` → 42; a name without a numeric extension is refused (no order can be derived). */
export function binlogFileSequence(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m) throw new CutoverError('INTERNAL', `binary log file name without a sequence number: ${file}`, { received: file, allowed: 'name.NNNNNN' });
  const n = Number(m[1]);
  if (n > 0xffffffff) throw new CutoverError('INTERNAL', `binary log sequence beyond 2^32: ${file}`, { received: file });
  return n;
}

/** The `pg_lsn` form of a binlog position (see the module comment). */
export function binlogPositionToLsn(p: Pick<BinlogPosition, 'file' | 'position'>): string {
  if (!Number.isInteger(p.position) || p.position < 0 || p.position > 0xffffffff) {
    throw new CutoverError('INTERNAL', `binary log offset outside 0..2^32: ${p.file}:${p.position}`, { received: p.position });
  }
  return `${binlogFileSequence(p.file).toString(16).toUpperCase()}/${p.position.toString(16).toUpperCase()}`;
}

/** Back from the `pg_lsn` form, given a file name of the same server (its base name and width are kept). */
export function lsnToBinlogPosition(lsn: string, sampleFile: string): BinlogPosition {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn);
  if (!m) throw new CutoverError('INTERNAL', `not a binlog position in pg_lsn form: ${lsn}`, { received: lsn });
  const dot = sampleFile.lastIndexOf('.');
  const width = sampleFile.length - dot - 1;
  return { file: `${sampleFile.slice(0, dot)}.${String(parseInt(m[1]!, 16)).padStart(width, '0')}`, position: parseInt(m[2]!, 16) };
}

/** `binlog.000042:500`. */
export function formatBinlogPosition(p: Pick<BinlogPosition, 'file' | 'position'>): string {
  return `${p.file}:${p.position}`;
}

/** `binlog.000042:500` (what `formatBinlogPosition` and `replicate status` print), or a USAGE error. */
export function parseBinlogPosition(text: string): BinlogPosition {
  const m = /^(.+\.\d+):(\d+)$/.exec(text.trim());
  if (!m) {
    throw new CutoverError('USAGE', `not a binary log position: ${text}`, { received: text, allowed: 'FILE:OFFSET, e.g. binlog.000042:500 (SHOW MASTER STATUS)' });
  }
  return { file: m[1]!, position: Number(m[2]) };
}

export function compareBinlogPositions(a: Pick<BinlogPosition, 'file' | 'position'>, b: Pick<BinlogPosition, 'file' | 'position'>): number {
  const fa = binlogFileSequence(a.file);
  const fb = binlogFileSequence(b.file);
  return fa !== fb ? (fa < fb ? -1 : 1) : a.position < b.position ? -1 : a.position > b.position ? 1 : 0;
}

/**
 * The server's current end of the binary log (`SHOW MASTER STATUS`; MySQL 8.4 renamed it
 * `SHOW BINARY LOG STATUS`) and its GTID state. PRECONDITION_FAILED when binary logging is off.
 */
export async function currentBinlogPosition(c: mysql.Connection | mysql.Pool): Promise<BinlogPosition> {
  let rows: { File?: string; Position?: number | string }[];
  try {
    rows = await mysqlRows(c, 'SHOW MASTER STATUS');
  } catch {
    rows = await mysqlRows(c, 'SHOW BINARY LOG STATUS');
  }
  const r = rows[0];
  if (!r?.File) {
    throw new CutoverError('PRECONDITION_FAILED', 'binary logging is off on the source: there is no binlog to replicate from', {
      fix: 'start the server with log_bin (and binlog_format=ROW, binlog_row_image=FULL); on RDS/Aurora turn on automated backups and set binlog_format=ROW in the parameter group',
    });
  }
  return { file: String(r.File), position: Number(r.Position), gtid: await gtidState(c) };
}

/** MariaDB `@@global.gtid_binlog_pos`, MySQL `@@global.gtid_executed`, or null. */
export async function gtidState(c: mysql.Connection | mysql.Pool): Promise<string | null> {
  for (const v of ['@@global.gtid_binlog_pos', '@@global.gtid_executed']) {
    try {
      const [row] = await mysqlRows<{ g: string | null }>(c, `SELECT ${v} AS g`);
      if (row?.g) return String(row.g).replace(/\s+/g, '');
      return null;
    } catch {
      /* the other flavour's variable */
    }
  }
  return null;
}

/**
 * Bytes of binary log from `from` to `to` (`SHOW BINARY LOGS` sizes across files); null when a
 * file in between is not listed (purged) or the account may not list them.
 */
export async function binlogBytesBetween(c: mysql.Connection | mysql.Pool, from: BinlogPosition, to: BinlogPosition): Promise<number | null> {
  if (compareBinlogPositions(from, to) >= 0) return 0;
  if (from.file === to.file) return to.position - from.position;
  const logs = await mysqlRows<{ Log_name: string; File_size: number | string }>(c, 'SHOW BINARY LOGS').catch(() => null);
  if (!logs) return null;
  const sizes = new Map(logs.map((l) => [l.Log_name, Number(l.File_size)]));
  const a = binlogFileSequence(from.file);
  const b = binlogFileSequence(to.file);
  let bytes = 0;
  for (const [name, size] of sizes) {
    const seq = binlogFileSequence(name);
    if (seq === a) bytes += size - from.position;
    else if (seq > a && seq < b) bytes += size;
  }
  if (!sizes.has(from.file)) return null;
  return bytes + to.position;
}
