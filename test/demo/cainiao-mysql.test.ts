import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CAINIAO_TABLES } from '../../lib/demo/cainiao-schema.ts';
import { CUSTOMER_COLUMNS, INVENTORY_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS, PRODUCT_COLUMNS, seedCainiao } from '../../lib/demo/generator.ts';
import { seedCainiaoMysql } from '../../lib/demo/seed-cainiao-mysql.ts';
import { CAINIAO_MYSQL_QUALITY_CHECKS, CAINIAO_QUALITY_CHECKS } from '../../lib/demo/quality-checks.ts';
import { runQualityChecks, runQualityChecksWith } from '../../lib/assess/quality-checks.ts';
import { mysqlRows } from '../../lib/engines/mysql/mysql-connection.ts';
import { connectMysql } from '../../lib/engines/mysql/mysql-connection.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';

const COLUMNS: Record<(typeof CAINIAO_TABLES)[number], readonly string[]> = {
  t_customer: CUSTOMER_COLUMNS,
  t_product: PRODUCT_COLUMNS,
  t_inventory: INVENTORY_COLUMNS,
  t_order: ORDER_COLUMNS,
  t_order_item: ITEM_COLUMNS,
};

/** Every row of a table as text (NULL as null), in key order, with the two documented type differences made equal. */
function canonical(table: string, columns: readonly string[], rows: Record<string, unknown>[]): (string | null)[][] {
  return rows.map((r) =>
    columns.map((c) => {
      const v = r[c] === null || r[c] === undefined ? null : String(r[c]);
      if (table === 't_product' && c === 'discontinued') return v === 'Y' || v === '1' ? 'yes' : 'no'; // 'Y'/'N' on PostgreSQL, tinyint(1) on MySQL
      if (table === 't_order' && c === 'status') return v!.trimEnd(); // MySQL drops an ENUM value's trailing spaces
      return v;
    }),
  );
}

describe.skipIf(mariadbMissing)(`cainiao on MariaDB ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let pgServer: Awaited<ReturnType<typeof startTestPostgres>>;
  beforeAll(async () => {
    [maria, pgServer] = await Promise.all([startTestMariadb({ database: 'cainiao' }), startTestPostgres('cainiao')]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([maria?.dispose(), pgServer?.dispose()]);
  });

  test('the same seed gives the same rows as the PostgreSQL cainiao, in MySQL types (INT AUTO_INCREMENT, DECIMAL, DATETIME, tinyint(1), ENUM, utf8mb4)', async () => {
    const options = { seed: 11, orders: 600, replace: true };
    const pgc = await connect(pgServer.url);
    const my = await connectMysql(maria.url);
    try {
      const progress: number[] = [];
      const [a, b] = await Promise.all([seedCainiao(pgc, options), seedCainiaoMysql(my, { ...options, onProgress: (p) => progress.push(p.rows) })]);
      expect({ ...b, loadMs: 0 }).toEqual({ ...a, loadMs: 0 });
      expect(progress.at(-1)).toBe(a.counts.customers + a.counts.products + a.counts.inventory + a.counts.orders + a.counts.orderItems);

      for (const table of CAINIAO_TABLES) {
        const columns = COLUMNS[table];
        const key = columns[0]!;
        const pgRows = (await pgc.query(`select ${columns.map((c) => `${c}::text as ${c}`).join(', ')} from ${table} order by ${key}`)).rows;
        const [myRows] = (await my.query(`SELECT ${columns.map((c) => `CAST(${c} AS CHAR) AS ${c}`).join(', ')} FROM ${table} ORDER BY ${key}`)) as unknown as [Record<string, unknown>[]];
        expect(myRows.length, table).toBeGreaterThan(0);
        expect(canonical(table, columns, myRows), table).toEqual(canonical(table, columns, pgRows));
      }

      // the types a MySQL legacy OMS has
      const [types] = (await my.query(
        `SELECT table_name AS t, column_name AS c, column_type AS type, extra FROM information_schema.columns
          WHERE table_schema = DATABASE() AND (table_name, column_name) IN (('t_order','order_id'),('t_order','total_amt'),('t_order','created_at'),('t_product','discontinued'),('t_order','status'),('t_customer','cust_nm'))`,
      )) as unknown as [{ t: string; c: string; type: string; extra: string }[]];
      const byName = Object.fromEntries(types.map((r) => [`${r.t}.${r.c}`, r]));
      expect(byName['t_order.order_id']).toMatchObject({ type: 'int(11)', extra: 'auto_increment' });
      expect(byName['t_order.total_amt']!.type).toBe('decimal(12,2)');
      expect(byName['t_order.created_at']!.type).toBe('datetime');
      expect(byName['t_product.discontinued']!.type).toBe('tinyint(1)');
      expect(byName['t_order.status']!.type).toMatch(/^enum\('CREATED','PAID',/);
      const [[charset]] = (await my.query(`SELECT character_set_name AS cs FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 't_customer' AND column_name = 'cust_nm'`)) as unknown as [{ cs: string }[]];
      expect(charset!.cs).toBe('utf8mb4');

      // the next id follows every id used, deleted orders included
      const [[auto]] = (await my.query(`SELECT auto_increment AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 't_order'`)) as unknown as [{ n: string | number }[]];
      const { rows: [seq] } = await pgc.query(`select last_value::int as n from t_order_order_id_seq`);
      expect(Number(auto!.n)).toBe(seq.n + 1);
    } finally {
      await pgc.end();
      await my.end();
    }
  }, 120_000);

  test('the MySQL quality checks find what the PostgreSQL ones find on the same seed (counts, as many sample keys), every one non-zero', async () => {
    const pgc = await connect(pgServer.url);
    const my = await connectMysql(maria.url);
    try {
      // MySQL ignores a derived table's ORDER BY, so its samples are some of the rows found, not the first ones
      const keysOf = (f: { sampleKeys: readonly Record<string, unknown>[] }) => f.sampleKeys.length;
      const onPg = (await runQualityChecks(pgc, CAINIAO_QUALITY_CHECKS)).map((f) => [f.id, f.count, keysOf(f), f.message]);
      const onMy = (await runQualityChecksWith((sql) => mysqlRows(my, sql), CAINIAO_MYSQL_QUALITY_CHECKS)).map((f) => [f.id, f.count, keysOf(f), f.message]);
      expect(onMy).toEqual(onPg);
      expect(onMy.filter(([, n]) => n === 0)).toEqual([]);
      expect(CAINIAO_MYSQL_QUALITY_CHECKS.every((c) => c.table!.startsWith('cainiao.'))).toBe(true);
    } finally {
      await pgc.end();
      await my.end();
    }
  });

  test('refuses to seed over existing tables, and a failed seeding leaves no tables behind', async () => {
    const my = await connectMysql(maria.url);
    try {
      await expect(seedCainiaoMysql(my, { orders: 50 })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
      await my.query('DROP TABLE t_order_item, t_order, t_inventory, t_product, t_customer');
      // a server that refuses LOAD DATA LOCAL fails the seeding, and nothing is left half-filled
      await my.query('SET GLOBAL local_infile = 0');
      try {
        await expect(seedCainiaoMysql(my, { orders: 50 })).rejects.toThrow();
      } finally {
        await my.query('SET GLOBAL local_infile = 1');
      }
      const [left] = (await my.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`)) as unknown as [unknown[]];
      expect(left).toEqual([]);
    } finally {
      await my.end();
    }
  }, 60_000);
});
