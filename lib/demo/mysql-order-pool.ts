import type mysql from 'mysql2/promise';
import { openMysqlPool } from '../engines/mysql/mysql-connection.ts';
import type { OrderPool, PooledClient, QueryResultLike } from './order-service.ts';

/** One statement of an OrderSql text: `$n` replaced by `?`, and which parameter each `?` binds. */
interface Prepared {
  readonly sql: string;
  readonly params: readonly number[];
}

const prepared = new Map<string, readonly Prepared[]>();

/** Splits an OrderSql text into its statements (`;` at line ends) and numbers its `$n` placeholders. */
function prepare(text: string): readonly Prepared[] {
  let p = prepared.get(text);
  if (!p) {
    p = text
      .split(/;\s*\n/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const params: number[] = [];
        const sql = s.replace(/\$(\d+)/g, (_, n: string) => {
          params.push(Number(n) - 1);
          return '?';
        });
        return { sql, params };
      });
    prepared.set(text, p);
  }
  return p;
}

/** Runs an OrderSql text on one session: every statement in turn; the answer is the last one's (rows, or rows changed). */
async function run(db: mysql.Pool | mysql.PoolConnection, text: string, values: readonly unknown[] = []): Promise<QueryResultLike> {
  let last: QueryResultLike = { rows: [], rowCount: 0 };
  for (const s of prepare(text)) {
    // arrays (the item lists) travel as JSON: the statements read them with JSON_TABLE / JSON_VALUE
    const params = s.params.map((i) => (Array.isArray(values[i]) ? JSON.stringify(values[i]) : values[i]));
    const [result] = await db.query(s.sql, params);
    last = Array.isArray(result) ? { rows: result as Record<string, unknown>[], rowCount: result.length } : { rows: [], rowCount: (result as mysql.ResultSetHeader).affectedRows };
  }
  return last;
}

/**
 * The order apps' database pool over mysql2 for a MySQL-family database, with the surface of
 * pg.Pool the order service uses (`query` → rows and rowCount, `connect` → a session with
 * `release(broken)`), so the service's transactions — and when a write counts as acknowledged:
 * after COMMIT returned — are the same code on both engines. `dialect` tells the service to use
 * the MySQL statements (CAINIAO_MYSQL_SQL). Sessions run pinned (UTC, utf8mb4, exact decimals).
 */
export class MysqlOrderPool implements OrderPool {
  readonly dialect = 'mysql' as const;
  private readonly pool: mysql.Pool;

  constructor(url: string, size: number) {
    // an application's sessions, not the kit's: the write fence ends them
    this.pool = openMysqlPool(url, size, { kitSession: false });
    // a row lock held by a stuck session must not hold an order for 50 s (PostgreSQL's app has a 5 s statement timeout)
    this.pool.pool.on('connection', (conn: { query(sql: string): void }) => conn.query('SET SESSION innodb_lock_wait_timeout = 5'));
  }

  /** Sessions open (for the ledger check, which tells a pool from a single client by this). */
  get totalCount(): number {
    return (this.pool.pool as unknown as { _allConnections?: { length: number } })._allConnections?.length ?? 0;
  }

  query(text: string, values?: unknown[]): Promise<QueryResultLike> {
    return run(this.pool, text, values);
  }

  async connect(): Promise<PooledClient> {
    const conn = await this.pool.getConnection();
    return {
      dialect: this.dialect,
      query: (text: string, values?: unknown[]) => run(conn, text, values),
      release: (broken?: boolean) => (broken ? conn.destroy() : conn.release()),
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
