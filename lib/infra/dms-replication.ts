import { gateAlarmName } from '../platform/gate-alarms.ts';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { keyDefaults } from './defaults/bucket-defaults.ts';
import { forwardTaskSettings, reverseTaskSettings } from './defaults/replication-defaults.ts';
import { DmsEndpoint, type DmsDatabaseEngine } from './dms-endpoint.ts';
import { dmsResourceIdentifiers, dmsTaskMetric } from './dms-metrics.ts';
import { DmsServiceRoles } from './dms-service-roles.ts';
import { ReplicationTask } from './replication-task.ts';

/** One side of the replication: engine, database and the secret DMS connects with. */
export interface ReplicationDatabase {
  readonly engine: DmsDatabaseEngine;
  readonly databaseName: string;
  /** Secret with `host`, `port`, `username`, `password`. */
  readonly secret: secretsmanager.ISecret;
  /** Port the replication instance must reach (security-group egress). */
  readonly port: number;
}

export interface DmsReplicationProps {
  /** Environment name, used in identifiers (`cutover-<env>-forward`). */
  readonly environmentName: string;
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the replication instance.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The legacy database (blue). */
  readonly source: ReplicationDatabase;
  /** The new database (green). */
  readonly target: ReplicationDatabase;
  /** Forward table mappings (AWS DMS JSON), embedded verbatim. */
  readonly forwardTableMappings: string;
  /** Reverse table mappings (AWS DMS JSON, green names -> blue names), embedded verbatim. */
  readonly reverseTableMappings: string;
  /**
   * @default 'dms.r6i.large'
   */
  readonly instanceClass?: string;
  /**
   * @default 100
   */
  readonly allocatedStorageGiB?: number;
  /**
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Create `dms-vpc-role` and `dms-cloudwatch-logs-role` (one pair per account).
   * @default true
   */
  readonly createServiceRoles?: boolean;
  /**
   * Key for the replication instance's storage.
   * @default - a new customer-managed key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Topic for CDC latency alarms and task failure events.
   * @default - alarms without actions, no event subscription
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * `CDCLatencySource` / `CDCLatencyTarget` above which the alarms fire.
   * @default Duration.seconds(60)
   */
  readonly cdcLatencyThreshold?: Duration;
  /**
   * @default 3
   */
  readonly evaluationPeriods?: number;
}

/**
 * Forward (blue -> green, full load + CDC) and reverse (green -> blue, CDC only) replication on
 * one provisioned replication instance.
 *
 * Why not DMS Serverless: the reverse task must start CDC from an exact position (green's LSN at
 * the write switch) so that nothing acknowledged on green after the switch is missed or applied
 * twice, and DMS Serverless replications cannot start CDC from a custom start position.
 */
