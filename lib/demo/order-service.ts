import { canonicalOrder, centsToMoney, moneyToCents, type CanonicalOrder } from './canonical-order.ts';
import { NEXT_STATUS, type OrderAction } from './order-status.ts';
import { CAINIAO_MYSQL_SQL, ORDER_SQL, type Flavor, type OrderSql } from './order-sql.ts';
import { CutoverError } from '../errors.ts';

/**
 * The order business (下单 → 付款 → 发货 → 对账) over either schema. Results are typed outcomes;
 * database errors propagate and the HTTP layer maps them (read-only → 503).
 */
export type Outcome<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly error: string; readonly message: string; readonly details?: Record<string, unknown> };

export interface OrderLine {
  readonly productId: number;
  readonly quantity: number;
}

/** What a statement gives back: rows (SELECT) and the rows it returned or changed. */
export interface QueryResultLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly rows: any[];
  readonly rowCount: number | null;
}

/** A session or pool that runs the OrderSql statements: pg's, or the MySQL adapter (lib/demo/mysql-order-pool.ts). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
}

/** Below the load generator's 30 s request timeout, so a slow report is answered, not abandoned. */
const REPORT_TIMEOUT_MS = 25_000;

/** A session taken from a pool for one transaction; `release(true)` drops a broken one. */
export interface PooledClient extends Queryable {
  readonly dialect?: 'mysql';
  release(broken?: boolean): void;
}

/** The pool the order service runs on: pg.Pool, or MysqlOrderPool (`dialect: 'mysql'`). */
export interface OrderPool extends Queryable {
  readonly dialect?: 'mysql';
  connect(): Promise<PooledClient>;
}

/** The statements of `flavor` for the engine behind `db` (cainiao only, on a MySQL-family database). */
export function orderSqlFor(db: Queryable, flavor: Flavor): OrderSql {
  if ((db as { dialect?: string }).dialect !== 'mysql') return ORDER_SQL[flavor];
  if (flavor === 'cainiao') return CAINIAO_MYSQL_SQL;
  throw new CutoverError('NOT_SUPPORTED', 'the duoduo app runs on PostgreSQL only', {
    received: 'a mysql:// database for the duoduo app',
    fix: 'give the duoduo (green) app a postgres:// database; only the legacy cainiao app runs on MySQL/MariaDB',
  });
}

const fail = (status: number, error: string, message: string, details?: Record<string, unknown>) =>
  ({ ok: false, status, error, message, ...(details ? { details } : {}) }) as const;

/** Order rows (id, customer_id, status, total_amount, items json) in canonical form. */
function toCanonical(rows: Record<string, unknown>[]): CanonicalOrder[] {
  return rows.map((r) =>
    canonicalOrder({
      id: Number(r.id),
      customerId: Number(r.customer_id),
      status: String(r.status),
      totalAmount: String(r.total_amount),
      // PostgreSQL's json arrives parsed; MySQL's GROUP_CONCAT of JSON objects arrives as text
      items: (typeof r.items === 'string' ? JSON.parse(r.items) : r.items) as CanonicalOrder['items'],
    }),
  );
}

/** One order in canonical form read straight from a database of either flavor (for ledger checks), or null. */
export async function readCanonicalOrder(db: Queryable, flavor: Flavor, id: number): Promise<CanonicalOrder | null> {
  const { rows } = await db.query(orderSqlFor(db, flavor).order, [id]);
  return rows[0] ? toCanonical(rows)[0]! : null;
}

/** Deadlocks and serialization failures (PostgreSQL's, MySQL's) are retried; anything else is the caller's. */
const RETRYABLE = new Set(['40P01', '40001', 'ER_LOCK_DEADLOCK']);

export class OrderService {
  private readonly sql: OrderSql;

  constructor(
    private readonly pool: OrderPool,
    readonly flavor: Flavor,
  ) {
    this.sql = orderSqlFor(pool, flavor);
  }

  async getOrder(id: number, db: Queryable = this.pool): Promise<CanonicalOrder | null> {
    return readCanonicalOrder(db, this.flavor, id);
  }

  async customerOrders(customerId: number): Promise<Outcome<{ customerId: number; orders: CanonicalOrder[] }>> {
    const exists = await this.pool.query(this.sql.customerExists, [customerId]);
    if (!exists.rowCount) return fail(404, 'CUSTOMER_NOT_FOUND', `customer ${customerId} does not exist`);
    const { rows } = await this.pool.query(this.sql.customerOrders, [customerId]);
    return { ok: true, status: 200, body: { customerId, orders: toCanonical(rows) } };
  }

