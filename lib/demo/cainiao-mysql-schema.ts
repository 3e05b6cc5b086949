import type mysql from 'mysql2/promise';
import { CAINIAO_TABLES } from './cainiao-schema.ts';
import { INVALID_STATUS, CANONICAL_STATUSES, LEGACY_STATUS_SPELLINGS } from './order-status.ts';
import { CutoverError } from '../errors.ts';

/**
 * The legacy 菜鸟 (cainiao) order system as a MySQL-family OMS keeps it (MariaDB 10.11, MySQL 8):
 * the same tables, columns and rows as the PostgreSQL cainiao (lib/demo/cainiao-schema.ts), with
 * the types such a system has — `INT AUTO_INCREMENT` keys, `DECIMAL(12,2)` money, `DATETIME`
 * wall-clock times, a `tinyint(1)` flag (`discontinued`: 1/0 where PostgreSQL's cainiao says
 * 'Y'/'N'), utf8mb4 Chinese text and an `ENUM` status.
 *
 * The status ENUM lists every spelling the legacy clients wrote (lib/demo/order-status.ts), in a
 * binary collation so `created` and `CREATED` are different members. MySQL drops trailing spaces
 * from ENUM members, so `'new '` is stored as `'new'` (leading spaces stay: `' Paid'`); the
 * forward mapping trims either way, so duoduo receives the same rows from both legacies.
 */
export const CAINIAO_STATUS_ENUM: readonly string[] = [
  ...new Set([...CANONICAL_STATUSES, INVALID_STATUS, ...Object.values(LEGACY_STATUS_SPELLINGS).flat()].map((s) => s.trimEnd())),
];

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

export const CAINIAO_MYSQL_DDL: readonly string[] = [
  `CREATE TABLE t_customer (
    cust_id    INT NOT NULL AUTO_INCREMENT,
    cust_nm    VARCHAR(64) NOT NULL,
    mobile     VARCHAR(32),
    email      VARCHAR(128),
    addr       VARCHAR(256),
    gender     CHAR(1),
    remark     TEXT,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (cust_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE t_product (
    prod_id      INT NOT NULL AUTO_INCREMENT,
    prod_nm      VARCHAR(128) NOT NULL,
    cat_cd       VARCHAR(8) NOT NULL,
    price        DECIMAL(12,2) NOT NULL,
    discontinued TINYINT(1) NOT NULL DEFAULT 0,
    spec         TEXT,
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prod_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE t_inventory (
    prod_id  INT NOT NULL,
    qty      INT NOT NULL,
    wh_cd    VARCHAR(8) NOT NULL,
    upd_time DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prod_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE t_order (
    order_id   INT NOT NULL AUTO_INCREMENT,
    cust_id    INT NOT NULL,
    status     ENUM(${CAINIAO_STATUS_ENUM.map(quote).join(', ')}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    total_amt  DECIMAL(12,2) NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    remark     TEXT,
    op_user    VARCHAR(32) DEFAULT 'web',
    PRIMARY KEY (order_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE t_order_item (
    item_id    INT NOT NULL AUTO_INCREMENT,
    order_id   INT NOT NULL,
    prod_id    INT NOT NULL,
    qty        INT NOT NULL,
    unit_price DECIMAL(12,2) NOT NULL,
    PRIMARY KEY (item_id)
  ) ${TABLE_OPTIONS}`,
];

/** Secondary indexes, built after a bulk load (primary keys come with the tables: AUTO_INCREMENT needs one). */
export const CAINIAO_MYSQL_INDEX_DDL: readonly string[] = [
  'ALTER TABLE t_order ADD INDEX t_order_cust_idx (cust_id)',
  'ALTER TABLE t_order_item ADD INDEX t_order_item_order_idx (order_id)',
];

/** Creates the cainiao tables in the connection's current database; refuses if they exist (unless `replace`). */
export async function createCainiaoMysqlSchema(c: mysql.Connection, options: { replace?: boolean; /** @default true */ indexes?: boolean } = {}): Promise<void> {
  if (options.replace) await c.query(`DROP TABLE IF EXISTS ${CAINIAO_TABLES.join(', ')}`);
  const [rows] = (await c.query(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)',
    [[...CAINIAO_TABLES]],
  )) as unknown as [{ name: string }[]];
  if (rows.length > 0) {
    throw new CutoverError('PRECONDITION_FAILED', `the cainiao demo tables already exist: ${rows.map((r) => r.name).join(', ')}`, {
      received: rows.map((r) => r.name),
      allowed: 'an empty database',
      fix: 'seed into a fresh database, or pass { replace: true } to drop the demo tables first',
    });
  }
  for (const ddl of CAINIAO_MYSQL_DDL) await c.query(ddl);
  if (options.indexes !== false) for (const ddl of CAINIAO_MYSQL_INDEX_DDL) await c.query(ddl);
}