export class DmsReplication extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly replicationInstanceArn: string;
  public readonly replicationInstanceIdentifier: string;
  public readonly forwardTask: ReplicationTask;
  public readonly reverseTask: ReplicationTask;
  public readonly endpoints: {
    readonly blueSource: DmsEndpoint;
    readonly greenTarget: DmsEndpoint;
    readonly greenSource: DmsEndpoint;
    readonly blueTarget: DmsEndpoint;
  };
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: DmsReplicationProps) {
    super(scope, id);
    const ids = dmsResourceIdentifiers(props.environmentName);
    this.replicationInstanceIdentifier = ids.replicationInstance;

    const serviceRoles = props.createServiceRoles === false ? undefined : new DmsServiceRoles(this, 'ServiceRoles');

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `DMS replication instance of ${props.environmentName}: out to both databases and to Secrets Manager only`,
      allowAllOutbound: false,
    });
    // The legacy database may live outside the VPC (on premises, peered), so its port is open to
    // any address; nothing else leaves the instance except HTTPS for Secrets Manager and DMS.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(props.source.port), 'to the legacy database');
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(props.target.port), 'to the new database');
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'to Secrets Manager and AWS APIs');

    const subnetIds = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    const subnetGroup = new dms.CfnReplicationSubnetGroup(this, 'SubnetGroup', {
      replicationSubnetGroupDescription: `cutover ${props.environmentName} replication`,
      replicationSubnetGroupIdentifier: `${ids.replicationInstance}-subnets`,
      subnetIds,
    });
    if (serviceRoles) subnetGroup.node.addDependency(serviceRoles.vpcRole);

    const key = props.encryptionKey ?? new kms.Key(this, 'Key', keyDefaults(`cutover ${props.environmentName} DMS storage`));
    const instance = new dms.CfnReplicationInstance(this, 'Instance', {
      replicationInstanceClass: props.instanceClass ?? 'dms.r6i.large',
      replicationInstanceIdentifier: ids.replicationInstance,
      resourceIdentifier: ids.replicationInstance,
      allocatedStorage: props.allocatedStorageGiB ?? 100,
      multiAz: props.multiAz ?? false,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      kmsKeyId: key.keyArn,
      replicationSubnetGroupIdentifier: subnetGroup.ref,
      vpcSecurityGroupIds: [this.securityGroup.securityGroupId],
    });
    if (serviceRoles) instance.node.addDependency(serviceRoles.cloudWatchLogsRole);
    this.replicationInstanceArn = instance.ref;

    const secretsAccessRole = new iam.Role(this, 'SecretsAccessRole', {
      // DMS reads endpoint secrets through a regional service principal.
      assumedBy: new iam.ServicePrincipal(`dms.${Stack.of(this).region}.amazonaws.com`),
      description: `Lets DMS read the database secrets of ${props.environmentName}`,
    });
    const endpoint = (eid: string, type: 'source' | 'target', db: ReplicationDatabase, suffix: string) =>
      new DmsEndpoint(this, eid, {
        endpointType: type,
        engine: db.engine,
        databaseName: db.databaseName,
        secret: db.secret,
        secretsAccessRole,
        identifier: `cutover-${props.environmentName}-${suffix}`,
      });
    this.endpoints = {
      blueSource: endpoint('BlueSource', 'source', props.source, 'blue-source'),
      greenTarget: endpoint('GreenTarget', 'target', props.target, 'green-target'),
      greenSource: endpoint('GreenSource', 'source', props.target, 'green-source'),
      blueTarget: endpoint('BlueTarget', 'target', props.source, 'blue-target'),
    };

    this.forwardTask = new ReplicationTask(this, 'ForwardTask', {
      replicationInstanceArn: this.replicationInstanceArn,
      sourceEndpointArn: this.endpoints.blueSource.endpointArn,
      targetEndpointArn: this.endpoints.greenTarget.endpointArn,
      migrationType: 'full-load-and-cdc',
      tableMappings: props.forwardTableMappings,
      taskSettings: forwardTaskSettings(),
      identifier: ids.forwardTask,
    });
    this.reverseTask = new ReplicationTask(this, 'ReverseTask', {
      replicationInstanceArn: this.replicationInstanceArn,
      sourceEndpointArn: this.endpoints.greenSource.endpointArn,
      targetEndpointArn: this.endpoints.blueTarget.endpointArn,
      // Changes only: green's data came from blue; after the switch only new writes flow back.
      migrationType: 'cdc',
      tableMappings: props.reverseTableMappings,
      taskSettings: reverseTaskSettings(),
      identifier: ids.reverseTask,
    });

    const threshold = (props.cdcLatencyThreshold ?? Duration.seconds(60)).toSeconds();
    for (const task of [this.forwardTask, this.reverseTask]) {
      for (const metricName of ['CDCLatencySource', 'CDCLatencyTarget'] as const) {
        const direction = task === this.forwardTask ? 'forward' : 'reverse';
        const alarm = new cloudwatch.Alarm(this, `${task.node.id}${metricName}`, {
          // the names the shift (forward) and bake (reverse) gates read: lib/platform/gate-alarms.ts
          alarmName: gateAlarmName(props.environmentName, `${direction}-cdc-latency-${metricName === 'CDCLatencySource' ? 'source' : 'target'}`),
          alarmDescription: `${task.identifier}: ${metricName} above ${threshold} s`,
          metric: dmsTaskMetric(ids.replicationInstance, task.identifier, metricName),
          threshold,
          evaluationPeriods: props.evaluationPeriods ?? 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          // A stopped task publishes nothing: that is not an alarm (the runbook owns start/stop).
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        if (props.alarmTopic) alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
        this.alarms.push(alarm);
      }
    }

    if (props.alarmTopic) {
      new dms.CfnEventSubscription(this, 'TaskEvents', {
        snsTopicArn: props.alarmTopic.topicArn,
        sourceType: 'replication-task',
        eventCategories: ['failure', 'state change'],
        sourceIds: [ids.forwardTask, ids.reverseTask],
        enabled: true,
      }).node.addDependency(this.forwardTask, this.reverseTask);
    }
  }

  /**
   * Opens a database's security groups to the replication instance. The ingress rules live
   * here, beside DMS, so the database's stack never depends on the replication stack.
   */
  public allowToDatabase(database: ec2.IConnectable, port: number): void {
    database.connections.securityGroups.forEach((group, i) => {
      new ec2.CfnSecurityGroupIngress(this, i === 0 ? 'DatabaseIngress' : `DatabaseIngress${i}`, {
        groupId: group.securityGroupId,
        sourceSecurityGroupId: this.securityGroup.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description: 'from the DMS replication instance',
      });
    });
  }
}
