import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, test } from 'vitest';
import { ReplicationTask, TASK_DESCRIBE_ACTIONS, TASK_START_STOP_ACTIONS } from '../../lib/infra/replication-task.ts';
import { FORWARD_MAPPING_FILE, REVERSE_MAPPING_FILE } from './fixture-config.ts';
import { synthEnvironment, type SynthesizedEnvironment } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

function task(env: SynthesizedEnvironment, migrationType: string): Resource {
  const tasks = Object.values(env.replication.findResources('AWS::DMS::ReplicationTask', { Properties: { MigrationType: migrationType } }));
  expect(tasks).toHaveLength(1);
  return tasks[0] as Resource;
}

/** Every property whose name mentions a password, anywhere in a template. */
function passwordProperties(value: unknown, at = ''): { at: string; value: unknown }[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) =>
    /password$/i.test(k) ? [{ at: `${at}.${k}`, value: v }, ...passwordProperties(v, `${at}.${k}`)] : passwordProperties(v, `${at}.${k}`),
  );
}

describe('DmsReplication', () => {
  let staging: SynthesizedEnvironment;
  let prod: SynthesizedEnvironment;
  let byo: SynthesizedEnvironment;
  beforeAll(() => {
    staging = synthEnvironment('staging');
    prod = synthEnvironment('prod');
    byo = synthEnvironment('byo');
  });

  test('every endpoint reads its credentials from Secrets Manager and has no user, password, host or port', () => {
    for (const env of [staging, prod, byo]) {
      const endpoints = Object.values(env.replication.findResources('AWS::DMS::Endpoint')) as Resource[];
      expect(endpoints).toHaveLength(4);
      for (const e of endpoints) {
        const settings = e.Properties.PostgreSqlSettings ?? e.Properties.MySqlSettings;
        expect(settings.SecretsManagerSecretId).toBeDefined();
        expect(settings.SecretsManagerAccessRoleArn).toBeDefined();
        for (const field of ['Username', 'Password', 'ServerName', 'Port']) expect(e.Properties[field]).toBeUndefined();
      }
    }
  });

  test('no template contains a password: every password field is a Secrets Manager reference', () => {
    for (const env of [staging, prod, byo]) {
      for (const t of [env.foundation, env.application, env.replication, env.backup]) {
        for (const p of passwordProperties(t.toJSON())) expect(JSON.stringify(p.value), p.at).toContain('{{resolve:secretsmanager:');
      }
    }
    expect(staging.json).not.toMatch(/postgres(ql)?:\/\/[^"@]*:[^"@]+@/); // no URL with inline credentials
  });

  test('the forward task is full-load-and-cdc with the forward mapping file embedded verbatim', () => {
    const forward = task(staging, 'full-load-and-cdc');
    const file = readFileSync(FORWARD_MAPPING_FILE, 'utf8');
    expect(JSON.parse(forward.Properties.TableMappings)).toEqual(JSON.parse(file));
    expect(forward.Properties.TableMappings).toBe(JSON.stringify(JSON.parse(file)));
    expect(forward.Properties.ReplicationTaskIdentifier).toBe('cutover-staging-forward');
  });

  test('the forward task validates, logs, stops instead of truncating, loads in parallel and applies in batches', () => {
    const settings = JSON.parse(task(staging, 'full-load-and-cdc').Properties.ReplicationTaskSettings);
    expect(settings.ValidationSettings.EnableValidation).toBe(true);
    expect(settings.Logging.EnableLogging).toBe(true);
    expect(settings.ErrorBehavior.DataTruncationErrorPolicy).toBe('STOP_TASK');
    expect(settings.TargetMetadata).toMatchObject({ LimitedSizeLobMode: true, BatchApplyEnabled: true });
    expect(settings.FullLoadSettings.MaxFullLoadSubTasks).toBeGreaterThan(1);
  });

  test('the reverse task is cdc only, green -> blue, with the reverse mapping file, and never truncates blue', () => {
    const reverse = task(staging, 'cdc');
    expect(JSON.parse(reverse.Properties.TableMappings)).toEqual(JSON.parse(readFileSync(REVERSE_MAPPING_FILE, 'utf8')));
    const endpoints = staging.replication.toJSON().Resources;
    expect(endpoints[reverse.Properties.SourceEndpointArn.Ref].Properties).toMatchObject({ EndpointType: 'source', EngineName: 'aurora-postgresql' });
    expect(endpoints[reverse.Properties.TargetEndpointArn.Ref].Properties).toMatchObject({ EndpointType: 'target', EngineName: 'mysql' });
    expect(JSON.parse(reverse.Properties.ReplicationTaskSettings).FullLoadSettings.TargetTablePrepMode).toBe('DO_NOTHING');
  });

  test('the replication instance is private, encrypted, Multi-AZ only where protected', () => {
    staging.replication.hasResourceProperties('AWS::DMS::ReplicationInstance', { PubliclyAccessible: false, MultiAZ: false, KmsKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } });
    prod.replication.hasResourceProperties('AWS::DMS::ReplicationInstance', { PubliclyAccessible: false, MultiAZ: true });
  });

  test('creates dms-vpc-role before the subnet group, and not at all when told the account has it', () => {
    const roles = staging.replication.findResources('AWS::IAM::Role', { Properties: { RoleName: 'dms-vpc-role' } });
    const [roleId] = Object.keys(roles);
    expect(roleId).toBeDefined();
    const subnetGroup = Object.values(staging.replication.findResources('AWS::DMS::ReplicationSubnetGroup'))[0] as Resource;
    expect(subnetGroup.DependsOn).toContain(roleId);
    staging.replication.resourceCountIs('AWS::IAM::Role', 3);
    expect(Object.keys(byo.replication.findResources('AWS::IAM::Role', { Properties: { RoleName: 'dms-vpc-role' } }))).toHaveLength(0);
  });

  test('alarms on CDC latency of both tasks at the configured threshold, and sends task failures to SNS', () => {
    for (const metric of ['CDCLatencySource', 'CDCLatencyTarget']) {
      for (const taskId of ['cutover-staging-forward', 'cutover-staging-reverse']) {
        staging.replication.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: metric,
          Namespace: 'AWS/DMS',
          Threshold: 30,
          Dimensions: [
            { Name: 'ReplicationInstanceIdentifier', Value: 'cutover-staging-instance' },
            { Name: 'ReplicationTaskIdentifier', Value: taskId },
          ],
        });
      }
    }
    staging.replication.hasResourceProperties('AWS::DMS::EventSubscription', {
      SourceType: 'replication-task',
      EventCategories: ['failure', 'state change'],
      SourceIds: ['cutover-staging-forward', 'cutover-staging-reverse'],
    });
  });
});

describe('ReplicationTask.grantStartStop', () => {
  test('start/stop on this task only; describe calls (no resource-level permission) on *', () => {
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Grants');
    const t = new ReplicationTask(stack, 'Task', {
      replicationInstanceArn: 'arn:aws:dms:eu-west-1:111111111111:rep:x',
      sourceEndpointArn: 'arn:aws:dms:eu-west-1:111111111111:endpoint:s',
      targetEndpointArn: 'arn:aws:dms:eu-west-1:111111111111:endpoint:t',
      migrationType: 'cdc',
      tableMappings: '{"rules":[]}',
      taskSettings: {},
      identifier: 'cutover-test-reverse',
    });
    const role = new iam.Role(stack, 'Runbook', { assumedBy: new iam.AccountRootPrincipal() });
    t.grantStartStop(role);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0]!.Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: [...TASK_START_STOP_ACTIONS], Resource: { Ref: stack.getLogicalId(t.resource) } },
        { Effect: 'Allow', Action: [...TASK_DESCRIBE_ACTIONS], Resource: '*' },
      ]),
    );
  });
});

