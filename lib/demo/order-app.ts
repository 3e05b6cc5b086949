import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { failedBeforeCommit, OrderService, type OrderLine, type OrderPool, type Outcome } from './order-service.ts';
import { MysqlOrderPool } from './mysql-order-pool.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import { NOT_APPLIED_HEADER } from '../router/router-core.ts';
import type { Flavor } from './order-sql.ts';
import { CutoverError } from '../errors.ts';
import { centsToMoney, moneyToCents } from './canonical-order.ts';

/**
 * The blue (cainiao) and green (duoduo) order apps: one small `node:http` server, the same JSON
 * API over either schema, listening on 127.0.0.1.
 *
 *   POST /orders {customerId, items:[{productId, quantity}]} → 201 order (409 OUT_OF_STOCK / PRODUCT_UNAVAILABLE)
 *   POST /orders/:id/pay · POST /orders/:id/ship             → 200 order (409 INVALID_TRANSITION)
 *   GET  /orders/:id · GET /customers/:id/orders · GET /inventory/:productId
 *   GET  /reconciliation (orders and amount by day and status) · GET /health
 *   DELETE /orders/:id                                        → purge a smoke-test order (403 for real ones)
 *
 * A database that refuses writes (read-only transaction during the write switch) or drops the
 * connection gives 503 with `Retry-After: 1`, never a 500; when the write failed before its
 * COMMIT was sent (nothing changed) the 503 also carries `x-cutover-not-applied: 1`, and the
 * router retries it (lib/router/router-core.ts).
 *
 * The cainiao app also runs on a MySQL-family cainiao (a `mysql://` / `mariadb://` URL, see
 * lib/demo/cainiao-mysql-schema.ts) through mysql2, with the same service code and API: a fenced
 * MySQL blue (`read_only`, sessions ended) answers exactly as a fenced PostgreSQL one does. Give it
 * an account without SUPER / READ ONLY ADMIN, or `read_only` does not stop it.
 */
export interface OrderAppOptions {
  readonly flavor: Flavor;
  readonly databaseUrl: string;
  /** @default a free port chosen by the kernel */
  readonly port?: number;
  /** Pool size. @default 8 */
  readonly maxConnections?: number;
  /**
   * statement_timeout of the order paths' sessions (the reconciliation report sets its own,
   * longer one). A test shortens it to show the report outlives it without waiting 5 s. @default 5000
   */
  readonly statementTimeoutMs?: number;
}

export interface OrderAppFault {
  readonly errorRate: number;
  /** GET /orders/:id answers totalAmount this many cents off (a subtly wrong answer, status 200). @default 0 */
  readonly amountOffCents?: number;
}

export interface OrderApp {
  readonly url: string;
  readonly port: number;
  readonly flavor: Flavor;
  /** Makes the app answer 500 to `errorRate` of the requests (except /health), and/or answer GET /orders/:id with the total `amountOffCents` off; null clears it. */
  setFault(fault: OrderAppFault | null): void;
  stop(): Promise<void>;
}

const UNAVAILABLE_CODES = new Set([
  // PostgreSQL: read-only transaction, shutting down, too many connections, connection lost
  '25006', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006',
  // MySQL/MariaDB (mysql2): read_only (a fenced blue), session killed, shutting down, too many connections, connection lost
  'ER_OPTION_PREVENTS_STATEMENT', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_QUERY_INTERRUPTED',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'ETIMEDOUT', 'EPIPE',
  'ECONNREFUSED', 'ECONNRESET',
]);

/** Errors meaning "the database cannot take this now": read-only, shutting down, connection lost. */
export function isUnavailableError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && UNAVAILABLE_CODES.has(e.code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|connection is in closed state|Pool is closed/i.test(e?.message ?? '');
}

/** A request the API refuses as malformed (400). */
const badRequest = (message: string) => new CutoverError('USAGE', message);

function positiveInt(value: unknown, name: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw badRequest(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function parseOrderRequest(body: unknown): { customerId: number; lines: OrderLine[] } {
  const b = body as { customerId?: unknown; items?: unknown } | null;
  if (!b || typeof b !== 'object') throw badRequest('body must be {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}');
  const customerId = positiveInt(b.customerId, 'customerId');
  if (!Array.isArray(b.items) || b.items.length < 1 || b.items.length > 20) throw badRequest('items must be an array of 1 to 20 {productId, quantity}');
  const lines = b.items.map((i: { productId?: unknown; quantity?: unknown }, k: number) => {
    const quantity = positiveInt(i?.quantity, `items[${k}].quantity`);
    if (quantity > 100) throw badRequest(`items[${k}].quantity must be at most 100, got ${quantity}`);
    return { productId: positiveInt(i?.productId, `items[${k}].productId`), quantity };
  });
  return { customerId, lines };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw badRequest('body larger than 64 KiB');
    chunks.push(chunk as Buffer);
  }
  if (!size) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('body is not valid JSON');
  }
}

