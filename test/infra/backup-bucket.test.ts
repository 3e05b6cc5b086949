import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, test } from 'vitest';
import { BackupBucket, JOURNAL_OBJECT_ACTIONS } from '../../lib/infra/backup-bucket.ts';
import { CUTOVER_FEATURE_FLAGS } from '../../lib/infra/feature-flags.ts';
import { synthEnvironment, type SynthesizedEnvironment } from './synth.ts';

describe('BackupBucket in the staging backup stack', () => {
  let env: SynthesizedEnvironment;
  let bucketId: string;
  beforeAll(() => {
    env = synthEnvironment('staging');
    const buckets = env.backup.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
    bucketId = Object.keys(buckets)[0]!;
  });

  test('denies every request that is not over TLS', () => {
    env.backup.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('locks objects in governance mode for the configured days', () => {
    env.backup.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 45 } } },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  test('encrypts with a customer-managed KMS key that rotates', () => {
    const bucket = env.backup.toJSON().Resources[bucketId];
    const sse = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(sse.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    const keyId = sse.ServerSideEncryptionByDefault.KMSMasterKeyID['Fn::GetAtt'][0];
    expect(env.backup.toJSON().Resources[keyId]).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
  });

  test('every KMS key of the environment rotates and is retained', () => {
    for (const t of [env.foundation, env.application, env.replication, env.backup]) {
      for (const key of Object.values(t.findResources('AWS::KMS::Key'))) {
        expect(key).toMatchObject({ Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
      }
    }
  });

  test('blocks all public access', () => {
    env.backup.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
  });

  test('is retained when the stack is deleted or the bucket replaced', () => {
    env.backup.hasResource('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('moves objects to cold storage and logs access to the log bucket', () => {
    env.backup.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] })]) },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'backup-bucket/' },
    });
  });

  test('aborts a multipart upload left unfinished for a week (a snapshot killed mid-upload cannot)', () => {
    env.backup.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' })]) },
    });
  });

  test('backs up both databases daily and weekly with the configured retention', () => {
    env.backup.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: Match.arrayWith([
          Match.objectLike({ RuleName: 'Daily', Lifecycle: { DeleteAfterDays: 14 } }),
          Match.objectLike({ RuleName: 'Weekly', Lifecycle: { DeleteAfterDays: 90 } }),
        ]),
      },
    });
    const selection = Object.values(env.backup.findResources('AWS::Backup::BackupSelection'))[0]!;
    const resources = JSON.stringify(selection.Properties.BackupSelection.Resources);
    expect(resources).toContain(':db:cainiao-db');
    expect(resources).toContain(':cluster:');
    expect(resources).toContain('cutover-staging-application:ExportsOutputRefGreenDatabase'); // the green cluster
  });
});

describe('BackupBucket grants', () => {
  test('grantJournalWrite gives object read/write on the journal prefix only, and the key', () => {
    const stack = new Stack(new App({ context: { ...CUTOVER_FEATURE_FLAGS }, builtinCloudFormationValidation: false }), 'Grants');
    const bucket = new BackupBucket(stack, 'Backup');
    const role = new iam.Role(stack, 'Runbook', { assumedBy: new iam.AccountRootPrincipal() });
    bucket.grantJournalWrite(role);
    const policy = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    for (const action of JOURNAL_OBJECT_ACTIONS) expect(policy).toContain(action);
    expect(policy).toContain('/journal/*');
    expect(policy).not.toContain('s3:DeleteObject');
    expect(policy).toContain('kms:Decrypt');
  });

  test('overriding a secure default is reported as a warning', () => {
    const stack = new Stack(new App({ context: { ...CUTOVER_FEATURE_FLAGS }, builtinCloudFormationValidation: false }), 'Override');
    new BackupBucket(stack, 'Backup', { overrides: { versioned: true } });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('secure default "versioned" is overridden'));
    expect(warnings).toHaveLength(1);
  });
});
