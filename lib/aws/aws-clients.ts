import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * The SDK clients the AWS platform talks through: one small bag, created once from the region,
 * injected into every adapter so tests pass mocked clients (aws-sdk-client-mock).
 */
export interface AwsClients {
  readonly ssm: SSMClient;
  readonly dms: DatabaseMigrationServiceClient;
  readonly rds: RDSClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
  readonly secrets: SecretsManagerClient;
}

/**
 * Adaptive retry inside every client: the SDK retries throttling and transient errors with a
 * client-side rate limiter. `retryThrottled` (throttle-retry.ts) adds an outer, longer backstop
 * for the few calls that must not fail on cutover night (router and task changes).
 * @default maxAttempts 5
 */
export function createAwsClients(region: string, options: { maxAttempts?: number } = {}): AwsClients {
  const config = { region, maxAttempts: options.maxAttempts ?? 5, retryMode: 'adaptive' as const };
  return {
    ssm: new SSMClient(config),
    dms: new DatabaseMigrationServiceClient(config),
    rds: new RDSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    cloudwatch: new CloudWatchClient(config),
    s3: new S3Client(config),
    secrets: new SecretsManagerClient(config),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const client of Object.values(clients)) (client as { destroy(): void }).destroy();
}