/** The app's pool: pg for a postgres:// database, mysql2 (MysqlOrderPool) for a mysql:// or mariadb:// one. */
function openPool(options: OrderAppOptions): OrderPool & { end(): Promise<void> } {
  const max = options.maxConnections ?? 8;
  if (engineOfUrl(options.databaseUrl) === 'mysql') {
    if (options.flavor !== 'cainiao') {
      throw new CutoverError('NOT_SUPPORTED', 'the duoduo app runs on PostgreSQL only', { received: options.databaseUrl.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@'), fix: 'give the duoduo (green) app a postgres:// database' });
    }
    return new MysqlOrderPool(options.databaseUrl, max);
  }
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max,
    connectionTimeoutMillis: 5000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    application_name: `demo-${options.flavor}-app`,
  });
  // an idle client dropped by the server (terminated during the switch) must not crash the process
  pool.on('error', () => {});
  // …and so must a checked-out client between two queries (pg-pool only listens while idle)
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function startOrderApp(options: OrderAppOptions): Promise<OrderApp> {
  const pool = openPool(options);
  const service = new OrderService(pool, options.flavor);
  let fault: OrderAppFault | null = null;

  const route = async (method: string, path: string, req: http.IncomingMessage): Promise<Outcome<unknown>> => {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/health') {
      await service.health();
      return { ok: true, status: 200, body: { ok: true, flavor: options.flavor } };
    }
    if (method === 'POST' && path === '/orders') {
      const { customerId, lines } = parseOrderRequest(await readJson(req));
      return service.placeOrder(customerId, lines);
    }
    if ((m = /^\/orders\/([^/]+)\/(pay|ship)$/.exec(path)) && method === 'POST') {
      return service.advance(positiveInt(m[1], 'order id'), m[2] as 'pay' | 'ship');
    }
    if ((m = /^\/orders\/([^/]+)$/.exec(path))) {
      const id = positiveInt(m[1], 'order id');
      if (method === 'GET') {
        const order = await service.getOrder(id);
        if (order && fault?.amountOffCents) return { ok: true, status: 200, body: { ...order, totalAmount: centsToMoney(moneyToCents(order.totalAmount) + fault.amountOffCents) } };
        return order ? { ok: true, status: 200, body: order } : { ok: false, status: 404, error: 'ORDER_NOT_FOUND', message: `order ${id} does not exist` };
      }
      if (method === 'DELETE') return service.deleteTestOrder(id);
    }
    if (method === 'GET' && (m = /^\/customers\/([^/]+)\/orders$/.exec(path))) return service.customerOrders(positiveInt(m[1], 'customer id'));
    if (method === 'GET' && (m = /^\/inventory\/([^/]+)$/.exec(path))) return service.inventory(positiveInt(m[1], 'product id'));
    if (method === 'GET' && path === '/reconciliation') return service.reconciliation();
    return { ok: false, status: 404, error: 'NO_ROUTE', message: `no route for ${method} ${path}` };
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    if (fault && fault.errorRate > 0 && path !== '/health' && Math.random() < fault.errorRate) {
      req.resume();
      send(res, 500, { error: 'INJECTED_FAULT', message: 'fault injected by setFault' });
      return;
    }
    route(method, path, req).then(
      (outcome) => {
        if (outcome.ok) send(res, outcome.status, outcome.body);
        else send(res, outcome.status, { error: outcome.error, message: outcome.message, ...outcome.details });
      },
      (err: unknown) => {
        if (err instanceof CutoverError && err.code === 'USAGE') send(res, 400, { error: 'BAD_REQUEST', message: err.message });
        else if (isUnavailableError(err)) {
          // a write that failed before COMMIT did nothing: the router may send it again
          const retrySafe: Record<string, string> = failedBeforeCommit(err) ? { [NOT_APPLIED_HEADER]: '1' } : {};
          send(res, 503, { error: 'UNAVAILABLE', message: 'the database does not accept this request now; retry' }, { 'retry-after': '1', ...retrySafe });
        }
        else send(res, 500, { error: 'INTERNAL', message: err instanceof Error ? err.message : String(err) });
      },
    );
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    flavor: options.flavor,
    setFault(next) {
      if (next && !(next.errorRate >= 0 && next.errorRate <= 1)) throw new CutoverError('USAGE', `errorRate must be between 0 and 1, got ${next.errorRate}`, { received: next, allowed: '{ errorRate: 0..1 } or null' });
      fault = next;
    },
    stop() {
      stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await pool.end();
      })();
      return stopped;
    },
  };
}
