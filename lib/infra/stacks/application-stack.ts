import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ResolvedAwsEnvironment } from '../../config/load.ts';
import { CutoverError } from '../../errors.ts';
import { BlueGreenRouter, initialReadAction } from '../blue-green-router.ts';
import { CUTOVER_METRICS_NAMESPACE } from '../custom-metrics.ts';
import { CutoverLoadBalancer } from '../cutover-load-balancer.ts';
import { CutoverParameters } from '../cutover-parameters.ts';
import { logBucketDefaults } from '../defaults/bucket-defaults.ts';
import { dmsResourceIdentifiers } from '../dms-metrics.ts';
import { loadBalancerFullNameOfListener, targetGroupFullName } from '../elb-arns.ts';
import { importListener, importSecret, importTargetGroup } from '../environment-imports.ts';
import { GreenEnvironment } from '../green-environment.ts';
import { suppressNag } from '../nag.ts';

export interface ApplicationStackProps extends StackProps {
  readonly environment: ResolvedAwsEnvironment;
  readonly vpc: ec2.IVpc;
  readonly alarmTopic: sns.ITopic;
}

/**
 * The green environment (database, optional app) and the blue/green routing in front of blue
 * and green. Kept in one stack because a new green service can only start once its target group
 * is attached to the listener rules.
 */
export class ApplicationStack extends Stack {
  public readonly green: GreenEnvironment;
  public readonly router: BlueGreenRouter;
  /** The secret DMS and the green app connect to green's database with. */
  public readonly targetSecret: secretsmanager.ISecret;
  /** ARN of the green Aurora cluster, for AWS Backup; undefined when the target exists outside the kit. */
  public readonly targetClusterArn?: string;

  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    const env = props.environment;
    const target = env.target;
    const existingTargetSecret = 'secretArn' in target ? importSecret(this, 'TargetSecret', target.secretArn) : undefined;

    this.green = new GreenEnvironment(this, 'Green', {
      vpc: props.vpc,
      database:
        'create' in target
          ? {
              clusterIdentifier: `cutover-${env.name}-green`,
              databaseName: target.database,
              minCapacity: target.minCapacity,
              maxCapacity: target.maxCapacity,
              isProtected: env.isProtected,
              backupRetention: Duration.days(env.backup.dailyRetentionDays),
            }
          : undefined,
      service: 'fargate' in env.green ? env.green.fargate : undefined,
      existingDatabaseSecret: existingTargetSecret,
    });
    this.targetSecret = this.green.database?.cluster.secret ?? existingTargetSecret!;
    this.targetClusterArn = this.green.database?.cluster.clusterArn;

    const blueTargetGroup = importTargetGroup(this, 'BlueTargetGroup', env.blue.targetGroupArn);
    let greenTargetGroup: elbv2.IApplicationTargetGroup;
    let greenTargetGroupName: string;
    if ('targetGroupArn' in env.green) {
      greenTargetGroup = importTargetGroup(this, 'GreenTargetGroup', env.green.targetGroupArn);
      greenTargetGroupName = targetGroupFullName(env.green.targetGroupArn);
    } else {
      greenTargetGroup = this.green.service!.targetGroup;
      greenTargetGroupName = this.green.service!.targetGroup.targetGroupFullName;
    }

