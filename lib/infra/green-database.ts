import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { suppressNag } from './nag.ts';
import { keyDefaults } from './defaults/bucket-defaults.ts';
import { GREEN_AURORA_ENGINE, greenClusterDefaults, greenClusterParameters } from './defaults/aurora-defaults.ts';

export interface GreenDatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Cluster identifier (also names its log group), e.g. `cutover-staging-green`. */
  readonly clusterIdentifier: string;
  /**
   * @default 'app'
   */
  readonly databaseName?: string;
  /**
   * Aurora Serverless v2 minimum capacity (ACU).
   * @default 0.5
   */
  readonly minCapacity?: number;
  /**
   * Aurora Serverless v2 maximum capacity (ACU).
   * @default 4
   */
  readonly maxCapacity?: number;
  /**
   * Deletion protection, RETAIN and a reader in a second zone.
   * @default false
   */
  readonly isProtected?: boolean;
  /**
   * Automated backup retention (at most 35 days).
   * @default Duration.days(14)
   */
  readonly backupRetention?: Duration;
  /**
   * @default - a new customer-managed key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Replaces secure defaults; each overridden field is reported as a warning annotation.
   * @default - no overrides
   */
  readonly overrides?: Partial<rds.DatabaseClusterProps>;
}

/**
 * The new (green) database: Aurora PostgreSQL Serverless v2, encrypted, IAM authentication,
 * generated secret, logical replication on for the reverse task.
 */
export class GreenDatabase extends Construct {
  public readonly cluster: rds.DatabaseCluster;
  public readonly databaseName: string;
  public readonly port = 5432;

  constructor(scope: Construct, id: string, props: GreenDatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'app';
    const isProtected = props.isProtected ?? false;
    const key = props.encryptionKey ?? new kms.Key(this, 'Key', keyDefaults('cutover green database'));
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine: GREEN_AURORA_ENGINE,
      description: 'cutover green: logical replication for the reverse DMS task, TLS only',
      parameters: greenClusterParameters(),
    });
    const retentionDays = Math.min((props.backupRetention ?? Duration.days(14)).toDays(), 35);
    for (const field of Object.keys(props.overrides ?? {})) {
      Annotations.of(this).addWarningV2(`cutover:GreenDatabaseOverride:${field}`, `GreenDatabase secure default "${field}" is overridden`);
    }
    // The log group RDS would create never expires; creating it here sets a retention without
    // the log-retention Lambda that `cloudwatchLogsRetention` would add.
    const logGroup = new logs.LogGroup(this, 'PostgresqlLogs', {
      logGroupName: `/aws/rds/cluster/${props.clusterIdentifier}/postgresql`,
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.cluster = new rds.DatabaseCluster(this, 'Resource', {
      clusterIdentifier: props.clusterIdentifier,
      ...greenClusterDefaults({ isProtected, backupRetention: Duration.days(retentionDays) }),
      engine: GREEN_AURORA_ENGINE,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      storageEncryptionKey: key,
      parameterGroup,
      defaultDatabaseName: this.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret('cutover_admin', { encryptionKey: key }),
      serverlessV2MinCapacity: props.minCapacity ?? 0.5,
      serverlessV2MaxCapacity: props.maxCapacity ?? 4,
      writer: rds.ClusterInstance.serverlessV2('Writer', { publiclyAccessible: false, autoMinorVersionUpgrade: true }),
      readers: isProtected
        ? [rds.ClusterInstance.serverlessV2('Reader', { publiclyAccessible: false, autoMinorVersionUpgrade: true, scaleWithWriter: true })]
        : [],
      ...props.overrides,
    });
    this.cluster.node.addDependency(logGroup);
    suppressNag(this.cluster, 'AwsSolutions-SMG4', 'Rotating the admin password during the migration would break the open DMS connections and the green app; rotation is switched on after finalize (runbooks/cutover.md).');
    suppressNag(this.cluster, 'AwsSolutions-IAM4', 'AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy of the enhanced-monitoring service role; it only writes RDSOSMetrics logs.', ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole']);
    if (!isProtected) {
      suppressNag(this.cluster, 'AwsSolutions-RDS10', 'Deletion protection is on for protected environments (prod); an unprotected rehearsal environment must be removable by `cdk destroy` (a final snapshot is kept).');
    }
  }
}