  async inventory(productId: number): Promise<Outcome<{ productId: number; quantity: number; warehouse: string }>> {
    const { rows } = await this.pool.query(this.sql.inventory, [productId]);
    if (!rows[0]) return fail(404, 'PRODUCT_NOT_FOUND', `no stock record for product ${productId}`);
    return { ok: true, status: 200, body: { productId: Number(rows[0].product_id), quantity: Number(rows[0].quantity), warehouse: rows[0].warehouse } };
  }

  async reconciliation(): Promise<Outcome<{ days: { day: string; status: string; orders: number; amount: string }[] }>> {
    const rows = this.pool.dialect === 'mysql' ? (await this.pool.query(this.sql.reconciliation)).rows : await this.report(this.sql.reconciliation);
    return { ok: true, status: 200, body: { days: rows.map((r) => ({ day: r.day, status: r.status, orders: Number(r.orders), amount: r.amount })) } };
  }

  /**
   * A whole-table report on PostgreSQL, with its own statement timeout: the app's 5 s guards the
   * order paths, but a report over a million orders takes about a second alone and several while a
   * full load reads the same tables (a 1,000,000-order rehearsal failed one GET /reconciliation with
   * HTTP 500 at 5 s). MariaDB's app has no statement timeout, only a lock wait limit.
   */
  private async report(sql: string): Promise<Record<string, string>[]> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('begin read only');
      await client.query(`set local statement_timeout = ${REPORT_TIMEOUT_MS}`);
      const { rows } = await client.query(sql);
      await client.query('commit');
      return rows as Record<string, string>[];
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** One transaction: stock taken (products in id order, so concurrent orders never deadlock), order and items written. */
  placeOrder(customerId: number, lines: readonly OrderLine[]): Promise<Outcome<CanonicalOrder>> {
    const merged = new Map<number, number>();
    for (const l of lines) merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity);
    const sorted = [...merged.entries()].sort((a, b) => a[0] - b[0]);
    return this.transaction(async (db) => {
      if (!(await db.query(this.sql.customerExists, [customerId])).rowCount) {
        return fail(404, 'CUSTOMER_NOT_FOUND', `customer ${customerId} does not exist`);
      }
      const prices = new Map<number, string>();
      for (const [productId, quantity] of sorted) {
        const taken = await db.query(this.sql.takeStock, [productId, quantity]);
        if (taken.rows[0]) {
          prices.set(productId, taken.rows[0].price);
          continue;
        }
        if (!(await db.query(this.sql.orderablePrice, [productId])).rowCount) {
          return fail(409, 'PRODUCT_UNAVAILABLE', `product ${productId} cannot be ordered`, { productId });
        }
        return fail(409, 'OUT_OF_STOCK', `not enough stock for product ${productId}`, { productId, quantity });
      }
      // items keep the order the client sent them in (merged per product)
      const lines = [...merged];
      const total = lines.reduce((s, [p, q]) => s + q * moneyToCents(prices.get(p)!), 0);
      const inserted = await db.query(this.sql.insertOrder, [customerId, centsToMoney(total)]);
      const id = Number(inserted.rows[0].id);
      await db.query(this.sql.insertItems, [id, lines.map(([p]) => p), lines.map(([, q]) => q), lines.map(([p]) => prices.get(p))]);
      const order = canonicalOrder({
        id,
        customerId,
        status: 'CREATED',
        totalAmount: centsToMoney(total),
        items: lines.map(([productId, quantity]) => ({ productId, quantity, unitPrice: prices.get(productId)! })),
      });
      return { ok: true, status: 201, body: order };
    });
  }

  advance(id: number, action: OrderAction): Promise<Outcome<CanonicalOrder>> {
    const { from, to } = NEXT_STATUS[action];
    return this.transaction(async (db) => {
      const moved = await db.query(this.sql.moveStatus, [id, from, to]);
      if (!moved.rowCount) {
        const current = await this.getOrder(id, db);
        if (!current) return fail(404, 'ORDER_NOT_FOUND', `order ${id} does not exist`);
        return fail(409, 'INVALID_TRANSITION', `order ${id} is ${current.status}; ${action} needs ${from}`, { status: current.status });
      }
      return { ok: true, status: 200, body: (await this.getOrder(id, db))! };
    });
  }

  /** Purges an order of a smoke-test account (items, order) and returns its stock. Other orders: 403. */
  deleteTestOrder(id: number): Promise<Outcome<{ id: number; deleted: true }>> {
    return this.transaction(async (db) => {
      const order = await this.getOrder(id, db);
      if (!order) return fail(404, 'ORDER_NOT_FOUND', `order ${id} does not exist`);
      if (!(await db.query(this.sql.isTestOrder, [id])).rowCount) {
        return fail(403, 'NOT_A_TEST_ORDER', `order ${id} is a real order; only smoke-test orders can be deleted`);
      }
      for (const item of order.items) await db.query(this.sql.returnStock, [item.productId, item.quantity]);
      await db.query(this.sql.deleteItems, [id]);
      await db.query(this.sql.deleteOrder, [id]);
      return { ok: true, status: 200, body: { id, deleted: true } };
    });
  }

  async health(): Promise<void> {
    await this.pool.query('select 1');
  }

  private async transaction<T>(work: (db: PooledClient) => Promise<Outcome<T>>): Promise<Outcome<T>> {
    for (let attempt = 1; ; attempt++) {
      // until COMMIT is sent, a failure leaves the database as it was: the write can be retried
      let committing = false;
      let client: PooledClient | null = null;
      let broken = false;
      let transactionId: string | null = null;
      let outcome: Outcome<T> | null = null;
      try {
        client = await this.pool.connect();
        await client.query('begin');
        outcome = await work(client);
        // read before COMMIT: when COMMIT fails with the connection, another session can ask its fate
        if (outcome.ok && this.pool.dialect !== 'mysql') transactionId = String((await client.query(TRANSACTION_ID_SQL)).rows[0]?.id ?? '') || null;
        committing = outcome.ok;
        await client.query(outcome.ok ? 'commit' : 'rollback');
        return outcome;
      } catch (err) {
        await client?.query('rollback').catch(() => {
          broken = true;
        });
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 3) continue;
        if (committing && !neverSent(err)) {
          // COMMIT was sent and its answer lost (a write fence ended the session, the server went
          // away): applied or not is unknown to this session; PostgreSQL can tell another one.
          // The lost session goes back first: a fence ends every session at once, and their fate
          // questions must not wait for pool slots the lost sessions still hold.
          client?.release(broken);
          client = null;
          const fate = transactionId ? await this.transactionFate(transactionId) : 'unknown';
          if (fate === 'committed' && outcome) return outcome;
          if (fate !== 'aborted') throw err;
        }
        if (err && typeof err === 'object') notApplied.add(err);
        throw err;
      } finally {
        client?.release(broken);
      }
    }
  }

  /**
   * Whether a PostgreSQL transaction whose COMMIT lost its answer committed, asked on another
   * session (`txid_status`). A session ended mid-commit may still be finishing: `in progress` is
   * asked again for a moment; anything else unclear is `unknown` (the write then fails, as before).
   */
  private async transactionFate(id: string): Promise<'committed' | 'aborted' | 'unknown'> {
    const deadline = Date.now() + FATE_WAIT_MS;
    for (;;) {
      const status = await this.pool
        .query(TRANSACTION_STATUS_SQL, [id])
        .then((r) => String(r.rows[0]?.status ?? ''))
        .catch(() => '');
      if (status === 'committed' || status === 'aborted') return status;
      if (status !== 'in progress' || Date.now() >= deadline) return 'unknown';
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The current transaction's id, or null before it wrote anything (PostgreSQL 10+; `pg_current_xact_id_if_assigned` is its 13+ name). */
const TRANSACTION_ID_SQL = 'select txid_current_if_assigned()::text as id';
/** committed / aborted / in progress, or null when too old to tell (PostgreSQL 10+). */
const TRANSACTION_STATUS_SQL = 'select txid_status($1::bigint) as status';
/** How long a transaction still `in progress` after its session was ended is asked about again. */
const FATE_WAIT_MS = 3000;

/**
 * The driver refused to send the statement because the connection was already lost (node-postgres:
 * "… is not queryable"; mysql2: "… in closed state"): nothing of it reached the database.
 */
function neverSent(err: unknown): boolean {
  return /is not queryable|connection is in closed state|write in closed state/.test((err as { message?: string })?.message ?? '');
}

const notApplied = new WeakSet<object>();

/** Whether a write failed before its COMMIT was sent (nothing of it reached the database). */
export function failedBeforeCommit(err: unknown): boolean {
  return typeof err === 'object' && err !== null && notApplied.has(err);
}
