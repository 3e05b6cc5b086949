import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ResolvedAwsEnvironment } from '../../lib/config/load.ts';
import type { AwsClients } from '../../lib/aws/aws-clients.ts';
import type { AwsAdapterOptions } from '../../lib/aws/adapter-options.ts';

/** Shared fixtures of the AWS adapter tests: one environment, its SSM parameters, mocked clients. */
export const ENV_NAME = 'staging';
export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

export const ARNS = {
  forwardTask: `arn:aws:dms:${REGION}:${ACCOUNT}:task:FWDTASKID`,
  reverseTask: `arn:aws:dms:${REGION}:${ACCOUNT}:task:REVTASKID`,
  listener: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2`,
  writeRule: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`,
  blueTg: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/blue/73e2d6bc24d8a067`,
  greenTg: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/green/a1b2c3d4e5f60718`,
  sourceSecret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:cutover/staging/source-AbCdEf`,
  targetSecret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:cutover/staging/target-GhIjKl`,
  exportRole: `arn:aws:iam::${ACCOUNT}:role/cutover-staging-export`,
  backupKey: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
};

export const BUCKET = 'cutover-staging-backup-123456789012';
export const STATE_PARAMETER = '/cutover/staging/state';

export function ssmParameters(overrides: Record<string, string | undefined> = {}): { Name: string; Value: string }[] {
  const leaves: Record<string, string | undefined> = {
    'backup-bucket-name': BUCKET,
    'forward-task-arn': ARNS.forwardTask,
    'reverse-task-arn': ARNS.reverseTask,
    'listener-arn': ARNS.listener,
    'write-rule-arn': ARNS.writeRule,
    'blue-target-group-arn': ARNS.blueTg,
    'green-target-group-arn': ARNS.greenTg,
    'state-parameter-name': STATE_PARAMETER,
    'target-secret-arn': ARNS.targetSecret,
    'target-endpoint': 'green.cluster-abc.eu-west-1.rds.amazonaws.com',
    'source-secret-arn': ARNS.sourceSecret,
    ...overrides,
  };
  return Object.entries(leaves)
    .filter(([, v]) => v !== undefined)
    .map(([leaf, v]) => ({ Name: `/cutover/${ENV_NAME}/${leaf}`, Value: v! }));
}

export function awsEnv(overrides: Partial<ResolvedAwsEnvironment> = {}): ResolvedAwsEnvironment {
  return {
    platform: 'aws',
    name: ENV_NAME,
    account: ACCOUNT,
    region: REGION,
    isProtected: false,
    stateDir: '/tmp/cutover-aws-test',
    configFile: '/tmp/cutover.config.json',
    mappingFiles: { forward: '/tmp/forward.json', reverse: '/tmp/reverse.json' },
    vpc: { create: true, maxAzs: 2 },
    source: {
      engine: 'postgres',
      host: 'blue.abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      database: 'legacy',
      secretArn: ARNS.sourceSecret,
      dbInstanceIdentifier: 'legacy-db',
    },
    target: { create: true, database: 'app', minCapacity: 0.5, maxCapacity: 4 },
    blue: { targetGroupArn: ARNS.blueTg },
    green: { targetGroupArn: ARNS.greenTg },
    alb: { listenerArn: ARNS.listener },
    mappings: { forward: 'forward.json', reverse: 'reverse.json' },
    replication: { instanceClass: 'dms.r6i.large', allocatedStorageGiB: 100, waves: [] },
    backup: { objectLockDays: 30, coldAfterDays: 30, dailyRetentionDays: 14, weeklyRetentionDays: 90 },
    validation: { chunkRows: 10_000, concurrency: 4, floatTolerance: 0, reconciliation: [] },
    shift: { steps: [1, 10, 50, 100], bakeSeconds: 30 },
    gates: { maxErrorRatio: 0.01, maxP99RatioToBlue: 3, maxLagMs: 1000, maxValidationAgeSeconds: 3600, minRequests: 20 },
    switch: { catchUpTimeoutMs: 10_000, maxHoldMs: 15_000, sequenceGap: 1000 },
    bake: { seconds: 60 },
    smoke: [],
    ...overrides,
  } as ResolvedAwsEnvironment;
}

export const mocks = {
  ssm: mockClient(SSMClient),
  dms: mockClient(DatabaseMigrationServiceClient),
  rds: mockClient(RDSClient),
  elbv2: mockClient(ElasticLoadBalancingV2Client),
  cloudwatch: mockClient(CloudWatchClient),
  s3: mockClient(S3Client),
  secrets: mockClient(SecretsManagerClient),
};

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

