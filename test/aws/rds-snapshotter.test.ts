import { beforeEach, describe, expect, test } from 'vitest';
import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
  StartExportTaskCommand,
} from '@aws-sdk/client-rds';
import { RdsSnapshotter } from '../../lib/aws/rds-snapshotter.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { ARNS, BUCKET, awsEnv, commandNames, fakeTime, inputsOf, mocks, newClients, resetMocks, ssmParameters } from './aws-fixtures.ts';

const clusterEnv = () => awsEnv({ source: { ...awsEnv().source, dbInstanceIdentifier: undefined, dbClusterIdentifier: 'legacy-cluster' } });
const ID = 'cutover-staging-20250301100000';
const SNAP_ARN = `arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:${ID}`;

beforeEach(() => resetMocks(ssmParameters({ 'snapshot-export-role-arn': ARNS.exportRole, 'backup-key-arn': ARNS.backupKey })));

describe('RdsSnapshotter', () => {
  test('creates a tagged cluster snapshot, waits with progress, exports it to the backup bucket', async () => {
    mocks.rds.on(CreateDBClusterSnapshotCommand).resolves({});
    const snap = (Status: string, PercentProgress: number) => ({
      DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: ID, DBClusterSnapshotArn: SNAP_ARN, Status, PercentProgress, SnapshotCreateTime: new Date('2025-03-01T10:00:00Z') }],
    });
    mocks.rds.on(DescribeDBClusterSnapshotsCommand).resolvesOnce(snap('creating', 0)).resolvesOnce(snap('creating', 60)).resolves(snap('available', 100));
    mocks.rds.on(StartExportTaskCommand).resolves({});
    const task = (Status: string, PercentProgress: number) => ({
      ExportTasks: [{ ExportTaskIdentifier: `${ID}-export`, SourceArn: SNAP_ARN, Status, PercentProgress, S3Bucket: BUCKET, S3Prefix: 'snapshots/staging' }],
    });
    mocks.rds.on(DescribeExportTasksCommand).resolvesOnce(task('STARTING', 0)).resolvesOnce(task('IN_PROGRESS', 50)).resolves(task('COMPLETE', 100));
    const out = new RecordingOutput();
    const manifest = await new RdsSnapshotter(clusterEnv(), newClients(), out, { ...fakeTime(), pollMs: 30_000 }).snapshot();
    expect(commandNames(mocks.rds)).toEqual([
      'CreateDBClusterSnapshot',
      'DescribeDBClusterSnapshots',
      'DescribeDBClusterSnapshots',
      'DescribeDBClusterSnapshots',
      'StartExportTask',
      'DescribeExportTasks',
      'DescribeExportTasks',
      'DescribeExportTasks',
    ]);
    expect(inputsOf(mocks.rds, 'CreateDBClusterSnapshot')[0]).toEqual({
      DBClusterIdentifier: 'legacy-cluster',
      DBClusterSnapshotIdentifier: ID,
      Tags: [
        { Key: 'cutover:env', Value: 'staging' },
        { Key: 'cutover:tool-version', Value: expect.any(String) },
      ],
    });
    expect(inputsOf(mocks.rds, 'StartExportTask')[0]).toEqual({
      ExportTaskIdentifier: `${ID}-export`,
      SourceArn: SNAP_ARN,
      S3BucketName: BUCKET,
      S3Prefix: 'snapshots/staging',
      IamRoleArn: ARNS.exportRole,
      KmsKeyId: ARNS.backupKey,
    });
    expect(manifest).toMatchObject({ id: ID, position: ID, kind: 'db-cluster-snapshot', status: 'available', export: { status: 'COMPLETE', bucket: BUCKET } });
    expect(out.progressUpdates.map((u) => `${u.topic} ${u.done}`)).toEqual(['snapshot 0', 'snapshot 60', 'snapshot export 0', 'snapshot export 50']);
  });

  test('an RDS instance gets CreateDBSnapshot; without export parameters the export is skipped with a warning', async () => {
    resetMocks();
    mocks.rds.on(CreateDBSnapshotCommand).resolves({});
    mocks.rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: ID, DBSnapshotArn: 'arn:aws:rds:x:1:snapshot:a', Status: 'available' }] });
    const out = new RecordingOutput();
    const m = await new RdsSnapshotter(awsEnv(), newClients(), out, { ...fakeTime() }).snapshot();
    expect(commandNames(mocks.rds)).toEqual(['CreateDBSnapshot', 'DescribeDBSnapshots']);
    expect(inputsOf(mocks.rds, 'CreateDBSnapshot')[0]).toMatchObject({ DBInstanceIdentifier: 'legacy-db', DBSnapshotIdentifier: ID });
    expect(m.export).toBeUndefined();
    expect(out.text()).toContain('no export to S3');
  });

  test('verify fails if the export is not COMPLETE', async () => {
    mocks.rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: ID, DBClusterSnapshotArn: SNAP_ARN, Status: 'available' }] });
    mocks.rds.on(DescribeExportTasksCommand).resolves({ ExportTasks: [{ ExportTaskIdentifier: `${ID}-export`, Status: 'FAILED', FailureCause: 'The IAM role does not have s3:PutObject' }] });
    const v = await new RdsSnapshotter(clusterEnv(), newClients(), new RecordingOutput()).verify(ID);
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([`export ${ID}-export is FAILED: The IAM role does not have s3:PutObject, not COMPLETE`]);
  });

  test('verify passes for the newest available, exported snapshot', async () => {
    mocks.rds.on(DescribeDBClusterSnapshotsCommand).resolves({
      DBClusterSnapshots: [
        { DBClusterSnapshotIdentifier: 'cutover-staging-20250201000000', DBClusterSnapshotArn: 'old', Status: 'available', SnapshotCreateTime: new Date('2025-02-01') },
        { DBClusterSnapshotIdentifier: ID, DBClusterSnapshotArn: SNAP_ARN, Status: 'available', SnapshotCreateTime: new Date('2025-03-01') },
        { DBClusterSnapshotIdentifier: 'rds:automated-1', DBClusterSnapshotArn: 'auto', Status: 'available', SnapshotCreateTime: new Date('2025-03-02') },
      ],
    });
    mocks.rds.on(DescribeExportTasksCommand).resolves({ ExportTasks: [{ ExportTaskIdentifier: `${ID}-export`, Status: 'COMPLETE' }] });
    const v = await new RdsSnapshotter(clusterEnv(), newClients(), new RecordingOutput()).verify();
    expect(v).toMatchObject({ ok: true, problems: [], manifest: { id: ID } });
  });

  test('fails if the snapshot fails', async () => {
    mocks.rds.on(CreateDBClusterSnapshotCommand).resolves({});
    mocks.rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: ID, Status: 'failed' }] });
    await expect(new RdsSnapshotter(clusterEnv(), newClients(), new RecordingOutput(), { ...fakeTime() }).snapshot()).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  test('fails if no RDS source is named, and restore is NOT_SUPPORTED with the manual procedure', async () => {
    const env = awsEnv({ source: { ...awsEnv().source, dbInstanceIdentifier: undefined } });
    await expect(new RdsSnapshotter(env, newClients(), new RecordingOutput()).snapshot()).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    const err = await new RdsSnapshotter(env, newClients(), new RecordingOutput()).restore({ targetUrl: 'postgres://x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_SUPPORTED' });
    expect((err as { details: { fix: string } }).details.fix).toContain('restore-db-cluster-from-snapshot');
  });
});
