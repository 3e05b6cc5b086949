import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRowTransformer, parseTableMappings, readCatalog, resolveTableMappings } from '../../lib/mappings/index.ts';
import type { MappedTable } from '../../lib/mappings/types.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

/**
 * Parity on a real PostgreSQL: `postgresSql` computes, inside the database, exactly what SQLite
 * computes in the row transformer; `filterSql` selects exactly the rows `matches` accepts — for
 * rows as node-postgres returns them and as text.
 */
let server: Awaited<ReturnType<typeof startTestPostgres>>;
let client: pg.Client;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connect(server.url);
  await client.query(`
    CREATE SCHEMA oms;
    CREATE SCHEMA _cutover;
    CREATE TABLE _cutover.journal (id int PRIMARY KEY);
    CREATE TABLE oms.customer (
      id bigint PRIMARY KEY,
      first_name text,
      last_name varchar(40),
      qty integer,
      price numeric(12,2),
      ratio double precision,
      flag boolean,
      code uuid,
      country char(4),
      placed_at timestamptz,
      "Mixed Case" text NOT NULL DEFAULT 'x'
    );
    CREATE TABLE oms.line (order_id bigint, line_no int, sku text, PRIMARY KEY (line_no, order_id));
    INSERT INTO oms.customer (id, first_name, last_name, qty, price, ratio, flag, code, country, placed_at) VALUES
      (1, 'Ada', 'Lovelace', 3, 10.50, 0.1, true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'GB', '2024-01-01 00:00:00+00'),
      (2, '建国', '王', 0, 0.00, -2.5, false, NULL, 'CN', '2023-12-31 23:59:59+00'),
      (3, NULL, 'Null-First', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, '  spaced  ', '', -7, -123.45, 1e300, true, 'B0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12', 'CN  ', '2024-06-30 12:00:00+08'),
      (9007199254740993, 'Émile', 'ÉCOLE', 2147483647, 9999999999.99, 3.0, false, NULL, 'FR', '2002-01-01 00:00:00+00'),
      (6, '张三丰', '张', 100, 100.00, 2.0, true, NULL, 'CN', '2024-01-01 08:00:00+08'),
      (7, 'o''brien\\x', 'back\\slash', 11, 5, 0.30000000000000004, NULL, NULL, 'IE', '2024-01-02 00:00:00+00');
    ANALYZE oms.customer;
  `);
});

afterAll(async () => {
  await client?.end();
  await server?.dispose();
});

const EXPRESSIONS: Record<string, string> = {
  full_name: "$first_name||'_'||$last_name",
  full_name_sp: "$first_name || ' ' || $last_name",
  upper_name: 'upper($first_name)',
  lower_last: 'lower($last_name)',
  trimmed: 'trim($first_name)',
  ltrimmed: "ltrim($first_name, ' A')",
  rtrimmed: 'rtrim($first_name)',
  sub: 'substr($first_name, 2, 2)',
  sub_tail: 'substr($last_name, 2)',
  replaced: "replace($last_name, '张', 'Zhang')",
  len: 'length($first_name)',
  len_qty: 'length($qty)',
  coalesced: "coalesce($first_name, $last_name, 'n/a')",
  ifnulled: 'ifnull($qty, -1)',
  size: "CASE WHEN $qty > 10 THEN 'big' WHEN $qty > 0 THEN 'small' ELSE 'none' END",
  simple_case: "CASE $last_name WHEN '王' THEN 1 WHEN 'Lovelace' THEN 2 ELSE 0 END",
  qty_math: '$qty * 2 + 1 - $id % 3',
  big_id: '$id + 1',
  qty_ratio: '$qty * 1.5',
  ratio_math: '$ratio * 2 - 0.5',
  half: '$ratio / 4',
  neg: '-$qty',
  rounded: 'round($qty)',
  absolute: 'abs($qty)',
  abs_ratio: 'abs($ratio)',
  id_text: "cast($id as text) || '#'",
  qty_int: 'cast($ratio as integer)',
  qty_real: 'cast($qty as real)',
  price_text: "$price || ''",
  is_big: '$qty >= 100',
  both: "$qty > 0 AND $first_name IS NOT NULL",
  either: "$qty > 50 OR $last_name = '王'",
  not_flag: 'NOT $flag',
  flag_text: "$flag || ''",
  code_text: "upper($code)",
  null_check: '$first_name IS NULL',
  text_cmp: "$last_name < 'M'",
  cn_cmp: "$first_name > '张'",
  concat_num: "$qty || '/' || $id",
};