    let listener: elbv2.IApplicationListener;
    let loadBalancerName: string;
    if ('listenerArn' in env.alb) {
      listener = importListener(this, 'Listener', env.alb.listenerArn, env.alb.loadBalancerSecurityGroupId);
      loadBalancerName = loadBalancerFullNameOfListener(env.alb.listenerArn);
      if (this.green.service) {
        // Only the listener's load balancer when its group is known; else the VPC's range.
        const cidr = env.vpc.cidrBlock;
        this.green.service.allowFromLoadBalancer(
          env.alb.loadBalancerSecurityGroupId
            ? ec2.SecurityGroup.fromSecurityGroupId(this, 'LoadBalancerGroup', env.alb.loadBalancerSecurityGroupId, { mutable: false })
            : ec2.Peer.ipv4(cidr),
        );
      }
    } else {
      if ('id' in env.vpc && !env.vpc.publicSubnetIds?.length) {
        throw new CutoverError('CONFIG_INVALID', `environments.${env.name}.alb: a new load balancer needs public subnets`, {
          received: { vpc: env.vpc.id, alb: env.alb },
          fix: `add vpc.publicSubnetIds, or use an existing listener with alb.listenerArn`,
        });
      }
      const accessLogs = new s3.Bucket(this, 'LoadBalancerLogs', logBucketDefaults());
      suppressNag(accessLogs, 'AwsSolutions-S1', 'This bucket receives access logs; logging its own access into itself would loop. It is TLS-only, private and versioned.');
      const lb = new CutoverLoadBalancer(this, 'LoadBalancer', {
        vpc: props.vpc,
        defaultAction: initialReadAction(blueTargetGroup, greenTargetGroup),
        accessLogsBucket: accessLogs,
        certificateArn: env.alb.certificateArn,
        deletionProtection: env.isProtected,
      });
      listener = lb.listener;
      loadBalancerName = lb.loadBalancer.loadBalancerFullName;
      this.green.service?.allowFromLoadBalancer(lb.loadBalancer);
    }

    this.router = new BlueGreenRouter(this, 'Router', {
      environmentName: env.name,
      listener,
      blueTargetGroup,
      greenTargetGroup,
      blueMetricNames: { loadBalancerFullName: loadBalancerName, targetGroupFullName: targetGroupFullName(env.blue.targetGroupArn) },
      greenMetricNames: { loadBalancerFullName: loadBalancerName, targetGroupFullName: greenTargetGroupName },
      writeRulePriority: env.alb.writeRulePriority,
      maxErrorRatio: env.gates.maxErrorRatio,
      maxP99RatioToBlue: env.gates.maxP99RatioToBlue,
      p99LatencySeconds: env.alarms.p99LatencySeconds,
      evaluationPeriods: env.alarms.evaluationPeriods,
      alarmTopic: props.alarmTopic,
      replication: dmsResourceIdentifiers(env.name),
    });

    const parameters = new CutoverParameters(this, 'Parameters', env.name);
    parameters.add('targetSecretArn', this.targetSecret.secretArn, 'Secret of the green database');
    if (this.green.database) {
      parameters.add('targetEndpoint', this.green.database.cluster.clusterEndpoint.hostname, 'Writer endpoint of the green database');
      parameters.add('targetClusterIdentifier', this.green.database.cluster.clusterIdentifier, 'Green Aurora cluster identifier');
    } else if ('endpoint' in target) {
      parameters.add('targetEndpoint', target.endpoint, 'Endpoint of the green database');
      if (target.dbClusterIdentifier) parameters.add('targetClusterIdentifier', target.dbClusterIdentifier, 'Green cluster identifier');
    }
    parameters.add('listenerArn', listener.listenerArn, 'ALB listener carrying the cutover rules');
    parameters.add('writeRuleArn', this.router.writeRule.listenerRuleArn, 'Listener rule for POST/PUT/PATCH/DELETE');
    parameters.add('stateParameterName', this.router.stateParameter.parameterName, 'SSM parameter holding the cutover state');
    parameters.add('blueTargetGroupArn', blueTargetGroup.targetGroupArn, 'Blue (legacy) target group');
    parameters.add('greenTargetGroupArn', greenTargetGroup.targetGroupArn, 'Green (new) target group');
    parameters.add('dashboardName', this.router.dashboard.dashboard.dashboardName, 'CloudWatch dashboard of the cutover');
    parameters.add('metricsNamespace', CUTOVER_METRICS_NAMESPACE, 'Namespace of the metrics the runbook publishes');
  }
}
