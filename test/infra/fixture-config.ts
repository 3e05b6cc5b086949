import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, type LoadedConfig } from '../../lib/config/load.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const FORWARD_MAPPING_FILE = path.join(FIXTURES, 'forward.json');
export const REVERSE_MAPPING_FILE = path.join(FIXTURES, 'reverse.json');

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const elb = (tail: string) => `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:${tail}`;
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;

/**
 * The config the infra tests synthesize: `staging` creates everything (VPC, ALB, Aurora,
 * Fargate); `prod` imports a VPC and a listener; `byo` brings an existing target database and
 * green target group; `lab` is a postgres environment. Mapping paths are relative to fixtures/.
 */
export function fixtureRawConfig(): Record<string, unknown> {
  const mappings = { forward: 'forward.json', reverse: 'reverse.json' };
  const source = { engine: 'mysql', host: 'cainiao-db.internal', port: 3306, database: 'cainiao', secretArn: secret('cainiao-dms-AbCdEf'), dbInstanceIdentifier: 'cainiao-db' };
  return {
    environments: {
      staging: {
        platform: 'aws',
        account: ACCOUNT,
        region: REGION,
        source,
        blue: { targetGroupArn: elb('targetgroup/cainiao-staging/0123456789abcdef') },
        green: { fargate: { image: 'public.ecr.aws/example/duoduo:1.0.0' } },
        mappings,
        gates: { maxErrorRatio: 0.02, maxP99RatioToBlue: 2.5 },
        alarms: { p99LatencySeconds: 1.5, cdcLatencySeconds: 30 },
        backup: { objectLockDays: 45 },
        alarmEmail: 'oncall@example.com',
      },
      prod: {
        platform: 'aws',
        account: ACCOUNT,
        region: REGION,
        vpc: {
          id: 'vpc-0abc1234def567890',
          cidrBlock: '10.20.0.0/16',
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          privateSubnetIds: ['subnet-0aaa1111bbb22222a', 'subnet-0aaa1111bbb22222b'],
        },
        source: { ...source, engine: 'postgres', port: 5432 },
        blue: { targetGroupArn: elb('targetgroup/cainiao-prod/fedcba9876543210') },
        green: { fargate: { image: 'public.ecr.aws/example/duoduo:1.0.0', desiredCount: 3 } },
        alb: { listenerArn: elb('listener/app/shop-prod/50dc6c495c0c9188/f2f7dc8efc522ab2'), loadBalancerSecurityGroupId: 'sg-0123456789abcdef0' },
        mappings,
      },
      byo: {
        platform: 'aws',
        account: ACCOUNT,
        region: REGION,
        source,
        target: { endpoint: 'duoduo.cluster-abc.eu-west-1.rds.amazonaws.com', database: 'duoduo', secretArn: secret('duoduo-dms'), dbClusterIdentifier: 'duoduo' },
        blue: { targetGroupArn: elb('targetgroup/cainiao-byo/0123456789abcdef') },
        green: { targetGroupArn: elb('targetgroup/duoduo-byo/abcdef0123456789') },
        alb: { listenerArn: elb('listener/app/shop-byo/50dc6c495c0c9188/f2f7dc8efc522ab2') },
        replication: { createServiceRoles: false },
        mappings,
      },
      lab: {
        platform: 'postgres',
        source: { url: 'postgres://postgres@127.0.0.1:5432/cainiao' },
        target: { url: 'postgres://postgres@127.0.0.1:5433/duoduo' },
        mappings,
      },
    },
  };
}

export function fixtureConfig(raw: unknown = fixtureRawConfig()): LoadedConfig {
  return parseConfig(raw, path.join(FIXTURES, 'cutover.config.json'), {});
}
