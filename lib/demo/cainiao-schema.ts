import type pg from 'pg';
import { CutoverError } from '../errors.ts';

/**
 * The legacy 菜鸟 (cainiao) order system, as it grew: `t_` tables, abbreviated column names,
 * money as text, free-text statuses, `timestamp` without time zone holding the server's local
 * wall-clock time, and no foreign keys (the old app checked nothing). Legacy-only columns
 * (`gender`, `remark`, `op_user`, `spec`, `upd_time`) are dropped by the forward mapping and left
 * NULL/default by the reverse one, so each is nullable or has a default.
 */
export const CAINIAO_TABLES = ['t_customer', 't_product', 't_inventory', 't_order', 't_order_item'] as const;

export const CAINIAO_DDL = `
create table t_customer (
  cust_id    bigserial,
  cust_nm    varchar(64) not null,
  mobile     varchar(32),
  email      varchar(128),
  addr       varchar(256),
  gender     char(1),
  remark     text,
  created_at timestamp not null default localtimestamp
);
create table t_product (
  prod_id      bigserial,
  prod_nm      varchar(128) not null,
  cat_cd       varchar(8) not null,
  price        text not null,
  discontinued char(1) not null default 'N',
  spec         text,
  created_at   timestamp not null default localtimestamp
);
create table t_inventory (
  prod_id  bigint not null,
  qty      integer not null,
  wh_cd    varchar(8) not null,
  upd_time timestamp default localtimestamp
);
create table t_order (
  order_id   bigserial,
  cust_id    bigint not null,
  status     text not null,
  total_amt  text not null,
  created_at timestamp not null default localtimestamp,
  updated_at timestamp not null default localtimestamp,
  remark     text,
  op_user    varchar(32) default 'web'
);
create table t_order_item (
  item_id    bigserial,
  order_id   bigint not null,
  prod_id    bigint not null,
  qty        integer not null,
  unit_price text not null
);
`;

/** Primary keys and secondary indexes, built after a bulk load (see `createCainiaoSchema`'s `indexes`). */
export const CAINIAO_INDEX_DDL = `
alter table t_customer add primary key (cust_id);
alter table t_product add primary key (prod_id);
alter table t_inventory add primary key (prod_id);
alter table t_order add primary key (order_id);
alter table t_order_item add primary key (item_id);
create index t_order_cust_idx on t_order (cust_id);
create index t_order_item_order_idx on t_order_item (order_id);
`;

/** Builds the keys and indexes left out by `createCainiaoSchema(…, { indexes: false })`. */
export async function createCainiaoIndexes(client: pg.ClientBase): Promise<void> {
  await client.query(CAINIAO_INDEX_DDL);
}

/** Creates the cainiao tables in the connected database (public schema); refuses if they exist. */
export async function createCainiaoSchema(client: pg.ClientBase, options: { replace?: boolean; /** @default true; false leaves them to `createCainiaoIndexes` after a bulk load */ indexes?: boolean } = {}): Promise<void> {
  if (options.replace) await client.query(`drop table if exists ${CAINIAO_TABLES.join(', ')} cascade`);
  const { rows } = await client.query<{ name: string }>(
    `select table_name as name from information_schema.tables where table_schema = 'public' and table_name = any($1)`,
    [[...CAINIAO_TABLES]],
  );
  if (rows.length > 0) {
    throw new CutoverError('PRECONDITION_FAILED', `the cainiao demo tables already exist: ${rows.map((r) => r.name).join(', ')}`, {
      received: rows.map((r) => r.name),
      allowed: 'an empty database',
      fix: 'seed into a fresh database, or pass { replace: true } to drop the demo tables first',
    });
  }
  await client.query(CAINIAO_DDL);
  if (options.indexes !== false) await createCainiaoIndexes(client);
}
