import pg from 'pg';
import { CutoverError } from '../errors.ts';
import { connectMysql } from '../engines/mysql/mysql-connection.ts';

/**
 * The SQL port of the AWS platform's database-side roles (write fence, sequences). PostgreSQL
 * goes through `pg`, the MySQL family through `mysql2` (lib/engines/mysql); tests inject runners.
 */
export interface SqlRunner {
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export type EngineFamily = 'postgres' | 'mysql';

export interface DatabaseEndpoint {
  readonly family: EngineFamily;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** For messages: `blue (source)`. */
  readonly label: string;
}

export type SqlConnector = (endpoint: DatabaseEndpoint) => Promise<SqlRunner>;

/**
 * `pg` over TLS. RDS requires TLS (rds.force_ssl) and Node's CA store lacks the RDS CA, so the
 * certificate is not verified unless `NODE_EXTRA_CA_CERTS` points at the RDS bundle; set it
 * (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) to verify.
 */
export const postgresConnector: SqlConnector = async (e) => {
  const client = new pg.Client({
    host: e.host,
    port: e.port,
    database: e.database,
    user: e.user,
    password: e.password,
    ssl: { rejectUnauthorized: Boolean(process.env.NODE_EXTRA_CA_CERTS) },
    connectionTimeoutMillis: 10_000,
    application_name: 'cutover-kit',
  });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new CutoverError('CONNECTION_FAILED', `cannot connect to ${e.label} at ${e.host}:${e.port}/${e.database}: ${(err as Error).message}`, {
      fix: 'run from a host inside the VPC (or through the bastion/SSM tunnel) with the database security group open to it',
      cause: err,
    });
  }
  return {
    async query(sql, params) {
      return (await client.query(sql, params as unknown[] | undefined)).rows as Record<string, unknown>[];
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
};

/**
 * `mysql2` over TLS (RDS/Aurora MySQL require or offer it; the certificate is verified only with
 * `NODE_EXTRA_CA_CERTS` set, as for PostgreSQL), in a session pinned by the MySQL engine module.
 */
export const mysqlConnector: SqlConnector = async (e) => {
  const c = await connectMysql(mysqlEndpointUrl(e), e.label);
  return {
    async query(sql, params) {
      const [rows] = await c.query(sql, params as unknown[] | undefined);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    async close() {
      await c.end().catch(() => {});
    },
  };
};

/** `mysql://user:pass@host:port/db?ssl={…}` of an endpoint (for the MySQL engine's roles). */
export function mysqlEndpointUrl(e: DatabaseEndpoint): string {
  const ssl = encodeURIComponent(JSON.stringify({ rejectUnauthorized: Boolean(process.env.NODE_EXTRA_CA_CERTS) }));
  return `mysql://${encodeURIComponent(e.user)}:${encodeURIComponent(e.password)}@${e.host}:${e.port}/${encodeURIComponent(e.database)}?ssl=${ssl}`;
}

/** @deprecated a MySQL driver (mysql2) is installed now: `mysqlConnector` is the default. */
export const missingMysqlConnector: SqlConnector = async (e) => {
  throw new CutoverError('NOT_SUPPORTED', `${e.label} is a MySQL-family engine and no MySQL driver is installed`, {
    fix: 'pass `mysqlConnector` to createAwsPlatform (an adapter over mysql2/promise implementing SqlRunner), or fence writes by hand: see AuroraWriteFence',
  });
};