/** Expressions whose value would differ between the engines (or cannot be known): not translated. */
const UNTRANSLATED: Record<string, string> = {
  int_div: '$qty / 2',
  round_real: 'round($ratio, 1)',
  real_text: "$ratio || ''",
  mixed_coalesce: "coalesce($first_name, $qty)",
  now: "datetime('now')",
  like: "$first_name LIKE 'A%'",
  text_math: "$first_name + 1",
  zero_div: '$ratio / 0',
  ts: "$placed_at || ''",
  text_int: 'cast($first_name as integer)',
  char_n: "$country || '|'",
};

function mapping(): MappedTable {
  const addColumn = (value: string, expression: string, i: number) => ({
    'rule-type': 'transformation',
    'rule-id': `x${i}`,
    'rule-name': value,
    'rule-action': 'add-column',
    'rule-target': 'column',
    'object-locator': { 'schema-name': 'oms', 'table-name': 'customer' },
    value,
    expression,
    'data-type': { type: 'string', length: 200 },
  });
  const all = { ...EXPRESSIONS, ...UNTRANSLATED };
  const doc = parseTableMappings({
    rules: [
      { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'oms', 'table-name': 'customer' }, 'rule-action': 'include' },
      ...Object.entries(all).map(([k, e], i) => addColumn(k, e, i)),
    ],
  });
  return resolveTableMappings(doc, catalogCache!).tables[0]!;
}

let catalogCache: Awaited<ReturnType<typeof readCatalog>> | undefined;

/** Same representation for a value from SQLite and from node-postgres. */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

describe('readCatalog', () => {
  test('reads columns with format_type, nullability, key order and the row estimate; skips _cutover', async () => {
    catalogCache = await readCatalog(client, []);
    expect(catalogCache.tables.map((t) => `${t.schema}.${t.table}`)).toEqual(['oms.customer', 'oms.line']);
    const customer = catalogCache.tables[0]!;
    expect(customer.columns.slice(0, 5)).toEqual([
      { name: 'id', type: 'bigint', nullable: false, ordinal: 1 },
      { name: 'first_name', type: 'text', nullable: true, ordinal: 2 },
      { name: 'last_name', type: 'character varying(40)', nullable: true, ordinal: 3 },
      { name: 'qty', type: 'integer', nullable: true, ordinal: 4 },
      { name: 'price', type: 'numeric(12,2)', nullable: true, ordinal: 5 },
    ]);
    expect(customer.columns.find((c) => c.name === 'placed_at')?.type).toBe('timestamp with time zone');
    expect(customer.primaryKey).toEqual(['id']);
    expect(customer.estimatedRows).toBe(7);
    expect(catalogCache.tables[1]!.primaryKey).toEqual(['line_no', 'order_id']);
    expect((await readCatalog(client, ['nope'])).tables).toEqual([]);
  });
});

