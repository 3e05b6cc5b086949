import type { QualityCheck } from '../config/common-schema.ts';
import { CATEGORY_BY_CODE } from './categories.ts';
import { INVALID_STATUS } from './order-status.ts';

/**
 * The cainiao data-quality checks `assess` runs before anything moves (config `assess.checks`).
 * Each query returns one row per finding whose columns are the sample key. `handling` says what
 * the forward mapping does about it — or that DMS cannot, and the finding is only reported.
 */
const normEmail = `lower(trim(email))`;
const normPhone = `regexp_replace(mobile, '[[:space:]-]', '', 'g')`;
const codes = Object.keys(CATEGORY_BY_CODE)
  .map((c) => `'${c}'`)
  .join(', ');

export const CAINIAO_QUALITY_CHECKS: QualityCheck[] = [
  {
    id: 'duplicate-customers',
    description: 'customers registered again with the same e-mail or phone (differing only in case or spaces)',
    table: 'public.t_customer',
    sql: `select cust_id from (
            select cust_id,
                   row_number() over (partition by coalesce(${normEmail}, 'no-email:' || cust_id) order by cust_id) as by_email,
                   row_number() over (partition by coalesce(${normPhone}, 'no-phone:' || cust_id) order by cust_id) as by_phone
            from t_customer) c
          where by_email > 1 or by_phone > 1 order by cust_id`,
    severity: 'warning',
    handling: 'DMS cannot merge duplicates: reported, not merged (both rows are copied; e-mail and phone arrive normalized, so they are easy to find on duoduo)',
  },
  {
    id: 'malformed-emails',
    description: 'e-mail addresses that are not local@domain.tld',
    table: 'public.t_customer',
    sql: `select cust_id from t_customer where email is not null and trim(email) !~ '^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$' order by cust_id`,
    severity: 'warning',
    handling: 'normalized (lower-cased, trimmed) and copied as they are: reported for manual correction',
  },
  {
    id: 'malformed-phones',
    description: 'phone numbers that are not an 11-digit mainland mobile number once spaces and dashes are removed',
    table: 'public.t_customer',
    sql: `select cust_id from t_customer where mobile is not null and ${normPhone} !~ '^1[3-9][0-9]{9}$' order by cust_id`,
    severity: 'warning',
    handling: 'spaces and dashes removed by the forward mapping; the rest copied as they are and reported',
  },
  {
    id: 'invalid-orders',
    description: `voided orders (status ${INVALID_STATUS}, zero amount)`,
    table: 'public.t_order',
    sql: `select order_id from t_order where status = '${INVALID_STATUS}' order by order_id`,
    severity: 'info',
    handling: `filtered: the forward mapping's selection filter (status noteq ${INVALID_STATUS}) leaves them out`,
  },
  {
    id: 'duplicate-orders',
    description: 'the same order (customer, amount) submitted again within 60 seconds',
    table: 'public.t_order',
    sql: `select order_id from (
            select order_id, created_at,
                   lag(created_at) over (partition by cust_id, total_amt order by created_at, order_id) as previous
            from t_order where status <> '${INVALID_STATUS}') o
          where previous is not null and created_at - previous <= interval '60 seconds' order by order_id`,
    severity: 'warning',
    handling: 'DMS cannot tell a duplicate from a repeat purchase: reported, not removed',
  },
  {
    id: 'orphan-order-items',
    description: 'order items whose order no longer exists',
    table: 'public.t_order_item',
    sql: `select i.item_id from t_order_item i where not exists (select 1 from t_order o where o.order_id = i.order_id) order by i.item_id`,
    severity: 'warning',
    handling: 'copied as they are (filters are per table; the replicator applies as replica, so the foreign key does not reject them): reported',
  },
  {
    id: 'discontinued-products-stocked',
    description: 'discontinued products that still have stock',
    table: 'public.t_inventory',
    sql: `select p.prod_id from t_product p join t_inventory i on i.prod_id = p.prod_id where p.discontinued = 'Y' and i.qty > 0 order by p.prod_id`,
    severity: 'warning',
    handling: "product filtered (discontinued noteq 'Y'); its stock row is still copied (filters are per table): reported for write-off",
  },
  {
    id: 'retired-categories',
    description: 'products carrying a retired category code',
    table: 'public.t_product',
    sql: `select prod_id from t_product where cat_cd not in (${codes}) order by prod_id`,
    severity: 'info',
    handling: 'normalized: the forward mapping remaps retired and unknown codes to category OTHER',
  },
];

const mysqlPhone = `regexp_replace(mobile, '[[:space:]-]', '')`;

/** MySQL's SQL (and handling wording) of each check, by id. */
const MYSQL_SQL: Readonly<Record<string, Pick<QualityCheck, 'sql'> & Partial<Pick<QualityCheck, 'handling'>>>> = {
  'duplicate-customers': {
    sql: `select cust_id from (
            select cust_id,
                   row_number() over (partition by coalesce(lower(trim(email)), concat('no-email:', cust_id)) order by cust_id) as by_email,
                   row_number() over (partition by coalesce(${mysqlPhone}, concat('no-phone:', cust_id)) order by cust_id) as by_phone
            from t_customer) c
          where by_email > 1 or by_phone > 1 order by cust_id`,
  },
  'malformed-emails': { sql: `select cust_id from t_customer where email is not null and trim(email) not regexp '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$' order by cust_id` },
  'malformed-phones': { sql: `select cust_id from t_customer where mobile is not null and ${mysqlPhone} not regexp '^1[3-9][0-9]{9}$' order by cust_id` },
  'invalid-orders': { sql: `select order_id from t_order where status = '${INVALID_STATUS}' order by order_id` },
  'duplicate-orders': {
    sql: `select order_id from (
            select order_id, created_at,
                   lag(created_at) over (partition by cust_id, total_amt order by created_at, order_id) as previous
            from t_order where status <> '${INVALID_STATUS}') o
          where previous is not null and created_at <= previous + interval 60 second order by order_id`,
  },
  'orphan-order-items': { sql: `select i.item_id from t_order_item i where not exists (select 1 from t_order o where o.order_id = i.order_id) order by i.item_id` },
  'discontinued-products-stocked': {
    sql: `select p.prod_id from t_product p join t_inventory i on i.prod_id = p.prod_id where p.discontinued = 1 and i.qty > 0 order by p.prod_id`,
    handling: 'product filtered (discontinued noteq 1); its stock row is still copied (filters are per table): reported for write-off',
  },
  'retired-categories': { sql: `select prod_id from t_product where cat_cd not in (${codes}) order by prod_id` },
};

/**
 * The same checks for a MySQL-family cainiao (lib/demo/cainiao-mysql-schema.ts: database
 * `cainiao`, tinyint(1) `discontinued`), in MySQL's SQL (MariaDB 10.11, MySQL 8: window functions,
 * REGEXP): the same findings, counts and sample keys as on a PostgreSQL cainiao of the same seed.
 */
export const CAINIAO_MYSQL_QUALITY_CHECKS: QualityCheck[] = CAINIAO_QUALITY_CHECKS.map((c) => ({
  ...c,
  table: c.table!.replace(/^public\./, 'cainiao.'),
  ...MYSQL_SQL[c.id]!,
}));
