import type mysql from 'mysql2/promise';
import { mysqlRows } from './mysql-connection.ts';

/**
 * The kit's bookkeeping on a MySQL-family side, in its own database `_cutover` (a MySQL schema
 * is a database; `_cutover` is in SYSTEM_DATABASES, so assess, validate and the catalog never see
 * it), keyed by slot name as on PostgreSQL (lib/replication/control-schema.ts):
 * - `apply_state`: the last source commit applied, written in the same transaction as the
 *   changes, so a killed worker resumes exactly once; `applied_lsn_num` is the position as a
 *   number (MySQL cannot compare `0/16B3748` strings) and never moves back;
 * - `dead_letter`: changes blue rejected, with the reason — never silently dropped.
 * The reverse account needs `ALL ON _cutover.*` (`cutover cancel` drops the database).
 */
export const MYSQL_KIT_DATABASE = '_cutover';

export async function ensureMysqlKitSchema(c: mysql.Connection): Promise<void> {
  await c.query('CREATE DATABASE IF NOT EXISTS `_cutover` CHARACTER SET utf8mb4');
  await c.query(`CREATE TABLE IF NOT EXISTS \`_cutover\`.apply_state (
      slot VARCHAR(128) NOT NULL PRIMARY KEY,
      direction VARCHAR(16) NOT NULL,
      applied_lsn VARCHAR(32) NOT NULL,
      applied_lsn_num DECIMAL(20,0) NOT NULL,
      source_commit_at DATETIME(6) NULL,
      applied_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB`);
  await c.query(`CREATE TABLE IF NOT EXISTS \`_cutover\`.dead_letter (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      slot VARCHAR(128) NOT NULL,
      direction VARCHAR(16) NOT NULL,
      source_table VARCHAR(512) NOT NULL,
      target_table VARCHAR(512) NOT NULL,
      source_key LONGTEXT NULL,
      \`change\` LONGTEXT NOT NULL,
      error TEXT NOT NULL,
      lsn VARCHAR(32) NULL,
      at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
    ) ENGINE=InnoDB`);
}

export interface MysqlAppliedPosition {
  readonly lsn: string;
  /** Source commit time of the newest transaction applied, ms since the epoch (null: none yet). */
  readonly sourceCommitAtMs: number | null;
}

export async function readMysqlApplied(c: mysql.Connection, slot: string): Promise<MysqlAppliedPosition | null> {
  const [row] = await mysqlRows<{ lsn: string; at: string | null }>(
    c,
    'SELECT applied_lsn AS lsn, source_commit_at AS at FROM `_cutover`.apply_state WHERE slot = ?',
    [slot],
  );
  if (!row) return null;
  return { lsn: row.lsn, sourceCommitAtMs: row.at ? Date.parse(`${row.at.replace(' ', 'T')}Z`) : null };
}

/** The upsert of a stream's applied position (never moves it back), as statement and parameters. */
export function mysqlAppliedStatement(slot: string, direction: string, lsn: string, lsnNumber: bigint, sourceCommitAt: Date | null): [string, unknown[]] {
  return [
    `INSERT INTO \`_cutover\`.apply_state (slot, direction, applied_lsn, applied_lsn_num, source_commit_at, applied_at)
     VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))
     ON DUPLICATE KEY UPDATE
       applied_lsn = IF(VALUES(applied_lsn_num) > applied_lsn_num, VALUES(applied_lsn), applied_lsn),
       source_commit_at = IF(VALUES(applied_lsn_num) >= applied_lsn_num, COALESCE(VALUES(source_commit_at), source_commit_at), source_commit_at),
       applied_lsn_num = GREATEST(applied_lsn_num, VALUES(applied_lsn_num)),
       applied_at = UTC_TIMESTAMP(6)`,
    [slot, direction, lsn, lsnNumber.toString(), sourceCommitAt ? utcDatetime(sourceCommitAt) : null],
  ];
}

/** Forgets a stream's apply position (a new slot means a new start). */
export async function resetMysqlStream(c: mysql.Connection, slot: string): Promise<void> {
  await c.query('DELETE FROM `_cutover`.apply_state WHERE slot = ?', [slot]);
}

export async function countMysqlDeadLetters(c: mysql.Connection, slot: string): Promise<number> {
  const [row] = await mysqlRows<{ n: number | string }>(c, 'SELECT COUNT(*) AS n FROM `_cutover`.dead_letter WHERE slot = ?', [slot]);
  return Number(row?.n ?? 0);
}

/** What the kit keeps in `_cutover` on this server, for `cancel`: null when there is no such database. */
export async function describeMysqlKitSchema(c: mysql.Connection): Promise<string | null> {
  const tables = await mysqlRows<{ t: string; n: number | string | null }>(
    c,
    `SELECT TABLE_NAME AS t, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = '_cutover' ORDER BY 1`,
  );
  const [db] = await mysqlRows<{ s: string }>(c, `SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '_cutover'`);
  if (!db) return null;
  if (!tables.length) return 'empty';
  const parts: string[] = [];
  for (const t of tables) {
    const [exact] = await mysqlRows<{ n: number | string }>(c, `SELECT COUNT(*) AS n FROM \`_cutover\`.\`${t.t.replace(/`/g, '``')}\``);
    parts.push(`${t.t} (${Number(exact?.n ?? 0)} rows)`);
  }
  return parts.join(', ');
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (the kit's sessions run with time_zone '+00:00'). */
export function utcDatetime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '000');
}
