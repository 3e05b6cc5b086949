import { OPTIONAL_SSM_PARAMETER_NAMES, SSM_PARAMETER_NAMES } from '../platform/ssm-parameter-names.ts';

/**
 * The SSM parameters every environment publishes under `/cutover/<env>/…`. The runbooks
 * (lib/aws, the reader) find every resource by environment name alone through these names, so
 * the names the reader requires come from its own table: one source for the contract.
 */
export const PARAMETER_KEYS = {
  ...SSM_PARAMETER_NAMES,
  ...OPTIONAL_SSM_PARAMETER_NAMES,
  /** Prefix of the runbook journal objects inside the backup bucket. */
  journalPrefix: 'journal-prefix',
  backupVaultName: 'backup-vault-name',
  replicationInstanceArn: 'replication-instance-arn',
  forwardTaskIdentifier: 'forward-task-id',
  reverseTaskIdentifier: 'reverse-task-id',
  targetClusterIdentifier: 'target-cluster-id',
  /** The cutover state itself (its name is published as `state-parameter-name`). */
  state: 'state',
  alarmTopicArn: 'alarm-topic-arn',
  dashboardName: 'dashboard-name',
  metricsNamespace: 'metrics-namespace',
} as const;

export type ParameterKey = keyof typeof PARAMETER_KEYS;

/** `/cutover/<env>/<name>`, e.g. `/cutover/prod/forward-task-arn`. */
export function cutoverParameterName(environment: string, key: ParameterKey): string {
  return `/cutover/${environment}/${PARAMETER_KEYS[key]}`;
}

/** Value the state parameter is created with; the runbook owns it afterwards (CloudFormation
 * only rewrites a parameter whose template value changes, and this one never does). The reader
 * takes a non-JSON value as its defaults (reads and writes on blue). */
export const INITIAL_CUTOVER_STATE = 'blue';
