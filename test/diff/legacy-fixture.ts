import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { removeColumn, renameColumn, renameTable } from './validation-env.ts';

/**
 * A small legacy -> new schema pair exercising what validation must see through: renamed tables
 * and columns, a removed column, an added expression column, a filtered table, numeric scale and
 * timestamp precision changes, float4 -> float8, char(n) -> varchar(n), composite, uuid and text
 * keys, NULL and '' and Chinese text.
 */
export const SOURCE_DDL = `
create table t_cust (id int primary key, cust_nm text, email varchar(100), legacy_flag char(1), balance numeric(12,2),
  score double precision, created_at timestamptz, note text, code char(8));
insert into t_cust select g, '客户' || g, 'c' || g || '@example.com', 'Y', (g * 1.25)::numeric(12,2), g / 7.0::float8,
  timestamptz '2024-01-01 00:00:00.123456+08' + g * interval '1 minute 0.000037 s',
  case when g % 5 = 0 then null when g % 7 = 0 then '' else '备注 note ' || g end, 'ab'
  from generate_series(1, 3000) g;
create table t_order (order_id int, line_no smallint, status text, amount numeric(10,2), placed_at timestamp,
  primary key (order_id, line_no));
insert into t_order select o, l, case when o % 13 = 0 then 'INVALID' else 'PAID' end, o * 0.5 + l,
  timestamp '2024-02-01 10:00:00.5' + o * interval '1 hour' from generate_series(1, 700) o, generate_series(1, 3) l;
create table t_tag (tag_id uuid primary key, label text, weight real);
insert into t_tag select md5(g::text)::uuid, '标签-' || g, g / 3.0 from generate_series(1, 600) g;
create table t_code (code varchar(12) primary key, descr text);
insert into t_code select 'C' || lpad(g::text, 5, '0'), '代码 ' || g || '  ' from generate_series(1, 900) g;
`;

export const TARGET_DDL = `
create table customers (id int primary key, name text, email varchar(100), balance numeric(14,4), score double precision,
  created_at timestamp(3) with time zone, note text, code varchar(8), name_upper text);
create table orders (order_id int, line_no smallint, status text, amount numeric(10,2), placed_at timestamp(6),
  primary key (order_id, line_no));
create table tags (tag_id uuid primary key, label text, weight double precision);
create table codes (code text primary key, descr text);
`;

function selectTable(id: string, table: string, filters?: unknown[]): Record<string, unknown> {
  return {
    'rule-type': 'selection',
    'rule-id': id,
    'rule-name': `select-${table}`,
    'object-locator': { 'schema-name': 'public', 'table-name': table },
    'rule-action': 'include',
    ...(filters ? { filters } : {}),
  };
}

export const FORWARD_MAPPING = {
  rules: [
    selectTable('1', 't_cust'),
    selectTable('2', 't_order', [{ 'filter-type': 'source', 'column-name': 'status', 'filter-conditions': [{ 'filter-operator': 'noteq', value: 'INVALID' }] }]),
    selectTable('3', 't_tag'),
    selectTable('4', 't_code'),
    renameTable('10', 't_cust', 'customers'),
    renameTable('11', 't_order', 'orders'),
    renameTable('12', 't_tag', 'tags'),
    renameTable('13', 't_code', 'codes'),
    renameColumn('20', 't_cust', 'cust_nm', 'name'),
    removeColumn('21', 't_cust', 'legacy_flag'),
    {
      'rule-type': 'transformation',
      'rule-id': '22',
      'rule-name': 'add-name-upper',
      'rule-target': 'column',
      'object-locator': { 'schema-name': 'public', 'table-name': 't_cust' },
      'rule-action': 'add-column',
      value: 'name_upper',
      expression: 'upper($cust_nm)',
      'data-type': { type: 'string', length: 100 },
    },
  ],
};

/** What replication would do, by COPY text: source output text into target input functions. */
const COPIES: { from: string; to: string }[] = [
  { from: `select id, cust_nm, email, balance, score, created_at, note, code, upper(cust_nm) from t_cust`, to: `customers (id, name, email, balance, score, created_at, note, code, name_upper)` },
  { from: `select order_id, line_no, status, amount, placed_at from t_order where status <> 'INVALID'`, to: `orders (order_id, line_no, status, amount, placed_at)` },
  { from: `select tag_id, label, weight from t_tag`, to: `tags (tag_id, label, weight)` },
  { from: `select code, descr from t_code`, to: `codes (code, descr)` },
];

/** Empties the target and fills it exactly as replication would. */
export async function replicateByCopy(source: pg.Client, target: pg.Client): Promise<void> {
  await target.query('truncate customers, orders, tags, codes');
  for (const c of COPIES) {
    const out = source.query(copyStreams.to(`COPY (${c.from}) TO STDOUT`));
    const into = target.query(copyStreams.from(`COPY ${c.to} FROM STDIN`));
    await pipeline(out, into);
  }
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The next double above `x` (one unit in the last place). */
export function nextUlp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + (x >= 0 ? 1n : -1n));
  return view.getFloat64(0);
}

