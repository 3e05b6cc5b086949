/**
 * The SSM parameters every environment publishes under `/cutover/<env>/…`. The runbooks find
 * every resource by environment name alone through these names, so they are a contract: renaming
 * one breaks a deployed runbook.
 */
export const PARAMETER_KEYS = {
  backupBucketName: 'backup/bucket-name',
  backupKeyArn: 'backup/key-arn',
  /** Prefix of the runbook journal objects inside the backup bucket. */
  journalPrefix: 'backup/journal-prefix',
  snapshotExportRoleArn: 'backup/snapshot-export-role-arn',
  backupVaultName: 'backup/vault-name',
  replicationInstanceArn: 'dms/replication-instance-arn',
  forwardTaskArn: 'dms/forward-task-arn',
  reverseTaskArn: 'dms/reverse-task-arn',
  forwardTaskIdentifier: 'dms/forward-task-id',
  reverseTaskIdentifier: 'dms/reverse-task-id',
  sourceSecretArn: 'database/source-secret-arn',
  targetSecretArn: 'database/target-secret-arn',
  targetEndpoint: 'database/target-endpoint',
  targetClusterIdentifier: 'database/target-cluster-id',
  listenerArn: 'router/listener-arn',
  writeRuleArn: 'router/write-rule-arn',
  readRuleArn: 'router/read-rule-arn',
  blueTargetGroupArn: 'router/blue-target-group-arn',
  greenTargetGroupArn: 'router/green-target-group-arn',
  /** The cutover state the runbook reads and writes (`blue`, `shifting`, `switched`, …). */
  state: 'state',
  alarmTopicArn: 'alarms/topic-arn',
  dashboardName: 'dashboard/name',
  metricsNamespace: 'metrics/namespace',
} as const;

export type ParameterKey = keyof typeof PARAMETER_KEYS;

/** `/cutover/<env>/<key path>`, e.g. `/cutover/prod/dms/forward-task-arn`. */
export function cutoverParameterName(environment: string, key: ParameterKey): string {
  return `/cutover/${environment}/${PARAMETER_KEYS[key]}`;
}

/** Value the state parameter is created with; the runbook owns it afterwards (CloudFormation
 * only rewrites a parameter whose template value changes, and this one never does). */
export const INITIAL_CUTOVER_STATE = 'blue';
