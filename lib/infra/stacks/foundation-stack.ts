import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { ResolvedAwsEnvironment } from '../../config/load.ts';
import { CutoverParameters } from '../cutover-parameters.ts';
import { keyDefaults } from '../defaults/bucket-defaults.ts';
import { importVpc } from '../environment-imports.ts';

export interface FoundationStackProps extends StackProps {
  readonly environment: ResolvedAwsEnvironment;
}

/** The network and the alarm topic every other stack of the environment uses. */
export class FoundationStack extends Stack {
  public readonly vpc: ec2.IVpc;
  public readonly alarmTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: FoundationStackProps) {
    super(scope, id, props);
    const env = props.environment;
    if ('id' in env.vpc) {
      this.vpc = importVpc(this, 'Vpc', env.vpc);
    } else {
      const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: env.vpc.maxAzs,
        ipAddresses: ec2.IpAddresses.cidr(env.vpc.cidrBlock),
        // One NAT per zone where an outage must not cut replication off; one in total elsewhere.
        natGateways: env.isProtected ? env.vpc.maxAzs : 1,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        ],
        flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL } },
      });
    }

    const key = new kms.Key(this, 'AlarmTopicKey', keyDefaults(`cutover ${env.name} alarm topic`));
    // CloudWatch alarms and DMS events publish to an encrypted topic only if they may use its key.
    for (const service of ['cloudwatch.amazonaws.com', 'dms.amazonaws.com']) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
        }),
      );
    }
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: `cutover ${env.name} alarms`, masterKey: key, enforceSSL: true });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('dms.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    if (env.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(env.alarmEmail));
    this.alarmTopic = topic;

    new CutoverParameters(this, 'Parameters', env.name).add('alarmTopicArn', topic.topicArn, 'SNS topic of every cutover alarm');
  }
}