export interface Expected {
  missing: Set<string>;
  extra: Set<string>;
  different: Set<string>;
}

export function emptyExpected(): Record<string, Expected> {
  const e = () => ({ missing: new Set<string>(), extra: new Set<string>(), different: new Set<string>() });
  return { 'public.t_cust': e(), 'public.t_order': e(), 'public.t_tag': e(), 'public.t_code': e() };
}

const k = (o: Record<string, unknown>) => JSON.stringify(o);

/**
 * Random updates, deletes and inserts on the target, each recorded as the difference validation
 * must report (keys in source column names). Every key is touched at most once.
 */
export async function mutateTarget(target: pg.Client, seed: number, count: number): Promise<Record<string, Expected>> {
  const rnd = seededRandom(seed);
  const expected = emptyExpected();
  const cust = expected['public.t_cust']!;
  const touched = new Set<number>();
  const pick = () => {
    for (;;) {
      const id = 1 + Math.floor(rnd() * 3000);
      if (!touched.has(id)) {
        touched.add(id);
        return id;
      }
    }
  };
  const kinds = ['delete', 'name', 'note-null', 'note-value', 'note-empty', 'score-ulp', 'ts-shift', 'balance', 'code-trim', 'upper'] as const;
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const id = pick();
    const key = k({ id });
    switch (kind) {
      case 'delete':
        await target.query('delete from customers where id = $1', [id]);
        cust.missing.add(key);
        continue;
      case 'name':
        await target.query(`update customers set name = name || '改' where id = $1`, [id]);
        break;
      case 'note-null':
        await target.query(`update customers set note = case when note is null then '空' else null end where id = $1`, [id]);
        break;
      case 'note-value':
        await target.query(`update customers set note = coalesce(note, '') || '变' where id = $1`, [id]);
        break;
      case 'note-empty':
        await target.query(`update customers set note = case when note = '' then null else '' end where id = $1`, [id]);
        break;
      case 'score-ulp': {
        const { rows } = await target.query<{ s: number }>('select score as s from customers where id = $1', [id]);
        await target.query(`update customers set score = $2::float8 where id = $1`, [id, String(nextUlp(rows[0]!.s))]);
        break;
      }
      case 'ts-shift':
        await target.query(`update customers set created_at = created_at + interval '1 millisecond' where id = $1`, [id]);
        break;
      case 'balance':
        await target.query(`update customers set balance = balance + 0.0001 where id = $1`, [id]);
        break;
      case 'code-trim':
        await target.query(`update customers set code = rtrim(code) where id = $1`, [id]);
        break;
      case 'upper':
        await target.query(`update customers set name_upper = lower(name_upper) || 'x' where id = $1`, [id]);
        break;
    }
    cust.different.add(key);
  }
  for (let i = 0; i < Math.max(1, Math.floor(count / 10)); i++) {
    const id = 10_000 + i;
    await target.query(`insert into customers (id, name, note) values ($1, '新客户', null)`, [id]);
    cust.extra.add(k({ id }));
  }

  const ord = expected['public.t_order']!;
  await target.query('delete from orders where order_id = 3 and line_no = 2');
  ord.missing.add(k({ order_id: 3, line_no: 2 }));
  await target.query('update orders set amount = amount + 1 where order_id = 500 and line_no = 3');
  ord.different.add(k({ order_id: 500, line_no: 3 }));
  await target.query(`update orders set placed_at = placed_at + interval '1 microsecond' where order_id = 699 and line_no = 1`);
  ord.different.add(k({ order_id: 699, line_no: 1 }));
  // a row the source has but the filter leaves out must not be on the target
  await target.query(`insert into orders values (13, 1, 'INVALID', 7.5, '2024-02-01 23:00:00.5')`);
  ord.extra.add(k({ order_id: 13, line_no: 1 }));

  const tag = expected['public.t_tag']!;
  const uuid = (g: number) => (target.query<{ u: string }>(`select md5($1::text)::uuid::text as u`, [g]) as Promise<pg.QueryResult<{ u: string }>>).then((r) => r.rows[0]!.u);
  const t1 = await uuid(10);
  await target.query('delete from tags where tag_id = $1', [t1]);
  tag.missing.add(k({ tag_id: t1 }));
  const t2 = await uuid(20);
  await target.query(`update tags set label = '标签-二十' where tag_id = $1`, [t2]);
  tag.different.add(k({ tag_id: t2 }));
  const t3 = await uuid(30);
  await target.query(`update tags set weight = weight * 2 where tag_id = $1`, [t3]);
  tag.different.add(k({ tag_id: t3 }));

  const code = expected['public.t_code']!;
  await target.query(`delete from codes where code = 'C00005'`);
  code.missing.add(k({ code: 'C00005' }));
  await target.query(`update codes set descr = rtrim(descr) where code = 'C00450'`);
  code.different.add(k({ code: 'C00450' }));
  await target.query(`insert into codes values ('Z-extra', '多余')`);
  code.extra.add(k({ code: 'Z-extra' }));
  return expected;
}
