import { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import { CainiaoRows } from './cainiao-rows.ts';
import { CAINIAO_MYSQL_INDEX_DDL, createCainiaoMysqlSchema } from './cainiao-mysql-schema.ts';
import { copyTextChunks, type CopyValue } from './copy-rows.ts';
import {
  CUSTOMER_COLUMNS,
  INVENTORY_COLUMNS,
  ITEM_COLUMNS,
  ORDER_COLUMNS,
  PRODUCT_COLUMNS,
  resolveSizes,
  type CainiaoDataSummary,
  type CainiaoSeedOptions,
  type SeedProgress,
} from './generator.ts';
import { CAINIAO_TABLES } from './cainiao-schema.ts';
import { CutoverError } from '../errors.ts';

/** Column positions of the generated rows that a MySQL cainiao stores differently. */
const PRODUCT_DISCONTINUED = PRODUCT_COLUMNS.indexOf('discontinued');
const ORDER_STATUS = ORDER_COLUMNS.indexOf('status');

/** The generator's product row in MySQL form: the 'Y'/'N' flag as tinyint(1) 1/0. */
function mysqlProduct(row: CopyValue[]): CopyValue[] {
  row[PRODUCT_DISCONTINUED] = row[PRODUCT_DISCONTINUED] === 'Y' ? 1 : 0;
  return row;
}

/** The generator's order row in MySQL form: the status as its ENUM member (MySQL drops an ENUM value's trailing spaces). */
function mysqlOrder(row: CopyValue[]): CopyValue[] {
  row[ORDER_STATUS] = String(row[ORDER_STATUS]).trimEnd();
  return row;
}

function* mapRows(rows: Iterable<CopyValue[]>, f: (row: CopyValue[]) => CopyValue[]): Generator<CopyValue[]> {
  for (const row of rows) yield f(row);
}

/**
 * Seeds the cainiao tables into a MySQL-family database (the connection's current database) with
 * the same generator, seed and dirty-data rates as the PostgreSQL seeding (`seedCainiao`): the
 * same rows, in the types of lib/demo/cainiao-mysql-schema.ts. Each table is streamed with
 * `LOAD DATA LOCAL INFILE` from the generator (the COPY text format is also LOAD DATA's default
 * format), so memory does not grow with `--orders`; secondary indexes are built after the load.
 *
 * LOAD DATA LOCAL turns bad values into warnings instead of errors, so any warning fails the
 * seeding; a failed seeding drops the tables it created (DDL commits in MySQL: there is no one
 * transaction to roll back). The seeding is left out of the binary log when the account may
 * (`sql_log_bin = 0`): it predates the cutover, and the full load reads the tables themselves.
 */
export async function seedCainiaoMysql(
  c: mysql.Connection,
  options: CainiaoSeedOptions & { onProgress?: (p: SeedProgress) => void } = {},
): Promise<CainiaoDataSummary & { loadMs: number }> {
  const rows = new CainiaoRows(resolveSizes(options));
  const expected = rows.expectedRows();
  const totalRows = expected.customers + expected.products + expected.inventory + expected.orders + expected.items;
  const started = performance.now();
  let before = 0;
  const load = async (table: string, columns: readonly string[], source: Iterable<CopyValue[]>) => {
    let written = 0;
    const chunks = copyTextChunks(source, (n) => {
      written = n;
      options.onProgress?.({ table, rows: before + n, totalRows: Math.max(totalRows, before + n + 1) });
    });
    const [result] = (await c.query({
      sql: `LOAD DATA LOCAL INFILE 'cainiao-${table}' INTO TABLE ${table} CHARACTER SET utf8mb4 (${columns.join(', ')})`,
      infileStreamFactory: () => Readable.from(chunks, { objectMode: false }),
    })) as unknown as [mysql.ResultSetHeader];
    if (result.warningStatus > 0) {
      const [warnings] = (await c.query('SHOW WARNINGS LIMIT 5')) as unknown as [{ Level: string; Code: number; Message: string }[]];
      throw new CutoverError('INTERNAL', `loading ${table} into MySQL gave ${result.warningStatus} warning(s): ${warnings.map((w) => `${w.Code} ${w.Message}`).join('; ')}`, {
        fix: 'a generated value does not fit its MySQL column: compare lib/demo/cainiao-mysql-schema.ts with the generator',
      });
    }
    if (result.affectedRows !== written) {
      throw new CutoverError('INTERNAL', `loading ${table} into MySQL wrote ${result.affectedRows} rows of ${written} sent`, { fix: 'look for duplicate keys in the generated rows' });
    }
    before += written;
  };
  await c.query('SET SESSION sql_log_bin = 0').catch(() => {}); // without the privilege the seeding is logged too: slower, same rows
  await c.query('SET SESSION unique_checks = 0, foreign_key_checks = 0');
  let created = false;
  try {
    await createCainiaoMysqlSchema(c, { replace: options.replace, indexes: false });
    created = true;
    await load('t_customer', CUSTOMER_COLUMNS, rows.customers());
    await load('t_product', PRODUCT_COLUMNS, mapRows(rows.products(), mysqlProduct));
    await load('t_inventory', INVENTORY_COLUMNS, rows.inventory());
    await load('t_order', ORDER_COLUMNS, mapRows(rows.orders(), mysqlOrder));
    await load('t_order_item', ITEM_COLUMNS, rows.items());
    for (const ddl of CAINIAO_MYSQL_INDEX_DDL) await c.query(ddl);
    const summary = rows.summary();
    // the next ids follow every id used, deleted orders included (as the PostgreSQL sequences do)
    await c.query(`ALTER TABLE t_customer AUTO_INCREMENT = ${summary.counts.customers + 1}`);
    await c.query(`ALTER TABLE t_product AUTO_INCREMENT = ${summary.counts.products + 1}`);
    await c.query(`ALTER TABLE t_order AUTO_INCREMENT = ${Math.max(1, rows.maxOrderId) + 1}`);
    await c.query(`ALTER TABLE t_order_item AUTO_INCREMENT = ${Math.max(1, summary.counts.orderItems) + 1}`);
    await c.query(`ANALYZE TABLE ${CAINIAO_TABLES.join(', ')}`);
    return { ...summary, loadMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (created) await c.query(`DROP TABLE IF EXISTS ${CAINIAO_TABLES.join(', ')}`).catch(() => {});
    throw err;
  } finally {
    await c.query('SET SESSION unique_checks = 1, foreign_key_checks = 1').catch(() => {});
    await c.query('SET SESSION sql_log_bin = 1').catch(() => {});
  }
}
