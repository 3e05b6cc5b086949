/**
 * CDK feature flags of the app, in code rather than only in cdk.json so that tests synthesize
 * exactly what `cdk synth` does.
 */
export const CUTOVER_FEATURE_FLAGS: Readonly<Record<string, unknown>> = {
  '@aws-cdk/core:checkSecretUsage': true,
  '@aws-cdk/core:target-partitions': ['aws'],
  '@aws-cdk/aws-iam:minimizePolicies': true,
  // Log delivery through a bucket policy instead of the deprecated log-delivery ACL.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-ecs:arnFormatIncludesClusterName': true,
  // Exports between the environment's stacks stay strong: a consumer blocks deleting a producer.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
};
