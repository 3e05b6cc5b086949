import { PostgresInspector } from '../assess/postgres-inspector.ts';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import { CrossEngineValidator } from '../diff/cross-engine-validator.ts';
import { PostgresValidator } from '../diff/postgres-validator.ts';
import { CrossEngineSequenceSync } from '../engines/mysql/cross-engine-sequence-sync.ts';
import { MysqlInspector } from '../engines/mysql/mysql-inspector.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { AssessReport, Inspector, Platform, ValidateOptions, ValidationReport, Validator } from '../platform/roles.ts';
import { RouterClient } from '../platform/router-client.ts';
import type { AwsAdapterOptions } from './adapter-options.ts';
import { CloudWatchGates } from './cloudwatch-gates.ts';
import { AlbRouter } from './alb-router.ts';
import { AuroraSequenceSync } from './aurora-sequence-sync.ts';
import { AuroraWriteFence } from './aurora-write-fence.ts';
import { createAwsClients, destroyAwsClients, type AwsClients } from './aws-clients.ts';
import { AwsDatabaseEndpoints } from './aws-database-endpoints.ts';
import { awsResourcesFor } from './aws-resource-names.ts';
import { DmsReplicator } from './dms-replicator.ts';
import { postgresViewOfAws } from './postgres-view-of-aws.ts';
import { RdsSnapshotter } from './rds-snapshotter.ts';
import type { SqlConnector } from './sql-runner.ts';

export interface CreateAwsPlatformOptions extends AwsAdapterOptions {
  /** Injected clients (tests). @default created from env.region */
  readonly clients?: AwsClients;
  /** MySQL-family blue: a SqlRunner factory. @default mysql2 (sql-runner.ts mysqlConnector) */
  readonly mysqlConnector?: SqlConnector;
  readonly postgresConnector?: SqlConnector;
}

/** The platform adds what DMS reports about validation beside the kit's own diff. */
export interface AwsValidationReport extends ValidationReport {
  readonly dmsValidation: { table: string; state: string; pendingRecords: number; failedRecords: number; suspendedRecords: number }[];
}

/**
 * Validation on AWS: the kit's diff engine (PostgresValidator) over both endpoints, with
 * credentials from Secrets Manager — it needs network access to both databases (run it inside
 * the VPC) — plus DMS's own per-table validation state beside it. A MySQL-family blue is compared
 * by the cross-engine diff (lib/diff/cross-engine-validator.ts).
 */
class AwsValidator implements Validator {
  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly endpoints: AwsDatabaseEndpoints,
    private readonly forward: DmsReplicator,
    private readonly out: Output,
    /** After the write switch the DMS reverse task moves green's writes to blue. */
    private readonly reverse: DmsReplicator,
  ) {}

  async validate(options?: ValidateOptions): Promise<AwsValidationReport> {
    const [source, target] = await Promise.all([this.endpoints.databaseUrl('blue'), this.endpoints.databaseUrl('green')]);
    const view = postgresViewOfAws(this.env, { source, target });
    // a MySQL-family blue: the cross-engine diff (each side's canonical SQL, same outputs)
    const validator = this.endpoints.family('blue') === 'mysql' ? new CrossEngineValidator(view, this.out, this.forward, this.reverse) : new PostgresValidator(view, this.out, this.forward, { reverse: this.reverse });
    const report = await validator.validate(options);
    const dmsValidation = await this.forward.dmsValidation().catch((err: unknown) => {
      this.out.warn('validate', `DMS validation state unavailable: ${(err as Error).message}`);
      return [];
    });
    return { ...report, dmsValidation };
  }
}

/** Pre-flight on AWS: the postgres inspector over both endpoints (PostgreSQL-family blue only). */
class AwsInspector implements Inspector {
  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly endpoints: AwsDatabaseEndpoints,
    private readonly out: Output,
  ) {}

  private async inspector(): Promise<Inspector> {
    const [source, target] = await Promise.all([this.endpoints.databaseUrl('blue'), this.endpoints.databaseUrl('green')]);
    const view = postgresViewOfAws(this.env, { source, target });
    return this.endpoints.family('blue') === 'mysql' ? new MysqlInspector(view, this.out, { sqlFence: false }) : new PostgresInspector(view, this.out);
  }

  async checkConnectivity(): Promise<void> {
    for (const side of ['blue', 'green'] as const) {
      const db = await this.endpoints.connect(side);
      try {
        await db.query('select 1');
      } finally {
        await db.close();
      }
    }
  }

  async assess(): Promise<AssessReport> {
    return (await this.inspector()).assess();
  }
}

/**
 * The `aws` platform: every role on AWS services, every ARN found by environment name alone
 * through the stack's SSM parameters (resolved once, here, so a missing deployment fails first).
 */
export async function createAwsPlatform(env: ResolvedAwsEnvironment, out: Output, options: CreateAwsPlatformOptions = {}): Promise<Platform> {
  const ownClients = !options.clients;
  const clients = options.clients ?? createAwsClients(env.region);
  try {
    await awsResourcesFor(env.name, clients.ssm);
  } catch (err) {
    if (ownClients) destroyAwsClients(clients);
    throw err;
  }
  const endpoints = new AwsDatabaseEndpoints(env, clients, { postgres: options.postgresConnector, mysql: options.mysqlConnector });
  const forward = new DmsReplicator(env, clients, out, 'forward', options);
  const reverse = new DmsReplicator(env, clients, out, 'reverse', options);
  const router = new AlbRouter(env, clients, out, options);
  return {
    name: 'aws',
    inspector: new AwsInspector(env, endpoints, out),
    snapshotter: new RdsSnapshotter(env, clients, out, options),
    forward,
    reverse,
    validator: new AwsValidator(env, endpoints, forward, out, reverse),
    router,
    fence: new AuroraWriteFence(env, clients, out, { endpoints }),
    sequences: new AuroraSequenceSync(endpoints, out, async () => {
      const [source, target] = await Promise.all([endpoints.databaseUrl('blue'), endpoints.databaseUrl('green')]);
      return new CrossEngineSequenceSync(postgresViewOfAws(env, { source, target }), out);
    }),
    // the shift and bake gates read the alarms the stack created (ALB percentiles are approximate)
    alarms: new CloudWatchGates(env, clients, out, options),
    // an ALB cannot mirror; the kit's router in front of blue can, where the config names it
    ...(env.shadowRouter ? { shadow: new RouterClient(env.shadowRouter.adminUrl) } : {}),
    async close() {
      router.close();
      if (ownClients) destroyAwsClients(clients);
    },
  };
}
