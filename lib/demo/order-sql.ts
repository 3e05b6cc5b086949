import { SMOKE_EMAIL_DOMAIN } from './generator.ts';
import { INVALID_STATUS, legacyStatusCaseSql } from './order-status.ts';

export type Flavor = 'cainiao' | 'duoduo';

/**
 * The SQL each app runs, per flavor, with the same parameters and the same result columns, so
 * the app logic (lib/demo/order-service.ts) is shared and the answers are canonical by
 * construction. cainiao hides voided (INVALID) orders, as duoduo never receives them.
 */
export interface OrderSql {
  /** $1 order id → id, customer_id, status, total_amount, items (json: productId, quantity, unitPrice in item order) */
  readonly order: string;
  /** $1 customer id → the same columns, newest 50 orders */
  readonly customerOrders: string;
  /** $1 customer id → one row when the customer exists */
  readonly customerExists: string;
  /** $1 product id → price, when the product can be ordered */
  readonly orderablePrice: string;
  /** $1 product id, $2 quantity → price, when the product can be ordered and the stock was enough and was taken */
  readonly takeStock: string;
  /** $1 product id, $2 quantity */
  readonly returnStock: string;
  /** $1 customer id, $2 total (text, 2 decimals) → id */
  readonly insertOrder: string;
  /** $1 order id, $2 product ids, $3 quantities, $4 unit prices (text), inserted in array order */
  readonly insertItems: string;
  /** $1 order id, $2 from status, $3 to status → id when moved */
  readonly moveStatus: string;
  /** $1 product id → product_id, quantity, warehouse */
  readonly inventory: string;
  /** → day, status, orders, amount */
  readonly reconciliation: string;
  /** $1 order id → one row when the order belongs to a smoke-test account */
  readonly isTestOrder: string;
  /** $1 order id */
  readonly deleteItems: string;
  readonly deleteOrder: string;
}

const legacyStatus = legacyStatusCaseSql('o.status');
const testAccount = `%@${SMOKE_EMAIL_DOMAIN}`;
/** An order's items as one json array (one round trip per order read). */
const cainiaoItems = `coalesce((select json_agg(json_build_object('productId', i.prod_id, 'quantity', i.qty,
    'unitPrice', i.unit_price::numeric(12,2)::text) order by i.item_id) from t_order_item i where i.order_id = o.order_id), '[]') as items`;
const duoduoItems = `coalesce((select json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity,
    'unitPrice', i.unit_price::text) order by i.id) from order_items i where i.order_id = o.id), '[]') as items`;

export const CAINIAO_SQL: OrderSql = {
  order: `select o.order_id as id, o.cust_id as customer_id, ${legacyStatus} as status, o.total_amt::numeric(12,2)::text as total_amount, ${cainiaoItems}
          from t_order o where o.order_id = $1 and o.status <> '${INVALID_STATUS}'`,
  customerOrders: `select o.order_id as id, o.cust_id as customer_id, ${legacyStatus} as status, o.total_amt::numeric(12,2)::text as total_amount, ${cainiaoItems}
                   from t_order o where o.cust_id = $1 and o.status <> '${INVALID_STATUS}' order by o.order_id desc limit 50`,
  customerExists: `select 1 from t_customer where cust_id = $1`,
  orderablePrice: `select price::numeric(12,2)::text as price from t_product where prod_id = $1 and discontinued <> 'Y'`,
  takeStock: `update t_inventory i set qty = qty - $2, upd_time = localtimestamp from t_product p
              where i.prod_id = $1 and i.qty >= $2 and p.prod_id = i.prod_id and p.discontinued <> 'Y'
              returning p.price::numeric(12,2)::text as price`,
  returnStock: `update t_inventory set qty = qty + $2, upd_time = localtimestamp where prod_id = $1`,
  insertOrder: `insert into t_order (cust_id, status, total_amt, created_at, updated_at, op_user)
                values ($1, 'CREATED', $2, localtimestamp, localtimestamp, 'web') returning order_id as id`,
  insertItems: `insert into t_order_item (order_id, prod_id, qty, unit_price)
                select $1, p, q, u from unnest($2::bigint[], $3::int[], $4::text[]) with ordinality as x(p, q, u, n) order by n`,
  moveStatus: `update t_order o set status = $3, updated_at = localtimestamp
               where o.order_id = $1 and o.status <> '${INVALID_STATUS}' and ${legacyStatus} = $2 returning o.order_id as id`,
  inventory: `select prod_id as product_id, qty as quantity, wh_cd as warehouse from t_inventory where prod_id = $1`,
  reconciliation: `select to_char(o.created_at::date, 'YYYY-MM-DD') as day, ${legacyStatus} as status, count(*)::int as orders,
                          sum(o.total_amt::numeric(12,2))::text as amount
                   from t_order o where o.status <> '${INVALID_STATUS}' group by 1, 2 order by 1, 2`,
  isTestOrder: `select 1 from t_order o join t_customer c on c.cust_id = o.cust_id
                where o.order_id = $1 and lower(trim(c.email)) like '${testAccount}'`,
  deleteItems: `delete from t_order_item where order_id = $1`,
  deleteOrder: `delete from t_order where order_id = $1`,
};

