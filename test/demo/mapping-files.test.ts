import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CATEGORY_BY_CODE, DUODUO_CATEGORIES, RETIRED_CATEGORY_CODES, mapCategoryCode } from '../../lib/demo/categories.ts';
import { buildForwardMapping, buildReverseMapping, FORWARD_MAPPING_FILE, mappingFileText, REVERSE_MAPPING_FILE } from '../../lib/demo/mapping-files.ts';
import { LEGACY_STATUS_SPELLINGS, normalizeLegacyStatus } from '../../lib/demo/order-status.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

type Rule = Record<string, unknown> & { 'object-locator': Record<string, string> };
/** The slice of sql.js used here (it ships no type declarations). */
interface SqliteDb {
  exec(sql: string, params?: Record<string, string | null>): { values: unknown[][] }[];
  close(): void;
}
const initSqlJs = createRequire(import.meta.url)('sql.js') as () => Promise<{ Database: new () => SqliteDb }>;
const root = new URL('../../', import.meta.url);
const forward = JSON.parse(readFileSync(new URL(FORWARD_MAPPING_FILE, root), 'utf8')) as { rules: Rule[] };
const reverse = JSON.parse(readFileSync(new URL(REVERSE_MAPPING_FILE, root), 'utf8')) as { rules: Rule[] };

const expressionOf = (table: string, column: string) =>
  String(forward.rules.find((r) => r['rule-action'] === 'add-column' && r['object-locator']['table-name'] === table && r.value === column)!.expression);

/** Evaluates a DMS expression in real SQLite with `$name` bound to the given values. */
function sqliteEval(db: SqliteDb, expression: string, values: Record<string, string | null>): unknown {
  const sql = `select ${expression.replace(/\$([a-z_]+)/g, (_, c: string) => `:${c}`)}`;
  const params = Object.fromEntries(Object.entries(values).map(([k, v]) => [`:${k}`, v]));
  return db.exec(sql, params)[0]!.values[0]![0];
}

describe('demo mapping files', () => {
  let db: SqliteDb;
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  beforeAll(async () => {
    const SQL = await initSqlJs();
    db = new SQL.Database();
    server = await startTestPostgres('maps');
  });
  afterAll(async () => {
    db?.close();
    await server?.dispose();
  });

  test('the committed files are exactly what the builders produce (regenerate with `npx tsx lib/demo/mapping-files.ts --write`)', () => {
    expect(readFileSync(new URL(FORWARD_MAPPING_FILE, root), 'utf8')).toBe(mappingFileText(buildForwardMapping()));
    expect(readFileSync(new URL(REVERSE_MAPPING_FILE, root), 'utf8')).toBe(mappingFileText(buildReverseMapping()));
  });

  test('use only the DMS features the local engine executes, with unique rule ids and names', () => {
    const allowed = new Set(['include', 'rename', 'remove-column', 'add-column', 'change-data-type']);
    for (const doc of [forward, reverse]) {
      expect(doc.rules.every((r) => allowed.has(String(r['rule-action'])))).toBe(true);
      expect(new Set(doc.rules.map((r) => r['rule-id'])).size).toBe(doc.rules.length);
      expect(new Set(doc.rules.map((r) => r['rule-name'])).size).toBe(doc.rules.length);
    }
    const filters = forward.rules.filter((r) => r.filters).map((r) => [r['object-locator']['table-name'], JSON.stringify(r.filters)]);
    expect(filters).toEqual([
      ['t_product', expect.stringContaining('"column-name":"discontinued"')],
      ['t_order', expect.stringContaining('"value":"INVALID"')],
    ]);
    const reverseTables = reverse.rules.filter((r) => r['rule-type'] === 'selection').map((r) => r['object-locator']['table-name']);
    // every table the forward mapping fills comes back (rollback loses no green write to any of them)
    expect(reverseTables).toEqual(['customers', 'products', 'inventory', 'orders', 'order_items']);
  });

  test('the status expression in SQLite normalizes every legacy spelling like the apps do', () => {
    const expr = expressionOf('t_order', 'status');
    for (const [canonical, spellings] of Object.entries(LEGACY_STATUS_SPELLINGS)) {
      for (const raw of spellings) {
        expect(sqliteEval(db, expr, { status: raw })).toBe(canonical);
        expect(normalizeLegacyStatus(raw)).toBe(canonical);
      }
    }
  });

  test('category, e-mail and phone expressions give values duoduo accepts', () => {
    for (const code of [...Object.keys(CATEGORY_BY_CODE), ...RETIRED_CATEGORY_CODES, 'ZZZ']) {
      expect(sqliteEval(db, expressionOf('t_product', 'category'), { cat_cd: code })).toBe(mapCategoryCode(code));
    }
    expect(sqliteEval(db, expressionOf('t_customer', 'email'), { email: '  Wang.Fang12@QQ.COM ' })).toBe('wang.fang12@qq.com');
    expect(sqliteEval(db, expressionOf('t_customer', 'email'), { email: null })).toBe(null);
    expect(sqliteEval(db, expressionOf('t_customer', 'phone'), { mobile: ' 138-0013 8000' })).toBe('13800138000');
  });

  test('the reverse category expression gives back a code the forward one maps to the same category', () => {
    const reverseCategory = String(reverse.rules.find((r) => r['rule-action'] === 'add-column' && r.value === 'cat_cd')!.expression);
    for (const category of DUODUO_CATEGORIES) {
      const code = sqliteEval(db, reverseCategory, { category }) as string;
      expect(code.length).toBeLessThanOrEqual(8); // cainiao cat_cd varchar(8)
      expect(sqliteEval(db, expressionOf('t_product', 'category'), { cat_cd: code })).toBe(category);
    }
  });

  test('every expression means the same in PostgreSQL (what validation computes on the source side)', async () => {
    const c = await connect(server.url);
    try {
      const cases: [string, string, Record<string, string | null>][] = [
        ['t_order', 'status', { status: ' Paid' }],
        ['t_order', 'status', { status: '已发货' }],
        ['t_order', 'status', { status: 'new ' }],
        ['t_product', 'category', { cat_cd: 'X09' }],
        ['t_product', 'category', { cat_cd: 'B01' }],
        ['t_customer', 'email', { email: ' Li.Na@163.COM' }],
        ['t_customer', 'phone', { mobile: '139 0000 0001' }],
      ];
      for (const [table, column, values] of cases) {
        const expr = expressionOf(table, column);
        const names = Object.keys(values);
        const pgSql = `select (${expr.replace(/\$([a-z_]+)/g, (_, n: string) => `$${names.indexOf(n) + 1}::text`)})::text as v`;
        const { rows } = await c.query(pgSql, names.map((n) => values[n]));
        const lite = sqliteEval(db, expr, values);
        expect(rows[0].v).toBe(lite);
      }
    } finally {
      await c.end();
    }
  });
});
