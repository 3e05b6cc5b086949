import { Annotations, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { backupBucketDefaults, keyDefaults, logBucketDefaults } from './defaults/bucket-defaults.ts';

/** What the runbook needs on its journal: read back what it wrote, append new records, list them. */
export const JOURNAL_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject'] as const;
export const JOURNAL_BUCKET_ACTIONS = ['s3:ListBucket'] as const;

/** What RDS needs to export a snapshot as Parquet into the bucket (per the RDS user guide). */
export const SNAPSHOT_EXPORT_OBJECT_ACTIONS = ['s3:PutObject*', 's3:GetObject*', 's3:DeleteObject*'] as const;
export const SNAPSHOT_EXPORT_BUCKET_ACTIONS = ['s3:ListBucket', 's3:GetBucketLocation'] as const;

export interface BackupBucketProps {
  /**
   * How long every object version is locked in governance mode.
   * @default - 30 days
   */
  readonly objectLockRetention?: Duration;
  /**
   * Age after which objects (and old versions) move to Glacier Instant Retrieval.
   * @default - 30 days
   */
  readonly coldStorageAfter?: Duration;
  /**
   * Key for the bucket.
   * @default - a new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Bucket that receives the server access logs.
   * @default - a new SSE-S3 log bucket
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
  /**
   * Key prefix of the runbook journal.
   * @default 'journal/'
   */
  readonly journalPrefix?: string;
  /**
   * Key prefix that snapshot exports write to.
   * @default 'exports/'
   */
  readonly exportPrefix?: string;
  /**
   * Replaces secure defaults; each overridden field is reported as a warning annotation.
   * @default - no overrides
   */
  readonly overrides?: Partial<s3.BucketProps>;
}

/**
 * Needs the feature flag `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` (see feature-flags.ts):
 * log delivery by bucket policy, as ACLs are disabled on every bucket of the kit.
 *
 * The bucket that holds snapshots exports, logical backups and the runbook journal: versioned,
 * KMS-encrypted with rotation, TLS only, never public, object-locked in governance mode, moved
 * to cold storage, access-logged, and retained when the stack is deleted.
 */
export class BackupBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly encryptionKey: kms.IKey;
  public readonly logBucket: s3.IBucket;
  public readonly journalPrefix: string;
  public readonly exportPrefix: string;

  constructor(scope: Construct, id: string, props: BackupBucketProps = {}) {
    super(scope, id);
    this.journalPrefix = props.journalPrefix ?? 'journal/';
    this.exportPrefix = props.exportPrefix ?? 'exports/';
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', keyDefaults('cutover backup bucket'));
    this.logBucket = props.serverAccessLogsBucket ?? new s3.Bucket(this, 'AccessLogs', logBucketDefaults());

    const defaults = backupBucketDefaults({
      encryptionKey: this.encryptionKey,
      serverAccessLogsBucket: this.logBucket,
      objectLockRetention: props.objectLockRetention ?? Duration.days(30),
      coldStorageAfter: props.coldStorageAfter ?? Duration.days(30),
    });
    for (const field of Object.keys(props.overrides ?? {})) {
      Annotations.of(this).addWarningV2(
        `cutover:BackupBucketOverride:${field}`,
        `BackupBucket secure default "${field}" is overridden; review that this is intended`,
      );
    }
    this.bucket = new s3.Bucket(this, 'Resource', { ...defaults, ...props.overrides });
  }

  /** Lets the runbook append to and read its journal under `journalPrefix`. */
  public grantJournalWrite(grantee: iam.IGrantable): iam.Grant {
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: [...JOURNAL_OBJECT_ACTIONS],
      resourceArns: [this.bucket.arnForObjects(`${this.journalPrefix}*`)],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: [...JOURNAL_BUCKET_ACTIONS],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${this.journalPrefix}*`] } },
    });
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return objects;
  }

  /** Lets the RDS snapshot-export role write Parquet files under `exportPrefix`. */
  public grantSnapshotExport(grantee: iam.IGrantable): iam.Grant {
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: [...SNAPSHOT_EXPORT_OBJECT_ACTIONS],
      resourceArns: [this.bucket.arnForObjects(`${this.exportPrefix}*`)],
    });
    iam.Grant.addToPrincipal({ grantee, actions: [...SNAPSHOT_EXPORT_BUCKET_ACTIONS], resourceArns: [this.bucket.bucketArn] });
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return objects;
  }
}
