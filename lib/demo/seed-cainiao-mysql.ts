import { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import { CAINIAO_MYSQL_INDEX_DDL, createCainiaoMysqlSchema } from './cainiao-mysql-schema.ts';
import { copyTextChunks, type CopyValue } from './copy-rows.ts';
import {
  cainiaoSeedPlan,
  ORDER_COLUMNS,
  PRODUCT_COLUMNS,
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

/** The tables whose generated rows a MySQL cainiao stores differently. */
const MYSQL_FORM: Partial<Record<string, (row: CopyValue[]) => CopyValue[]>> = { t_product: mysqlProduct, t_order: mysqlOrder };

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
  const plan = cainiaoSeedPlan(options);
  const started = performance.now();
  let before = 0;
  const load = async (table: string, columns: readonly string[], source: Iterable<CopyValue[]>) => {
    let written = 0;
    const chunks = copyTextChunks(source, (n) => {
      written = n;
      options.onProgress?.({ table, rows: before + n, totalRows: Math.max(plan.totalRows, before + n + 1) });
    });
    const [result] = (await c
      .query({
        sql: `LOAD DATA LOCAL INFILE 'cainiao-${table}' INTO TABLE ${table} CHARACTER SET utf8mb4 (${columns.join(', ')})`,
        infileStreamFactory: () => Readable.from(chunks, { objectMode: false }),
      })
      .catch((err: { errno?: number; message?: string }) => {
        // local_infile OFF (MySQL 8's default): MariaDB 10.11 4166 (older 1148), MySQL 8 3948 — a setting of the server, not a bug
        if (err.errno !== 4166 && err.errno !== 1148 && err.errno !== 3948) throw err;
        throw new CutoverError('NOT_SUPPORTED', `the server refuses LOAD DATA LOCAL, which seeds the demo tables: ${err.message}`, {
          fix: 'SET GLOBAL local_infile = ON on that server for the rehearsal (OFF again afterwards)',
          cause: err,
        });
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
    for (const t of plan.tables) await load(t.table, t.columns, MYSQL_FORM[t.table] ? mapRows(t.rows(), MYSQL_FORM[t.table]!) : t.rows());
    for (const ddl of CAINIAO_MYSQL_INDEX_DDL) await c.query(ddl);
    // the next ids follow every id used, deleted orders included (as the PostgreSQL sequences do)
    for (const [table, last] of Object.entries(plan.lastIds())) await c.query(`ALTER TABLE ${table} AUTO_INCREMENT = ${last + 1}`);
    await c.query(`ANALYZE TABLE ${CAINIAO_TABLES.join(', ')}`);
    return { ...plan.summary(), loadMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (created) await c.query(`DROP TABLE IF EXISTS ${CAINIAO_TABLES.join(', ')}`).catch(() => {});
    throw err;
  } finally {
    await c.query('SET SESSION unique_checks = 1, foreign_key_checks = 1').catch(() => {});
    await c.query('SET SESSION sql_log_bin = 1').catch(() => {});
  }
}
