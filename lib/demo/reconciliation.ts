import type { z } from 'zod';
import type { reconciliationSchema } from '../config/common-schema.ts';
import { INVALID_STATUS, legacyStatusCaseSql } from './order-status.ts';

/**
 * Business invariants (对账) of the demo, as config `validation.reconciliation` pairs: the source
 * query on cainiao and the target query on duoduo return the same rows when replication is
 * correct. Source queries leave out what the forward mapping filters (INVALID orders,
 * discontinued products) and compute what it normalizes (status), so they agree with duoduo.
 * Every value is text so both sides compare without type games.
 *
 * Days: cainiao's `timestamp` and duoduo's `timestamptz` agree on the calendar day: the replicator
 * writes a zone-less value as UTC and the validator runs these queries in UTC sessions.
 */
export type ReconciliationPair = z.input<typeof reconciliationSchema>;

const status = legacyStatusCaseSql('status');

export const DEMO_RECONCILIATION: ReconciliationPair[] = [
  {
    name: 'orders-by-day-and-status',
    source: `select to_char(created_at::date, 'YYYY-MM-DD') as day, ${status} as status, count(*)::text as orders,
                    sum(total_amt::numeric(12,2))::text as amount
             from t_order where status <> '${INVALID_STATUS}' group by 1, 2 order by 1, 2`,
    target: `select to_char(created_at::date, 'YYYY-MM-DD') as day, status, count(*)::text as orders, sum(total_amount)::text as amount
             from orders group by 1, 2 order by 1, 2`,
  },
  {
    name: 'order-items-units-and-value',
    source: `select count(*)::text as items, coalesce(sum(qty), 0)::text as units, coalesce(sum(qty * unit_price::numeric(12,2)), 0)::text as value
             from t_order_item`,
    target: `select count(*)::text as items, coalesce(sum(quantity), 0)::text as units, coalesce(sum(quantity * unit_price), 0)::text as value
             from order_items`,
  },
  {
    name: 'inventory-units-per-warehouse',
    source: `select wh_cd as warehouse, count(*)::text as products, sum(qty)::text as units from t_inventory group by 1 order by 1`,
    target: `select warehouse, count(*)::text as products, sum(quantity)::text as units from inventory group by 1 order by 1`,
  },
  {
    name: 'active-products-and-customers',
    source: `select (select count(*) from t_product where discontinued <> 'Y')::text as products, (select count(*) from t_customer)::text as customers`,
    target: `select (select count(*) from products)::text as products, (select count(*) from customers)::text as customers`,
  },
];

const mysqlStatus = legacyStatusCaseSql('status');
/** The target's day of a timestamptz in UTC: the kit reads a MySQL DATETIME as UTC wall-clock time (its sessions run in UTC). */
const utcDay = `to_char((created_at at time zone 'UTC')::date, 'YYYY-MM-DD')`;

/**
 * The same invariants for a MySQL-family cainiao (lib/demo/cainiao-mysql-schema.ts: DECIMAL money,
 * tinyint(1) `discontinued`, DATETIME): source queries in MySQL, values as text.
 */
export const DEMO_MYSQL_RECONCILIATION: ReconciliationPair[] = [
  {
    name: 'orders-by-day-and-status',
    source: `select date_format(created_at, '%Y-%m-%d') as day, ${mysqlStatus} as status, cast(count(*) as char) as orders, cast(sum(total_amt) as char) as amount
             from t_order where status <> '${INVALID_STATUS}' group by 1, 2 order by 1, 2`,
    target: `select ${utcDay} as day, status, count(*)::text as orders, sum(total_amount)::text as amount
             from orders group by 1, 2 order by 1, 2`,
  },
  {
    name: 'order-items-units-and-value',
    source: `select cast(count(*) as char) as items, cast(coalesce(sum(qty), 0) as char) as units, cast(coalesce(sum(qty * unit_price), 0) as char) as value from t_order_item`,
    target: DEMO_RECONCILIATION[1]!.target,
  },
  {
    name: 'inventory-units-per-warehouse',
    source: `select wh_cd as warehouse, cast(count(*) as char) as products, cast(sum(qty) as char) as units from t_inventory group by 1 order by 1`,
    target: DEMO_RECONCILIATION[2]!.target,
  },
  {
    name: 'active-products-and-customers',
    source: `select cast((select count(*) from t_product where discontinued = 0) as char) as products, cast((select count(*) from t_customer) as char) as customers`,
    target: DEMO_RECONCILIATION[3]!.target,
  },
];