/** Fresh clients (a fresh SSM client also means a fresh resource cache). */
export function newClients(): AwsClients {
  const config = { region: REGION, credentials };
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

/** Resets every mock and serves the deployed environment's SSM parameters. */
export function resetMocks(parameters = ssmParameters()): void {
  for (const m of Object.values(mocks)) m.reset();
  mocks.ssm.on(GetParametersByPathCommand).resolves({ Parameters: parameters });
}

/** A fake clock: `sleep` advances time instantly. */
export function fakeTime(start = new Date('2025-03-01T10:00:00Z')): Required<Pick<AwsAdapterOptions, 'now' | 'sleep'>> & { sleeps: number[]; advance(ms: number): void } {
  let t = start.getTime();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(t),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance(ms: number) {
      t += ms;
    },
  };
}

/** The command names a mock received, in order. */
export function commandNames(mock: { calls(): { args: unknown[] }[] }): string[] {
  return mock.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
}

export function inputsOf<T>(mock: { calls(): { args: unknown[] }[] }, name: string): T[] {
  return mock
    .calls()
    .map((c) => c.args[0] as { constructor: { name: string }; input: T })
    .filter((c) => c.constructor.name === `${name}Command`)
    .map((c) => c.input);
}

export function throttlingError(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
}

/**
 * A small stateful fake of the ALB listener, the write rule and the SSM state parameter on top
 * of the mocks, so a sequence of router calls sees its own earlier changes.
 */
export function fakeAlbAndState(initial: { blue?: number; green?: number; writeTg?: string; state?: string } = {}) {
  const world = {
    listenerActions: [
      { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: ARNS.blueTg, Weight: initial.blue ?? 100 }, { TargetGroupArn: ARNS.greenTg, Weight: initial.green ?? 0 }] } },
    ] as unknown[],
    ruleActions: [{ Type: 'forward', TargetGroupArn: initial.writeTg ?? ARNS.blueTg }] as unknown[],
    state: initial.state ?? 'blue',
  };
  mocks.elbv2.on(DescribeListenersCommand).callsFake(() => ({ Listeners: [{ ListenerArn: ARNS.listener, DefaultActions: world.listenerActions }] }));
  mocks.elbv2.on(DescribeRulesCommand).callsFake(() => ({ Rules: [{ RuleArn: ARNS.writeRule, Actions: world.ruleActions }] }));
  mocks.elbv2.on(ModifyListenerCommand).callsFake((input: { DefaultActions: unknown[] }) => {
    world.listenerActions = input.DefaultActions;
    return {};
  });
  mocks.elbv2.on(ModifyRuleCommand).callsFake((input: { Actions: unknown[] }) => {
    world.ruleActions = input.Actions;
    return {};
  });
  mocks.ssm.on(GetParameterCommand, { Name: STATE_PARAMETER }).callsFake(() => ({ Parameter: { Name: STATE_PARAMETER, Value: world.state } }));
  mocks.ssm.on(PutParameterCommand).callsFake((input: { Value: string }) => {
    world.state = input.Value;
    return { Version: 2 };
  });
  return world;
}

/** An in-memory bucket honouring If-None-Match: * and If-Match on PutObject (S3 semantics). */
export function fakeBucket() {
  const objects = new Map<string, { body: string; etag: string }>();
  let version = 0;
  const fail = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  mocks.s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string; IfNoneMatch?: string; IfMatch?: string }) => {
    const existing = objects.get(input.Key);
    if (input.IfNoneMatch === '*' && existing) throw fail('PreconditionFailed', 412);
    if (input.IfMatch !== undefined && existing?.etag !== input.IfMatch) throw fail('PreconditionFailed', 412);
    const etag = `"etag-${++version}"`;
    objects.set(input.Key, { body: String(input.Body), etag });
    return { ETag: etag };
  });
  mocks.s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const o = objects.get(input.Key);
    if (!o) throw fail('NoSuchKey', 404);
    return { ETag: o.etag, Body: { transformToString: async () => o.body } };
  });
  mocks.s3.on(DeleteObjectCommand).callsFake((input: { Key: string }) => {
    objects.delete(input.Key);
    return {};
  });
  mocks.s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
    Contents: [...objects.keys()].filter((k) => k.startsWith(input.Prefix)).sort().map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  return objects;
}
