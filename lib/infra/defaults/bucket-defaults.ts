import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

export interface BackupBucketDefaultsInput {
  readonly encryptionKey: kms.IKey;
  readonly serverAccessLogsBucket: s3.IBucket;
  readonly objectLockRetention: Duration;
  readonly coldStorageAfter: Duration;
}

/**
 * Secure defaults of the backup bucket, as one pure function so a test (and a reader) sees the
 * whole policy in one place: KMS, TLS only, no public access, versioned, object lock in
 * governance mode, cold storage, access logs, kept when the stack goes away.
 */
export function backupBucketDefaults(input: BackupBucketDefaultsInput): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: input.encryptionKey,
    // One data key per bucket instead of one KMS call per object: cheaper, same protection.
    bucketKeyEnabled: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    // Governance mode: a backup cannot be deleted or overwritten by accident or by a runbook bug,
    // yet an administrator with s3:BypassGovernanceRetention can still clean up after an audit.
    objectLockEnabled: true,
    objectLockDefaultRetention: s3.ObjectLockRetention.governance(input.objectLockRetention),
    lifecycleRules: [
      // A snapshot killed mid-upload (SIGKILL, a lost machine) cannot abort its multipart upload:
      // its parts are invisible to a listing, so neither the next snapshot nor a person sees them,
      // yet they are stored and billed. A week is longer than any snapshot runs.
      { id: 'abort-incomplete-uploads', enabled: true, abortIncompleteMultipartUploadAfter: Duration.days(7) },
      {
        id: 'cold-storage',
        enabled: true,
        transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: input.coldStorageAfter }],
        noncurrentVersionTransitions: [
          { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: input.coldStorageAfter },
        ],
      },
    ],
    serverAccessLogsBucket: input.serverAccessLogsBucket,
    serverAccessLogsPrefix: 'backup-bucket/',
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * The bucket that receives server access logs (S3 and ALB). S3 and ALB log delivery only write to
 * SSE-S3 buckets, so this one cannot use the KMS key.
 */
export function logBucketDefaults(): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    lifecycleRules: [{ id: 'expire-logs', enabled: true, expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/** Customer-managed keys rotate yearly and outlive their stack. */
export function keyDefaults(description: string): kms.KeyProps {
  return { description, enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN };
}
