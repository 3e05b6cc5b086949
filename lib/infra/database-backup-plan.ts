import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { suppressNag } from './nag.ts';

export interface DatabaseBackupPlanProps {
  /** The legacy and new databases (RDS instances or Aurora clusters). */
  readonly resources: readonly backup.BackupResource[];
  /**
   * Retention of the daily backups.
   * @default - 14 days
   */
  readonly dailyRetention?: Duration;
  /**
   * Retention of the weekly backups.
   * @default - 90 days
   */
  readonly weeklyRetention?: Duration;
  /**
   * Key of the backup vault.
   * @default - AWS Backup's default key for the vault
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * AWS Backup for both databases for the length of the migration: a daily and a weekly recovery
 * point. RDS and Aurora backups in AWS Backup are snapshots, incremental by storage after the
 * first; the weekly rule keeps a longer-lived point per week (the "weekly full" of the runbook).
 */
export class DatabaseBackupPlan extends Construct {
  public readonly vault: backup.BackupVault;
  public readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: DatabaseBackupPlanProps) {
    super(scope, id);
    this.vault = new backup.BackupVault(this, 'Vault', {
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.plan = new backup.BackupPlan(this, 'Resource', { backupVault: this.vault });
    this.plan.addRule(
      new backup.BackupPlanRule({
        ruleName: 'Daily',
        scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }),
        deleteAfter: props.dailyRetention ?? Duration.days(14),
      }),
    );
    this.plan.addRule(
      new backup.BackupPlanRule({
        ruleName: 'Weekly',
        scheduleExpression: events.Schedule.cron({ weekDay: 'SUN', hour: '4', minute: '0' }),
        deleteAfter: props.weeklyRetention ?? Duration.days(90),
      }),
    );
    if (props.resources.length > 0) {
      const selection = this.plan.addSelection('Databases', { resources: [...props.resources] });
      suppressNag(selection, 'AwsSolutions-IAM4', 'AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy AWS Backup requires to snapshot RDS and Aurora; it follows new service features.', ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup']);
    }
  }
}
