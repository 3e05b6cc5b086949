import { createRequire } from 'node:module';
import type mysql from 'mysql2/promise';
import { describeEndpoint } from '../../assess/connection-errors.ts';
import { CutoverError } from '../../errors.ts';
import { closestName } from '../../mappings/closest-name.ts';

/**
 * Connections to a MySQL-family side (MySQL 8, MariaDB 10.11, Aurora MySQL) from a
 * `mysql://` / `mariadb://` URL through mysql2's promise API. Every session is pinned so values
 * print the same way whatever the server's defaults: time zone UTC (TIMESTAMP columns are shown
 * in the session zone), utf8mb4, and DATE/DATETIME/DECIMAL/BIGINT returned as strings (no JS
 * Date or float on the way). `?ssl=true` or `?ssl={…}` (mysql2 SslOptions as JSON) asks for TLS.
 */
/**
 * mysql2, loaded on first use: most processes that import this module (the PostgreSQL replication
 * worker through the mapping code, CLI commands on a PostgreSQL environment) never open a MySQL
 * session, and loading the driver costs every such process start about 0.1 s of CPU.
 */
let driver: typeof mysql | undefined;
function mysqlDriver(): typeof mysql {
  return (driver ??= createRequire(import.meta.url)('mysql2/promise') as typeof mysql);
}

export interface MysqlUrlOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly ssl?: mysql.SslOptions;
}

export function parseMysqlUrl(url: string): MysqlUrlOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CutoverError('CONFIG_INVALID', 'a MySQL URL could not be parsed', { received: '(unparsable URL)', fix: 'use mysql://user:password@host:3306/database' });
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) {
    throw new CutoverError('CONFIG_INVALID', `the MySQL URL for ${u.hostname} names no database`, {
      received: describeEndpoint(url),
      fix: 'add the database (the DMS schema name) to the URL: mysql://user:password@host:3306/legacy_shop',
    });
  }
  const sslParam = u.searchParams.get('ssl');
  let ssl: mysql.SslOptions | undefined;
  if (sslParam === 'true' || sslParam === '1') ssl = {};
  else if (sslParam && sslParam !== 'false' && sslParam !== '0') {
    try {
      ssl = JSON.parse(sslParam) as mysql.SslOptions;
    } catch {
      throw new CutoverError('CONFIG_INVALID', 'the ssl parameter of a MySQL URL is neither true/false nor JSON', { received: sslParam, fix: 'use ?ssl=true or ?ssl={"rejectUnauthorized":true}' });
    }
  }
  return { host: u.hostname, port: u.port ? Number(u.port) : 3306, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database, ...(ssl ? { ssl } : {}) };
}

/** Settings every session of the kit runs with (see the module comment). */
export const SESSION_SETUP = [`SET time_zone = '+00:00'`, `SET NAMES utf8mb4`, `SET SESSION group_concat_max_len = 1073741824`];

const KIT_SESSION_LOCK = 'cutover-kit-session-';

/**
 * How another session — the write fence, `assess`, in any process — tells the kit's own sessions
 * from an application's on the same account: every kit session holds a user-level lock named
 * after its own connection id (`cutover-kit-session-<id>`), released by the server when the
 * session ends. The processlist has no application name, and MariaDB's performance_schema (where
 * MySQL keeps connection attributes) is off by default; `IS_USED_LOCK` answers on MySQL 8,
 * MariaDB and Aurora alike. A server that refuses GET_LOCK (Galera with wsrep on) leaves the
 * session untagged: the fence then ends it like an application's.
 */
export const KIT_SESSION_TAG = `SELECT GET_LOCK(CONCAT('${KIT_SESSION_LOCK}', CONNECTION_ID()), 0)`;

/** SQL that is true when the session whose id is `idColumn` (e.g. `p.ID` of the processlist) is a kit session. */
export function kitSessionSql(idColumn: string): string {
  return `COALESCE(IS_USED_LOCK(CONCAT('${KIT_SESSION_LOCK}', ${idColumn})) = ${idColumn}, FALSE)`;
}

/** Tags a callback-API connection (a pool's, zongji's) as the kit's; a refusal leaves it untagged. */
export function tagKitSession(conn: { query(sql: string, cb: (err: unknown) => void): void }): void {
  conn.query(KIT_SESSION_TAG, () => {});
}

export interface MysqlSessionOptions {
  /**
   * Tag the session as the kit's own (KIT_SESSION_TAG), so the write fence spares it. False for
   * the demo's order apps, which stand for the business's applications.
   * @default true
   */
  readonly kitSession?: boolean;
}

function driverOptions(url: string): mysql.ConnectionOptions {
  const o = parseMysqlUrl(url);
  return {
    ...o,
    charset: 'utf8mb4',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    connectTimeout: 10_000,
  };
}

/**
 * A failed MySQL connection as AUTH_FAILED / CONNECTION_FAILED, naming the side, never the
 * password. For a database that does not exist, `databases` (those the account can see, from
 * visibleDatabases) name the one meant: MySQL/MariaDB database names are directories, so on Linux
 * (lower_case_table_names=0) `legacy_shop` and `Legacy_Shop` are two different databases.
 */