describe('postgresSql parity with SQLite', () => {
  test('every translated expression gives the same value in PostgreSQL as in SQLite, for node-pg rows and text rows', async () => {
    catalogCache ??= await readCatalog(client, ['oms']);
    const t = mapping();
    const transformer = await createRowTransformer(t);
    const rows = (await client.query('SELECT * FROM oms.customer ORDER BY id')).rows;
    const textRows = (
      await client.query(
        `SELECT id::text, first_name, last_name, qty::text, price::text, ratio::text, flag::text, code::text, country::text, placed_at::text, "Mixed Case" FROM oms.customer ORDER BY id`,
      )
    ).rows;
    let compared = 0;
    for (const c of t.columns) {
      if (c.kind !== 'expression') continue;
      if (c.target in UNTRANSLATED) {
        expect(c.postgresSql, `${c.target}: ${c.expression}`).toBeNull();
        continue;
      }
      expect(c.postgresSql, `${c.target}: ${c.expression} should translate`).not.toBeNull();
      const pgValues = (
        await client.query(`SELECT ${c.postgresSql} AS v FROM oms.customer ORDER BY id`).catch((err: Error) => {
          throw new Error(`${c.target}: ${c.expression} -> ${c.postgresSql}: ${err.message}`);
        })
      ).rows.map((r) => norm(r.v));
      const fromRows = rows.map((r) => norm(transformer.transform(r)![c.target]));
      const fromText = textRows.map((r) => norm(transformer.transform(r)![c.target]));
      expect(fromRows, `${c.target}: ${c.expression}\n${c.postgresSql}`).toEqual(pgValues);
      expect(fromText, `${c.target} from text rows`).toEqual(pgValues);
      compared++;
    }
    expect(compared).toBe(Object.keys(EXPRESSIONS).length);
    transformer.close();
  });
});

describe('filterSql parity with matches', () => {
  const cases: [string, unknown[]][] = [
    ['qty', [{ 'filter-operator': 'ste', value: '10' }, { 'filter-operator': 'between', 'start-value': '50', 'end-value': '150' }]],
    ['id', [{ 'filter-operator': 'gte', value: '5' }]],
    ['price', [{ 'filter-operator': 'between', 'start-value': '0', 'end-value': '10.5' }]],
    ['first_name', [{ 'filter-operator': 'gte', value: '张' }]],
    ['last_name', [{ 'filter-operator': 'noteq', value: '王' }]],
    ['country', [{ 'filter-operator': 'eq', value: 'CN' }]],
    ['placed_at', [{ 'filter-operator': 'gte', value: '2024-01-01 00:00:00' }]],
    ['placed_at', [{ 'filter-operator': 'ste', value: '2024-01-01 00:00:00+08' }]],
    ['flag', [{ 'filter-operator': 'eq', value: 'true' }]],
    ['code', [{ 'filter-operator': 'eq', value: 'B0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12' }]],
    ['ratio', [{ 'filter-operator': 'notbetween', 'start-value': '0', 'end-value': '2.5' }]],
    ['first_name', [{ 'filter-operator': 'null' }]],
    ['qty', [{ 'filter-operator': 'notnull' }]],
  ];
  test.each(cases)('%s %j', async (columnName, conditions) => {
    catalogCache ??= await readCatalog(client, ['oms']);
    const doc = parseTableMappings({
      rules: [
        {
          'rule-type': 'selection',
          'rule-id': '1',
          'rule-name': '1',
          'object-locator': { 'schema-name': 'oms', 'table-name': 'customer' },
          'rule-action': 'include',
          filters: [{ 'filter-type': 'source', 'column-name': columnName, 'filter-conditions': conditions }],
        },
      ],
    });
    const t = resolveTableMappings(doc, catalogCache).tables[0]!;
    const tr = await createRowTransformer(t);
    const inDb = (await client.query(`SELECT id::text FROM oms.customer WHERE ${t.filterSql} ORDER BY id`)).rows.map((r) => r.id);
    const rows = (await client.query('SELECT * FROM oms.customer ORDER BY id')).rows;
    const textRows = (await client.query(`SELECT id::text, qty::text, price::text, ratio::text, flag::text, code::text, country::text, placed_at::text, first_name, last_name FROM oms.customer ORDER BY id`)).rows;
    expect(rows.filter((r) => tr.matches(r)).map((r) => String(r.id))).toEqual(inDb);
    expect(textRows.filter((r) => tr.matches(r)).map((r) => String(r.id))).toEqual(inDb);
    tr.close();
  });
});
