import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import type { TestMariadb } from '../_helpers/mariadb.ts';

/**
 * A legacy shop on MariaDB (database `legacy_shop`: capitals, Chinese text, tinyint(1), DECIMAL,
 * FLOAT/DOUBLE, DATETIME(6)/TIMESTAMP(6), zero dates, BLOB, JSON, ENUM, a composite text key) and
 * its PostgreSQL target (schema `duoduo`), each loaded INDEPENDENTLY from the same generated rows,
 * the target through the DMS mapping's semantics written out by hand here: table and column
 * renames, a filter (order lines with qty >= 1), an add-column expression, zero dates as NULL.
 */

export const FORWARD_MAPPING = {
  rules: [
    { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'customers', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE' }, 'rule-action': 'include' },
    {
      'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'lines', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'order_line' }, 'rule-action': 'include',
      filters: [{ 'filter-type': 'source', 'column-name': 'qty', 'filter-conditions': [{ 'filter-operator': 'gte', value: '1' }] }],
    },
    { 'rule-type': 'selection', 'rule-id': '3', 'rule-name': 'archive', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE_ALT' }, 'rule-action': 'include' },
    { 'rule-type': 'transformation', 'rule-id': '16', 'rule-name': 'archive', 'rule-target': 'table', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE_ALT' }, 'rule-action': 'rename', value: 'customers_archive' },
    { 'rule-type': 'transformation', 'rule-id': '10', 'rule-name': 'schema', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'legacy_shop' }, 'rule-action': 'rename', value: 'duoduo' },
    { 'rule-type': 'transformation', 'rule-id': '11', 'rule-name': 'customers', 'rule-target': 'table', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE' }, 'rule-action': 'rename', value: 'customers' },
    { 'rule-type': 'transformation', 'rule-id': '12', 'rule-name': 'id', 'rule-target': 'column', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE', 'column-name': 'kunde_id' }, 'rule-action': 'rename', value: 'id' },
    { 'rule-type': 'transformation', 'rule-id': '13', 'rule-name': 'name', 'rule-target': 'column', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE', 'column-name': 'Name' }, 'rule-action': 'rename', value: 'full_name' },
    { 'rule-type': 'transformation', 'rule-id': '14', 'rule-name': 'lines', 'rule-target': 'table', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'order_line' }, 'rule-action': 'rename', value: 'order_lines' },
    {
      'rule-type': 'transformation', 'rule-id': '15', 'rule-name': 'origin', 'rule-target': 'column', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'KUNDE' },
      'rule-action': 'add-column', value: 'origin', expression: "'cainiao-' || $kunde_id", 'data-type': { type: 'string', length: 40 },
    },
  ],
};

export interface Customer {
  id: number;
  name: string;
  email: string | null;
  active: boolean;
  balance: string;
  score: number;
  ratio: number;
  created: string; // 'YYYY-MM-DD HH:MM:SS.ffffff' UTC
  touched: string | null;
  birthday: string; // may be a zero date
  avatar: Buffer | null;
  prefs: Record<string, unknown> | null;
  status: 'new' | 'vip';
  note: string;
}

export interface OrderLine {
  orderNo: string;
  line: number;
  qty: number;
  price: string;
}

const SURNAMES = ['张', '王', '李', '赵', '刘', '陈'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '强', '磊'];

export function generate(customers: number, orders: number): { customers: Customer[]; lines: OrderLine[] } {
  const cs: Customer[] = [];
  for (let i = 1; i <= customers; i++) {
    const zero = i % 17 === 0;
    cs.push({
      id: i * 3,
      name: `${SURNAMES[i % SURNAMES.length]}${GIVEN[i % GIVEN.length]}${i % 5 === 0 ? ' Jr' : ''}`,
      email: i % 11 === 0 ? null : `user${i}@example.cn`,
      active: i % 3 !== 0,
      balance: `${(i * 137) % 100000}.${String(i % 100).padStart(2, '0')}`,
      score: i / 7,
      ratio: Math.fround(i / 9),
      created: `2024-0${1 + (i % 9)}-1${i % 10} 0${i % 10}:1${i % 6}:2${i % 10}.${String((i * 7919) % 1_000_000).padStart(6, '0')}`,
      touched: i % 13 === 0 ? null : `2025-03-0${1 + (i % 9)} 12:00:00.${String(i).padStart(6, '0')}`,
      birthday: zero ? '0000-00-00' : `19${50 + (i % 50)}-0${1 + (i % 9)}-2${i % 9}`,
      avatar: i % 4 === 0 ? null : Buffer.from([i % 256, 0, 255, (i * 3) % 256]),
      prefs: i % 6 === 0 ? null : { theme: i % 2 ? 'dark' : 'light', lang: 'zh', n: i },
      status: i % 7 === 0 ? 'vip' : 'new',
      note: i % 9 === 0 ? `备注 ${i}` : `note ${i}`,
    });
  }
  const lines: OrderLine[] = [];
  for (let o = 1; o <= orders; o++) {
    // hyphens and case: utf8mb4 collations and PostgreSQL's C order disagree on these
    const orderNo = `${o % 2 ? 'A' : 'b'}-${String(o).padStart(4, '0')}${o % 5 === 0 ? '-x' : ''}`;
    for (let l = 1; l <= 1 + (o % 3); l++) lines.push({ orderNo, line: l, qty: (o + l) % 6, price: `${o}.${String((l * 37) % 1000).padStart(3, '0')}` });
  }
  return { customers: cs, lines };
}

export async function loadMariadb(db: TestMariadb, data: { customers: Customer[]; lines: OrderLine[] }): Promise<void> {
  await db.createDatabase('legacy_shop');
  const c = await db.connect('legacy_shop');
  try {
    // a legacy server lets zero dates in
    await c.query(`SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'`);
    await c.query(`SET time_zone = '+00:00'`);
    await c.query(`CREATE TABLE KUNDE (
      kunde_id INT UNSIGNED NOT NULL PRIMARY KEY,
      Name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
      email VARCHAR(200) NULL,
      aktiv TINYINT(1) NOT NULL,
      balance DECIMAL(12,2) NOT NULL,
      score DOUBLE NOT NULL,
      ratio FLOAT NOT NULL,
      created DATETIME(6) NOT NULL,
      touched TIMESTAMP(6) NULL DEFAULT NULL,
      birthday DATE NOT NULL,
      avatar BLOB NULL,
      prefs JSON NULL,
      status ENUM('new','vip') NOT NULL,
      note TEXT NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // the same columns without JSON: every value is hashed inside the databases
    await c.query(`CREATE TABLE KUNDE_ALT LIKE KUNDE`);
    await c.query(`ALTER TABLE KUNDE_ALT DROP COLUMN prefs`);
    await c.query(`CREATE TABLE order_line (
      order_no VARCHAR(20) NOT NULL, line SMALLINT NOT NULL, qty INT NOT NULL, price DECIMAL(10,3) NOT NULL,
      PRIMARY KEY (order_no, line)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    for (let i = 0; i < data.customers.length; i += 200) {
      const part = data.customers.slice(i, i + 200);
      await c.query(
        `INSERT INTO KUNDE VALUES ${part.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`,
        part.flatMap((r) => [r.id, r.name, r.email, r.active ? 1 : 0, r.balance, r.score, r.ratio, r.created, r.touched, r.birthday, r.avatar, r.prefs ? JSON.stringify(r.prefs) : null, r.status, r.note]),
      );
    }
    await c.query(`INSERT INTO KUNDE_ALT SELECT kunde_id, Name, email, aktiv, balance, score, ratio, created, touched, birthday, avatar, status, note FROM KUNDE`);
    for (let i = 0; i < data.lines.length; i += 500) {
      const part = data.lines.slice(i, i + 500);
      await c.query(`INSERT INTO order_line VALUES ${part.map(() => '(?,?,?,?)').join(',')}`, part.flatMap((r) => [r.orderNo, r.line, r.qty, r.price]));
    }
  } finally {
    await c.end();
  }
}

/** The target as DMS would load it, written independently of the kit's code. */
export async function loadPostgres(client: pg.Client, data: { customers: Customer[]; lines: OrderLine[] }): Promise<void> {
  await client.query(`CREATE SCHEMA duoduo`);
  await client.query(`CREATE TABLE duoduo.customers (
    id bigint PRIMARY KEY, full_name varchar(100) NOT NULL, email varchar(200), aktiv boolean NOT NULL, balance numeric(12,2) NOT NULL,
    score double precision NOT NULL, ratio real NOT NULL, created timestamp(6) NOT NULL, touched timestamp(6), birthday date,
    avatar bytea, prefs jsonb, status varchar(3) NOT NULL, note text NOT NULL, origin varchar(40))`);
  await client.query(`CREATE TABLE duoduo.customers_archive (
    kunde_id bigint PRIMARY KEY, "Name" varchar(100) NOT NULL, email varchar(200), aktiv boolean NOT NULL, balance numeric(12,2) NOT NULL,
    score double precision NOT NULL, ratio real NOT NULL, created timestamp(6) NOT NULL, touched timestamp(6), birthday date,
    avatar bytea, status varchar(3) NOT NULL, note text NOT NULL)`);
  await client.query(`CREATE TABLE duoduo.order_lines (order_no varchar(20) NOT NULL, line smallint NOT NULL, qty integer NOT NULL, price numeric(10,3) NOT NULL, PRIMARY KEY (order_no, line))`);
  for (const r of data.customers) {
    await client.query(`INSERT INTO duoduo.customers VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`, [
      r.id, r.name, r.email, r.active, r.balance, r.score, r.ratio, r.created, r.touched,
      r.birthday.startsWith('0000') ? null : r.birthday, r.avatar, r.prefs ? JSON.stringify(r.prefs) : null, r.status, r.note, `cainiao-${r.id}`,
    ]);
  }
  for (const r of data.customers) {
    await client.query(`INSERT INTO duoduo.customers_archive VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, [
      r.id, r.name, r.email, r.active, r.balance, r.score, r.ratio, r.created, r.touched, r.birthday.startsWith('0000') ? null : r.birthday, r.avatar, r.status, r.note,
    ]);
  }
  for (const r of data.lines.filter((l) => l.qty >= 1)) {
    await client.query(`INSERT INTO duoduo.order_lines VALUES ($1,$2,$3,$4)`, [r.orderNo, r.line, r.qty, r.price]);
  }
}

export function crossEngineEnvironment(dir: string, sourceUrl: string, targetUrl: string, validation: Record<string, unknown> = {}): ResolvedPostgresEnvironment {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(FORWARD_MAPPING, null, 2));
  writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'duoduo', 'table-name': '%' }, 'rule-action': 'include' }] }));
  const raw = {
    environments: {
      lab: { platform: 'local', source: { url: sourceUrl }, target: { url: targetUrl }, mappings: { forward: 'forward.json', reverse: 'reverse.json' }, stateDir: 'state', validation },
    },
  };
  writeFileSync(path.join(dir, 'cutover.config.json'), JSON.stringify(raw, null, 2));
  const env = selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json')), 'lab');
  if (env.platform !== 'postgres') throw new Error('unreachable');
  return env;
}
