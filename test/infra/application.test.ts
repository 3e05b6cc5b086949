import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { synthEnvironment, type SynthesizedEnvironment } from './synth.ts';
import { GATE_ALARMS, gateAlarmName } from '../../lib/platform/gate-alarms.ts';

const BLUE_STAGING = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/cainiao-staging/0123456789abcdef';
const PROD_LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/shop-prod/50dc6c495c0c9188/f2f7dc8efc522ab2';

let staging: SynthesizedEnvironment;
let prod: SynthesizedEnvironment;
beforeAll(() => {
  staging = synthEnvironment('staging');
  prod = synthEnvironment('prod');
});

describe('BlueGreenRouter', () => {
  test('creates every alarm the shift and bake gates read, under the name they read (the rest of the stage has the DMS ones)', () => {
    const names = (t: typeof staging.application) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => (r as { Properties: { AlarmName?: string } }).Properties.AlarmName);
    const created = [...names(staging.application), ...names(staging.replication)];
    for (const gate of ['shift', 'bake'] as const) {
      for (const alarm of GATE_ALARMS[gate]) expect(created).toContain(gateAlarmName('staging', alarm));
    }
  });

  test('a write rule sends POST/PUT/PATCH/DELETE to blue', () => {
    staging.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['POST', 'PUT', 'PATCH', 'DELETE'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: BLUE_STAGING }],
    });
  });

  test('everything else takes the weighted default action, blue 100 / green 0', () => {
    staging.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE_STAGING, Weight: 100 }, { TargetGroupArn: { Ref: Match.anyValue() }, Weight: 0 }] },
        },
      ],
    });
    staging.application.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 1);
  });

  test('on an existing listener the write rule attaches to its ARN and the listener is not redefined', () => {
    const rules = Object.values(prod.application.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'));
    expect(rules).toHaveLength(1);
    expect(rules[0]!.Properties.ListenerArn).toBe(PROD_LISTENER);
    prod.application.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 0);
    prod.application.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
  });

  test('a created load balancer logs access and drops invalid headers', () => {
    staging.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
      ]),
    });
  });

  test('alarms use the configured thresholds (5xx ratio, p99, p99 ratio to blue, unhealthy hosts)', () => {
    const alarms = Object.values(staging.application.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const byDescription = (text: string) => alarms.filter((a) => String(a.AlarmDescription).includes(text));
    expect(byDescription('5xx ratio above 0.02').map((a) => a.Threshold)).toEqual([0.02, 0.02]);
    expect(byDescription('p99 TargetResponseTime above 1.5 s').map((a) => a.Threshold)).toEqual([1.5, 1.5]);
    expect(byDescription('green p99 above 2.5 x blue p99').map((a) => a.Threshold)).toEqual([2.5]);
    expect(byDescription('unhealthy hosts').map((a) => [a.Threshold, a.ComparisonOperator])).toEqual([
      [1, 'GreaterThanOrEqualToThreshold'],
      [1, 'GreaterThanOrEqualToThreshold'],
    ]);
    for (const a of alarms) expect(a.AlarmActions).toHaveLength(1);
  });

  test('the cutover state parameter starts at blue and the dashboard exists', () => {
    staging.application.hasResourceProperties('AWS::SSM::Parameter', { Name: '/cutover/staging/state', Value: 'blue' });
    staging.application.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'cutover-staging' });
    const body = JSON.stringify(staging.application.findResources('AWS::CloudWatch::Dashboard'));
    for (const text of ['CDCLatencySource', 'GreenReadWeightPercent', 'ValidationDifferences', 'TargetResponseTime']) expect(body).toContain(text);
  });
});

describe('GreenEnvironment', () => {
  test('Aurora PostgreSQL Serverless v2 with logical replication, encryption and IAM auth', () => {
    staging.application.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: Match.stringLikeRegexp('^aurora-postgresql'),
      Parameters: Match.objectLike({ 'rds.logical_replication': '1', 'rds.force_ssl': '1' }),
    });
    staging.application.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      StorageEncrypted: true,
      EnableIAMDatabaseAuthentication: true,
      DeletionProtection: false,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      BackupRetentionPeriod: 14,
    });
    staging.application.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
  });

  test('prod is deletion-protected and retained, with a reader', () => {
    prod.application.hasResource('AWS::RDS::DBCluster', { Properties: Match.objectLike({ DeletionProtection: true }), DeletionPolicy: 'Retain' });
    prod.application.resourceCountIs('AWS::RDS::DBInstance', 2);
  });

  test('the Fargate service registers in the green target group and gets its database credentials as secrets', () => {
    staging.application.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      LoadBalancers: [Match.objectLike({ ContainerPort: 8080, TargetGroupArn: { Ref: Match.anyValue() } })],
    });
    const task = Object.values(staging.application.findResources('AWS::ECS::TaskDefinition'))[0]!;
    const container = task.Properties.ContainerDefinitions[0];
    expect(container.Secrets.map((s: { Name: string }) => s.Name).sort()).toEqual(['PGDATABASE', 'PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']);
    expect(container.Environment).toBeUndefined();
  });

  test('with an existing listener group, the service admits only that group', () => {
    prod.application.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { SourceSecurityGroupId: 'sg-0123456789abcdef0', FromPort: 8080 });
  });
});
