import { ArnFormat, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ResolvedAwsEnvironment } from '../../config/load.ts';
import { BackupBucket } from '../backup-bucket.ts';
import { CutoverParameters } from '../cutover-parameters.ts';
import { DatabaseBackupPlan } from '../database-backup-plan.ts';
import { suppressNag } from '../nag.ts';

export interface BackupStackProps extends StackProps {
  readonly environment: ResolvedAwsEnvironment;
  /**
   * ARN of the green Aurora cluster created by the kit.
   * @default - the target's `dbClusterIdentifier` from the config, or no green backup selection
   */
  readonly targetClusterArn?: string;
}

/** The backup bucket (snapshot exports, logical backups, runbook journal) and AWS Backup for both databases. */
export class BackupStack extends Stack {
  public readonly backupBucket: BackupBucket;
  public readonly snapshotExportRole: iam.Role;

  constructor(scope: Construct, id: string, props: BackupStackProps) {
    super(scope, id, props);
    const env = props.environment;
    this.backupBucket = new BackupBucket(this, 'BackupBucket', {
      objectLockRetention: Duration.days(env.backup.objectLockDays),
      coldStorageAfter: Duration.days(env.backup.coldAfterDays),
    });

    this.snapshotExportRole = new iam.Role(this, 'SnapshotExportRole', {
      assumedBy: new iam.ServicePrincipal('export.rds.amazonaws.com'),
      description: `RDS snapshot export into the cutover ${env.name} backup bucket`,
    });
    this.backupBucket.grantSnapshotExport(this.snapshotExportRole);
    suppressNag(this.snapshotExportRole, 'AwsSolutions-IAM5', 'RDS snapshot export writes many Parquet objects under exports/ and needs the object and KMS action families the RDS user guide lists; limited to this bucket prefix and this key.', [
      'Action::s3:PutObject*',
      'Action::s3:GetObject*',
      'Action::s3:DeleteObject*',
      'Action::kms:GenerateDataKey*',
      'Action::kms:ReEncrypt*',
      { regex: '/^Resource::<BackupBucket[A-Za-z0-9]+\\.Arn>\\/exports\\/\\*$/g' },
    ]);

    const rdsArn = (resource: 'db' | 'cluster', name: string) => this.formatArn({ service: 'rds', resource, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const resources: backup.BackupResource[] = [];
    if (env.source.dbInstanceIdentifier) resources.push(backup.BackupResource.fromArn(rdsArn('db', env.source.dbInstanceIdentifier)));
    if (env.source.dbClusterIdentifier) resources.push(backup.BackupResource.fromArn(rdsArn('cluster', env.source.dbClusterIdentifier)));
    if (props.targetClusterArn) resources.push(backup.BackupResource.fromArn(props.targetClusterArn));
    else if ('dbClusterIdentifier' in env.target && env.target.dbClusterIdentifier) {
      resources.push(backup.BackupResource.fromArn(rdsArn('cluster', env.target.dbClusterIdentifier)));
    }
    const plan = new DatabaseBackupPlan(this, 'DatabaseBackups', {
      resources,
      dailyRetention: Duration.days(env.backup.dailyRetentionDays),
      weeklyRetention: Duration.days(env.backup.weeklyRetentionDays),
      encryptionKey: this.backupBucket.encryptionKey,
    });

    const parameters = new CutoverParameters(this, 'Parameters', env.name);
    parameters.add('backupBucketName', this.backupBucket.bucket.bucketName, 'Backup bucket (exports, backups, journal)');
    parameters.add('backupKeyArn', this.backupBucket.encryptionKey.keyArn, 'KMS key of the backup bucket and vault');
    parameters.add('journalPrefix', this.backupBucket.journalPrefix, 'Key prefix of the runbook journal');
    parameters.add('snapshotExportRoleArn', this.snapshotExportRole.roleArn, 'Role RDS assumes to export snapshots');
    parameters.add('backupVaultName', plan.vault.backupVaultName, 'AWS Backup vault of both databases');
  }
}