export function mysqlConnectionError(err: unknown, side: string, url: string, databases: readonly string[] = []): CutoverError {
  if (err instanceof CutoverError) return err;
  const endpoint = describeEndpoint(url).replace(/:5432\//, ':3306/');
  const code = (err as { code?: string }).code;
  let message = (err as Error)?.message ?? String(err);
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw) message = message.split(pw).join('***');
  } catch {
    /* unparsable: the message has no URL in it */
  }
  // a database name the server does not know (an account without rights on it hears "access denied" instead)
  const meant = code === 'ER_BAD_DB_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' ? databaseMeant(safeDatabaseName(url), databases) : null;
  const nameFix = meant ? `write the database name in ${side}.url as ${meant.name}` : null;
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new CutoverError('AUTH_FAILED', `the ${side} database at ${endpoint} refused the credentials: ${message}${meant?.hint ?? ''}`, {
      received: endpoint,
      fix: nameFix ?? `check the user and password in ${side}.url (use \${ENV_VAR} for the password) and the account's host part ('user'@'%')`,
    });
  }
  if (code === 'ER_BAD_DB_ERROR') {
    return new CutoverError('CONNECTION_FAILED', `the ${side} database at ${endpoint} does not exist${meant?.hint ?? ''}`, {
      received: endpoint,
      fix: nameFix ?? `create it or correct the database name in ${side}.url`,
    });
  }
  return new CutoverError('CONNECTION_FAILED', `cannot connect to the ${side} database at ${endpoint}: ${message}`, {
    received: endpoint,
    fix: `check that MySQL/MariaDB is running and reachable at ${endpoint} (host, port, firewall, security group) and that ${side}.url is right`,
    cause: err,
  });
}

const SYSTEM_DATABASES = ['information_schema', 'mysql', 'performance_schema', 'sys'];

/** The visible database the URL's name most likely meant: one differing only in case first, else a near spelling. */
function databaseMeant(wanted: string, databases: readonly string[]): { name: string; hint: string } | null {
  const sameButCase = databases.find((d) => d !== wanted && d.toLowerCase() === wanted.toLowerCase());
  if (sameButCase) {
    return { name: sameButCase, hint: `; there is ${sameButCase}, which differs only in case (database names are case-sensitive on this server: lower_case_table_names=0)` };
  }
  const near = wanted ? closestName(wanted, databases.filter((d) => d !== wanted && !SYSTEM_DATABASES.includes(d.toLowerCase()))) : undefined;
  return near ? { name: near, hint: `; did you mean ${near}?` } : null;
}

function safeDatabaseName(url: string): string {
  try {
    return parseMysqlUrl(url).database;
  } catch {
    return '';
  }
}

/**
 * The databases the URL's account can see, read without naming one (for the hint on a database
 * that does not exist); none when that fails too.
 */
export async function visibleDatabases(url: string): Promise<string[]> {
  let c: mysql.Connection | undefined;
  try {
    const { database: _named, ...o } = driverOptions(url) as mysql.ConnectionOptions & { database?: string };
    c = await mysqlDriver().createConnection(o);
    const [rows] = await c.query('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME');
    return (rows as { name: string }[]).map((r) => String(r.name));
  } catch {
    return [];
  } finally {
    await c?.end().catch(() => {});
  }
}

/** mysqlConnectionError, with the databases the account can see when the one named does not exist. */
export async function explainMysqlConnectionError(err: unknown, side: string, url: string): Promise<CutoverError> {
  const code = (err as { code?: string }).code;
  const databases = code === 'ER_BAD_DB_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' ? await visibleDatabases(url) : [];
  return mysqlConnectionError(err, side, url, databases);
}

/** One pinned session; `end()` it. */
export async function connectMysql(url: string, side = 'source', options: MysqlSessionOptions = {}): Promise<mysql.Connection> {
  let c: mysql.Connection | undefined;
  try {
    c = await mysqlDriver().createConnection(driverOptions(url));
    for (const s of SESSION_SETUP) await c.query(s);
    if (options.kitSession ?? true) await c.query(KIT_SESSION_TAG).catch(() => {});
    return c;
  } catch (err) {
    await c?.end().catch(() => {});
    throw await explainMysqlConnectionError(err, side, url);
  }
}

/** A pool of pinned sessions (each new connection runs SESSION_SETUP, and by default KIT_SESSION_TAG, before its first use). */
export function openMysqlPool(url: string, size: number, options: MysqlSessionOptions = {}): mysql.Pool {
  const pool = mysqlDriver().createPool({ ...driverOptions(url), connectionLimit: size, waitForConnections: true, maxIdle: size });
  // the pool's `connection` event hands the callback-API connection
  pool.pool.on('connection', (conn: { query(sql: string, cb?: (err: unknown) => void): void }) => {
    for (const s of SESSION_SETUP) conn.query(s);
    if (options.kitSession ?? true) tagKitSession(conn);
  });
  return pool;
}

/** Rows of a statement as plain objects. */
export async function mysqlRows<T = Record<string, unknown>>(db: mysql.Pool | mysql.Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await db.query(sql, params);
  return rows as T[];
}