export const DUODUO_SQL: OrderSql = {
  order: `select o.id, o.customer_id, o.status, o.total_amount::text as total_amount, ${duoduoItems} from orders o where o.id = $1`,
  customerOrders: `select o.id, o.customer_id, o.status, o.total_amount::text as total_amount, ${duoduoItems}
                   from orders o where o.customer_id = $1 order by o.id desc limit 50`,
  customerExists: `select 1 from customers where id = $1`,
  orderablePrice: `select price::text as price from products where id = $1`,
  takeStock: `update inventory i set quantity = quantity - $2 from products p
              where i.product_id = $1 and i.quantity >= $2 and p.id = i.product_id returning p.price::text as price`,
  returnStock: `update inventory set quantity = quantity + $2 where product_id = $1`,
  insertOrder: `insert into orders (customer_id, status, total_amount) values ($1, 'CREATED', $2) returning id`,
  insertItems: `insert into order_items (order_id, product_id, quantity, unit_price)
                select $1, p, q, u::numeric(12,2) from unnest($2::bigint[], $3::int[], $4::text[]) with ordinality as x(p, q, u, n) order by n`,
  moveStatus: `update orders set status = $3, updated_at = now() where id = $1 and status = $2 returning id`,
  inventory: `select product_id, quantity, warehouse from inventory where product_id = $1`,
  reconciliation: `select to_char(created_at::date, 'YYYY-MM-DD') as day, status, count(*)::int as orders, sum(total_amount)::text as amount
                   from orders group by 1, 2 order by 1, 2`,
  isTestOrder: `select 1 from orders o join customers c on c.id = o.customer_id where o.id = $1 and c.email like '${testAccount}'`,
  deleteItems: `delete from order_items where order_id = $1`,
  deleteOrder: `delete from orders where id = $1`,
};

export const ORDER_SQL: Readonly<Record<Flavor, OrderSql>> = { cainiao: CAINIAO_SQL, duoduo: DUODUO_SQL };

const mysqlItems = `coalesce((select concat('[', group_concat(json_object('productId', i.prod_id, 'quantity', i.qty,
    'unitPrice', cast(i.unit_price as char)) order by i.item_id separator ','), ']') from t_order_item i where i.order_id = o.order_id), '[]') as items`;

/**
 * The cainiao app's SQL on a MySQL-family cainiao (lib/demo/cainiao-mysql-schema.ts: DECIMAL
 * money, tinyint(1) `discontinued`, ENUM status), in the same shape: `$n` parameters (the pool
 * adapter, lib/demo/mysql-order-pool.ts, binds them as `?` in order) and, where PostgreSQL has
 * `RETURNING` on an UPDATE, two statements run on the same session whose last result is the
 * answer (`row_count()` is the rows the UPDATE before it changed). Item lists go through
 * JSON_TABLE (MariaDB 10.6+, MySQL 8.0.4+) and are read back with GROUP_CONCAT (both engines
 * order inside it; MySQL's JSON_ARRAYAGG does not).
 */
export const CAINIAO_MYSQL_SQL: OrderSql = {
  order: `select o.order_id as id, o.cust_id as customer_id, ${legacyStatus} as status, cast(o.total_amt as char) as total_amount, ${mysqlItems}
          from t_order o where o.order_id = $1 and o.status <> '${INVALID_STATUS}'`,
  customerOrders: `select o.order_id as id, o.cust_id as customer_id, ${legacyStatus} as status, cast(o.total_amt as char) as total_amount, ${mysqlItems}
                   from t_order o where o.cust_id = $1 and o.status <> '${INVALID_STATUS}' order by o.order_id desc limit 50`,
  customerExists: `select 1 from t_customer where cust_id = $1`,
  orderablePrice: `select cast(price as char) as price from t_product where prod_id = $1 and discontinued = 0`,
  takeStock: `update t_inventory i join t_product p on p.prod_id = i.prod_id set i.qty = i.qty - $2, i.upd_time = now()
              where i.prod_id = $1 and i.qty >= $2 and p.discontinued = 0;
              select cast(price as char) as price from t_product where prod_id = $1 and row_count() > 0`,
  returnStock: `update t_inventory set qty = qty + $2, upd_time = now() where prod_id = $1`,
  insertOrder: `insert into t_order (cust_id, status, total_amt, created_at, updated_at, op_user) values ($1, 'CREATED', $2, now(), now(), 'web');
                select last_insert_id() as id`,
  insertItems: `insert into t_order_item (order_id, prod_id, qty, unit_price)
                select $1, p.v, json_value($3, concat('$[', p.n - 1, ']')), json_value($4, concat('$[', p.n - 1, ']'))
                from json_table($2, '$[*]' columns (n for ordinality, v int path '$')) p order by p.n`,
  moveStatus: `update t_order o set o.status = $3, o.updated_at = now()
               where o.order_id = $1 and o.status <> '${INVALID_STATUS}' and ${legacyStatus} = $2`,
  inventory: `select prod_id as product_id, qty as quantity, wh_cd as warehouse from t_inventory where prod_id = $1`,
  reconciliation: `select date_format(o.created_at, '%Y-%m-%d') as day, ${legacyStatus} as status, count(*) as orders,
                          cast(sum(o.total_amt) as char) as amount
                   from t_order o where o.status <> '${INVALID_STATUS}' group by 1, 2 order by 1, 2`,
  isTestOrder: `select 1 from t_order o join t_customer c on c.cust_id = o.cust_id
                where o.order_id = $1 and lower(trim(c.email)) like '${testAccount}'`,
  deleteItems: `delete from t_order_item where order_id = $1`,
  deleteOrder: `delete from t_order where order_id = $1`,
};
