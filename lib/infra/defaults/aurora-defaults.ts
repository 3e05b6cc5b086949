import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';

/** The Aurora PostgreSQL major version the green database runs. */
export const GREEN_AURORA_ENGINE = rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_17_5 });

/**
 * Cluster parameters the cutover depends on. `rds.logical_replication=1` lets the reverse DMS task
 * read green's WAL after the write switch; `rds.force_ssl=1` refuses clear-text connections.
 */
export function greenClusterParameters(): Record<string, string> {
  return {
    'rds.logical_replication': '1',
    'rds.force_ssl': '1',
    // DMS holds one slot per task; leave room for both tasks plus a manual one.
    max_replication_slots: '10',
    max_wal_senders: '10',
    log_min_duration_statement: '1000',
  };
}

export interface GreenClusterDefaultsInput {
  readonly isProtected: boolean;
  readonly backupRetention: Duration;
}

/** Secure defaults of the green Aurora cluster (the caller adds VPC, key, capacity, writer). */
export function greenClusterDefaults(input: GreenClusterDefaultsInput): Partial<rds.DatabaseClusterProps> {
  return {
    storageEncrypted: true,
    iamAuthentication: true,
    deletionProtection: input.isProtected,
    // A protected environment keeps the cluster if the stack is deleted; others keep a final snapshot.
    removalPolicy: input.isProtected ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
    backup: { retention: input.backupRetention, preferredWindow: '02:00-03:00' },
    cloudwatchLogsExports: ['postgresql'],
    copyTagsToSnapshot: true,
    monitoringInterval: Duration.seconds(60),
    enablePerformanceInsights: true,
  };
}
