import { SMOKE_EMAIL_DOMAIN } from './generator.ts';
import { INVALID_STATUS, legacyStatusCaseSql } from './order-status.ts';

export type Flavor = 'cainiao' | 'duoduo';

/**
 * The SQL each app runs, per flavor, with the same parameters and the same result columns, so
 * the app logic (lib/demo/order-service.ts) is shared and the answers are canonical by
 * construction. cainiao hides voided (INVALID) orders, as duoduo never receives them.
 */
export interface OrderSql {
  /** $1 order id → id, customer_id, status, total_amount */
  readonly order: string;
  /** $1 order ids → order_id, product_id, quantity, unit_price (item id order) */
  readonly items: string;
  /** $1 customer id → id, customer_id, status, total_amount (newest 50) */
  readonly customerOrders: string;
  /** $1 customer id → one row when the customer exists */
  readonly customerExists: string;
  /** $1 product id → price, when the product can be ordered */
  readonly orderablePrice: string;
  /** $1 product id, $2 quantity → a row when the stock was enough and was taken */
  readonly takeStock: string;
  /** $1 product id, $2 quantity */
  readonly returnStock: string;
  /** $1 customer id, $2 total (text, 2 decimals) → id */
  readonly insertOrder: string;
  /** $1 order id, $2 product id, $3 quantity, $4 unit price (text) */
  readonly insertItem: string;
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

export const CAINIAO_SQL: OrderSql = {
  order: `select o.order_id as id, o.cust_id as customer_id, ${legacyStatus} as status, o.total_amt::numeric(12,2)::text as total_amount
          from t_order o where o.order_id = $1 and o.status <> '${INVALID_STATUS}'`,
  items: `select order_id, prod_id as product_id, qty as quantity, unit_price::numeric(12,2)::text as unit_price
          from t_order_item where order_id = any($1::bigint[]) order by item_id`,
  customerOrders: `select o.order_id as id, o.cust_id as customer_id, ${legacyStatus} as status, o.total_amt::numeric(12,2)::text as total_amount
                   from t_order o where o.cust_id = $1 and o.status <> '${INVALID_STATUS}' order by o.order_id desc limit 50`,
  customerExists: `select 1 from t_customer where cust_id = $1`,
  orderablePrice: `select price::numeric(12,2)::text as price from t_product where prod_id = $1 and discontinued <> 'Y'`,
  takeStock: `update t_inventory set qty = qty - $2, upd_time = localtimestamp where prod_id = $1 and qty >= $2 returning prod_id`,
  returnStock: `update t_inventory set qty = qty + $2, upd_time = localtimestamp where prod_id = $1`,
  insertOrder: `insert into t_order (cust_id, status, total_amt, created_at, updated_at, op_user)
                values ($1, 'CREATED', $2, localtimestamp, localtimestamp, 'web') returning order_id as id`,
  insertItem: `insert into t_order_item (order_id, prod_id, qty, unit_price) values ($1, $2, $3, $4)`,
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
  order: `select id, customer_id, status, total_amount::text as total_amount from orders where id = $1`,
  items: `select order_id, product_id, quantity, unit_price::text as unit_price
          from order_items where order_id = any($1::bigint[]) order by id`,
  customerOrders: `select id, customer_id, status, total_amount::text as total_amount
                   from orders where customer_id = $1 order by id desc limit 50`,
  customerExists: `select 1 from customers where id = $1`,
  orderablePrice: `select price::text as price from products where id = $1`,
  takeStock: `update inventory set quantity = quantity - $2 where product_id = $1 and quantity >= $2 returning product_id`,
  returnStock: `update inventory set quantity = quantity + $2 where product_id = $1`,
  insertOrder: `insert into orders (customer_id, status, total_amount) values ($1, 'CREATED', $2) returning id`,
  insertItem: `insert into order_items (order_id, product_id, quantity, unit_price) values ($1, $2, $3, $4)`,
  moveStatus: `update orders set status = $3, updated_at = now() where id = $1 and status = $2 returning id`,
  inventory: `select product_id, quantity, warehouse from inventory where product_id = $1`,
  reconciliation: `select to_char(created_at::date, 'YYYY-MM-DD') as day, status, count(*)::int as orders, sum(total_amount)::text as amount
                   from orders group by 1, 2 order by 1, 2`,
  isTestOrder: `select 1 from orders o join customers c on c.id = o.customer_id where o.id = $1 and c.email like '${testAccount}'`,
  deleteItems: `delete from order_items where order_id = $1`,
  deleteOrder: `delete from orders where id = $1`,
};

export const ORDER_SQL: Readonly<Record<Flavor, OrderSql>> = { cainiao: CAINIAO_SQL, duoduo: DUODUO_SQL };
