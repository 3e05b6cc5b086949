/**
 * The SSM parameters the CDK stacks publish for every environment, under `/cutover/<env>/…`.
 * The runbook finds every AWS resource by environment name alone through these names, so they
 * are a contract between `lib/infra` (writer) and `lib/aws` (reader): renaming one breaks a
 * deployed environment. Each constant is the path below `/cutover/<env>/`.
 */
export const SSM_PARAMETER_NAMES = {
  backupBucketName: 'backup-bucket-name',
  forwardTaskArn: 'forward-task-arn',
  reverseTaskArn: 'reverse-task-arn',
  listenerArn: 'listener-arn',
  writeRuleArn: 'write-rule-arn',
  blueTargetGroupArn: 'blue-target-group-arn',
  greenTargetGroupArn: 'green-target-group-arn',
  /** Name of the String parameter holding the cutover state JSON the router writes. */
  stateParameterName: 'state-parameter-name',
  targetSecretArn: 'target-secret-arn',
  targetEndpoint: 'target-endpoint',
  sourceSecretArn: 'source-secret-arn',
} as const;

/**
 * Published when the stack can export snapshots to S3 (`StartExportTask` needs an IAM role and a
 * KMS key). Missing: `snapshot` skips the export with a warning.
 */
export const OPTIONAL_SSM_PARAMETER_NAMES = {
  snapshotExportRoleArn: 'snapshot-export-role-arn',
  backupKeyArn: 'backup-key-arn',
} as const;

export type RequiredResourceKey = keyof typeof SSM_PARAMETER_NAMES;
export type OptionalResourceKey = keyof typeof OPTIONAL_SSM_PARAMETER_NAMES;

/** `/cutover/<env>/` — the path `GetParametersByPath` reads. */
export function ssmParameterPath(envName: string): string {
  return `/cutover/${envName}/`;
}

/** The full name of one parameter, e.g. `/cutover/prod/forward-task-arn`. */
export function ssmParameterName(envName: string, key: RequiredResourceKey | OptionalResourceKey): string {
  const leaf =
    key in SSM_PARAMETER_NAMES
      ? SSM_PARAMETER_NAMES[key as RequiredResourceKey]
      : OPTIONAL_SSM_PARAMETER_NAMES[key as OptionalResourceKey];
  return `${ssmParameterPath(envName)}${leaf}`;
}
