// The default cutover-kit config: `npx cdk synth -c env=staging`, `npx cutover status --env lab`.
// Every field and its default: docs/config-reference.md. Paths are relative to this file.
// Secrets are never written here: AWS environments name Secrets Manager ARNs, and any string may
// reference an environment variable as ${NAME} (loading fails, naming the field, if it is unset).
import { defineConfig } from './lib/config/schema.ts';

const account = '111111111111'; // placeholder: your AWS account id
const region = 'eu-west-1';
const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;

const mappings = {
  forward: 'mappings/cainiao-to-duoduo.json',
  reverse: 'mappings/duoduo-to-cainiao.json',
};

// The legacy cainiao OMS database (blue). DMS reads host, port, username and password from the secret.
const cainiao = {
  engine: 'postgres',
  host: 'cainiao-db.internal.example.com',
  port: 5432,
  database: 'cainiao',
  secretArn: arn('secretsmanager', 'secret:cutover/cainiao-dms-AbCdEf'),
  dbInstanceIdentifier: 'cainiao-db',
} as const;

export default defineConfig({
  environments: {
    // Everything new: VPC, ALB, Aurora PostgreSQL Serverless v2 and the duoduo app on Fargate.
    staging: {
      platform: 'aws',
      account,
      region,
      source: cainiao,
      blue: { targetGroupArn: arn('elasticloadbalancing', 'targetgroup/cainiao-staging/0123456789abcdef') },
      green: { fargate: { image: `${account}.dkr.ecr.${region}.amazonaws.com/duoduo:latest` } },
      mappings,
    },
    // An existing VPC and listener; protected: deletion protection, RETAIN, typed confirmations.
    prod: {
      platform: 'aws',
      account,
      region,
      protected: true,
      vpc: {
        id: 'vpc-0abc1234def567890',
        cidrBlock: '10.20.0.0/16',
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        privateSubnetIds: ['subnet-0aaa1111bbb22222a', 'subnet-0aaa1111bbb22222b'],
      },
      source: { ...cainiao, host: 'cainiao-prod-db.internal.example.com', secretArn: arn('secretsmanager', 'secret:cutover/cainiao-prod-dms-GhIjKl'), dbInstanceIdentifier: 'cainiao-prod-db' },
      target: { create: true, database: 'duoduo', minCapacity: 2, maxCapacity: 32 },
      blue: { targetGroupArn: arn('elasticloadbalancing', 'targetgroup/cainiao-prod/fedcba9876543210') },
      green: { fargate: { image: `${account}.dkr.ecr.${region}.amazonaws.com/duoduo:1.0.0`, desiredCount: 4 } },
      alb: { listenerArn: arn('elasticloadbalancing', 'listener/app/shop-prod/50dc6c495c0c9188/f2f7dc8efc522ab2') },
      // staging, in the same account, already creates the account-wide DMS service roles.
      replication: { instanceClass: 'dms.r6i.xlarge', createServiceRoles: false },
      backup: { objectLockDays: 90, dailyRetentionDays: 35, weeklyRetentionDays: 180 },
      shift: { steps: [1, 5, 10, 25, 50, 100], bakeSeconds: 300 },
      mappings,
    },
    // Bring-your-own PostgreSQL by URL (no AWS): e.g. two local servers. Put a password in the
    // URL as ${LAB_PGPASSWORD} if the servers need one.
    lab: {
      platform: 'postgres',
      source: { url: 'postgres://postgres@127.0.0.1:5432/cainiao' },
      target: { url: 'postgres://postgres@127.0.0.1:5433/duoduo' },
      mappings,
    },
  },
});
