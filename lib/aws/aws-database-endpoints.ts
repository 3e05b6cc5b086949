import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Side } from '../platform/roles.ts';
import type { AwsClients } from './aws-clients.ts';
import { awsResourcesFor } from './aws-resource-names.ts';
import { mysqlConnector, mysqlEndpointUrl, postgresConnector, type DatabaseEndpoint, type EngineFamily, type SqlConnector, type SqlRunner } from './sql-runner.ts';

export function engineFamily(engine: string): EngineFamily {
  return engine === 'postgres' || engine === 'aurora-postgresql' ? 'postgres' : 'mysql';
}

/** The fields RDS-managed secrets carry (`username`, `password`, optionally host/port/dbname). */
interface DatabaseSecret {
  username?: string;
  password?: string;
  host?: string;
  port?: number | string;
  dbname?: string;
}

/**
 * Where blue (the source) and green (the target) databases are and how to log in: host/port from
 * the config or the stack's SSM parameters, user/password from Secrets Manager only. Green is
 * the Aurora PostgreSQL cluster the stack creates (or the configured PostgreSQL endpoint).
 */
export class AwsDatabaseEndpoints {
  private readonly cache = new Map<Side, Promise<DatabaseEndpoint>>();

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly connectors: { postgres?: SqlConnector; mysql?: SqlConnector } = {},
  ) {}

  family(side: Side): EngineFamily {
    return side === 'blue' ? engineFamily(this.env.source.engine) : 'postgres';
  }

  endpoint(side: Side): Promise<DatabaseEndpoint> {
    let p = this.cache.get(side);
    if (!p) {
      p = this.resolve(side);
      this.cache.set(side, p);
      p.catch(() => this.cache.delete(side));
    }
    return p;
  }

  private async secret(arn: string, label: string): Promise<DatabaseSecret> {
    try {
      const res = await this.clients.secrets.send(new GetSecretValueCommand({ SecretId: arn }));
      return JSON.parse(res.SecretString ?? '{}') as DatabaseSecret;
    } catch (err) {
      throw new CutoverError('AUTH_FAILED', `cannot read the ${label} database secret ${arn}: ${(err as Error).message}`, {
        received: (err as Error).name,
        fix: 'check secretsmanager:GetSecretValue (and kms:Decrypt) for your role on this secret',
        cause: err,
      });
    }
  }

  private async resolve(side: Side): Promise<DatabaseEndpoint> {
    const r = await awsResourcesFor(this.env.name, this.clients.ssm);
    if (side === 'blue') {
      const s = await this.secret(this.env.source.secretArn ?? r.sourceSecretArn, 'blue (source)');
      return this.endpointOf(s, 'blue (source)', this.family('blue'), this.env.source.host, this.env.source.port, this.env.source.database);
    }
    const t = this.env.target;
    if ('endpoint' in t) {
      const s = await this.secret(t.secretArn, 'green (target)');
      return this.endpointOf(s, 'green (target)', 'postgres', t.endpoint, t.port, t.database);
    }
    const s = await this.secret(r.targetSecretArn, 'green (target)');
    const [host, port] = r.targetEndpoint.split(':');
    return this.endpointOf(s, 'green (target)', 'postgres', host!, port ? Number(port) : 5432, t.database);
  }

  private endpointOf(s: DatabaseSecret, label: string, family: EngineFamily, host: string, port: number, database: string): DatabaseEndpoint {
    if (!s.username || !s.password) {
      throw new CutoverError('AUTH_FAILED', `the ${label} secret has no username/password fields`, {
        allowed: '{"username": "...", "password": "..."} (the RDS-managed secret format)',
        fix: 'store the credentials in that JSON form',
      });
    }
    return { family, host, port, database, user: s.username, password: s.password, label };
  }

  async connect(side: Side): Promise<SqlRunner> {
    const e = await this.endpoint(side);
    const connector = e.family === 'postgres' ? (this.connectors.postgres ?? postgresConnector) : (this.connectors.mysql ?? mysqlConnector);
    return connector(e);
  }

  /** The side's URL in its own engine's scheme (`mysql://…` or `postgres://…`), for the engine modules. */
  async databaseUrl(side: Side): Promise<string> {
    const e = await this.endpoint(side);
    return e.family === 'mysql' ? mysqlEndpointUrl(e) : this.postgresUrl(side);
  }

  /** `postgres://user:pass@host:port/db?sslmode=no-verify` for the shared postgres engines (diff, assess). */
  async postgresUrl(side: Side): Promise<string> {
    const e = await this.endpoint(side);
    if (e.family !== 'postgres') {
      throw new CutoverError('NOT_SUPPORTED', `${e.label} is not PostgreSQL; the diff engine compares PostgreSQL databases only`);
    }
    const ssl = process.env.NODE_EXTRA_CA_CERTS ? 'verify-full' : 'no-verify';
    return `postgres://${encodeURIComponent(e.user)}:${encodeURIComponent(e.password)}@${e.host}:${e.port}/${encodeURIComponent(e.database)}?sslmode=${ssl}`;
  }
}
