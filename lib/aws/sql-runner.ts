import pg from 'pg';
import { CutoverError } from '../errors.ts';

/**
 * The SQL port of the AWS platform's database-side roles (write fence, sequences). PostgreSQL
 * goes through `pg`; no MySQL driver is installed, so the MySQL-family runner is injected by the
 * caller (e.g. a 10-line adapter over `mysql2/promise`) — without one, MySQL-family fencing is
 * refused with NOT_SUPPORTED rather than silently skipped.
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

export const missingMysqlConnector: SqlConnector = async (e) => {
  throw new CutoverError('NOT_SUPPORTED', `${e.label} is a MySQL-family engine and no MySQL driver is installed`, {
    fix: 'pass `mysqlConnector` to createAwsPlatform (an adapter over mysql2/promise implementing SqlRunner), or fence writes by hand: see AuroraWriteFence',
  });
};
