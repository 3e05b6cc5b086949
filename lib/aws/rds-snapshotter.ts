import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
  StartExportTaskCommand,
  type ExportTask,
} from '@aws-sdk/client-rds';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { SnapshotManifest, Snapshotter } from '../platform/roles.ts';
import { resolveAdapterOptions, type AwsAdapterOptions, type ResolvedAdapterOptions } from './adapter-options.ts';
import type { AwsClients } from './aws-clients.ts';
import { awsResourcesFor } from './aws-resource-names.ts';
import { throttledCaller } from './throttle-retry.ts';
import { TOOL_VERSION } from '../tool-version.ts';

export const SNAPSHOT_ENV_TAG = 'cutover:env';
export const SNAPSHOT_TOOL_TAG = 'cutover:tool-version';

/** What the AWS manifest adds: the RDS snapshot itself and its S3 export. */
export interface RdsSnapshotManifest extends SnapshotManifest {
  readonly kind: 'db-cluster-snapshot' | 'db-snapshot';
  readonly arn: string;
  readonly status: string;
  readonly export?: { readonly taskId: string; readonly bucket: string; readonly prefix: string; readonly status: string; readonly failureCause?: string };
}

export interface RdsSnapshotterOptions extends AwsAdapterOptions {
  /**
   * Export the snapshot to the backup bucket (Parquet, `StartExportTask`). Needs the stack's
   * export role and KMS key (SSM `snapshot-export-role-arn`, `backup-key-arn`).
   * @default true when both are published, else false with a warning
   */
  readonly exportToS3?: boolean;
  /** Wait for the export to finish (exports take tens of minutes). @default true */
  readonly waitForExport?: boolean;
  /** Give up waiting for the snapshot (or export). @default 7200000 (2 h) */
  readonly timeoutMs?: number;
}

/** Manual restore procedure, printed by `cutover restore` on AWS. */
export const RDS_RESTORE_PROCEDURE = [
  'Restoring an RDS/Aurora snapshot creates a NEW cluster/instance; the kit does not do it on AWS:',
  '1. aws rds restore-db-cluster-from-snapshot --db-cluster-identifier <env>-restore --snapshot-identifier <snapshot id>',
  '   --engine <engine> --db-subnet-group-name <the stack subnet group> --vpc-security-group-ids <the database security group>',
  '   (instance: aws rds restore-db-instance-from-db-snapshot --db-instance-identifier <env>-restore --db-snapshot-identifier <id> …)',
  '2. aws rds create-db-instance --db-cluster-identifier <env>-restore --db-instance-class db.serverless --engine <engine>',
  '3. aws rds wait db-instance-available --db-instance-identifier <the instance>',
  '4. Point a `postgres` environment at it and run `cutover validate` against the source to verify counts and checksums.',
].join('\n');

/**
 * `Snapshotter` on RDS/Aurora: a manual cluster (or instance) snapshot of the SOURCE, tagged
 * with the environment, waited for with progress, optionally exported to the backup bucket.
 * The manifest's `position` is the snapshot id; `tables` is empty (the snapshot is the whole
 * database; the export's own `export_tables_info` files list the tables).
 */
export class RdsSnapshotter implements Snapshotter {
  private readonly opts: ResolvedAdapterOptions;
  private readonly call: ReturnType<typeof throttledCaller>;
  private readonly timeoutMs: number;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly out: Output,
    private readonly options: RdsSnapshotterOptions = {},
  ) {
    this.opts = resolveAdapterOptions(options);
    this.call = throttledCaller(this.opts, (m) => this.out.warn('snapshot', m));
    this.timeoutMs = options.timeoutMs ?? 7_200_000;
  }

  private get cluster(): string | undefined {
    return this.env.source.dbClusterIdentifier;
  }

  private requireSource(): void {
    if (!this.cluster && !this.env.source.dbInstanceIdentifier) {
      throw new CutoverError('PRECONDITION_FAILED', `environment ${this.env.name} names no RDS source to snapshot`, {
        fix: 'set source.dbClusterIdentifier (Aurora) or source.dbInstanceIdentifier (RDS) in the config',
      });
    }
  }

  private prefix(): string {
    return `cutover-${this.env.name}-`;
  }

  private newSnapshotId(): string {
    const stamp = this.opts.now().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    return `${this.prefix()}${stamp}`;
  }

  async snapshot(): Promise<RdsSnapshotManifest> {
    this.requireSource();
    const id = this.newSnapshotId();
    const tags = [
      { Key: SNAPSHOT_ENV_TAG, Value: this.env.name },
      { Key: SNAPSHOT_TOOL_TAG, Value: TOOL_VERSION },
    ];
    if (this.cluster) {
      this.out.step('snapshot', `CreateDBClusterSnapshot ${id} of cluster ${this.cluster}`);
      await this.call('CreateDBClusterSnapshot', () =>
        this.clients.rds.send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: this.cluster, DBClusterSnapshotIdentifier: id, Tags: tags })),
      );
    } else {
      this.out.step('snapshot', `CreateDBSnapshot ${id} of instance ${this.env.source.dbInstanceIdentifier}`);
      await this.call('CreateDBSnapshot', () =>
        this.clients.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: this.env.source.dbInstanceIdentifier, DBSnapshotIdentifier: id, Tags: tags })),
      );
    }
    let manifest = await this.waitForSnapshot(id);
    this.out.ok('snapshot', `${id} available`);
    const exportTo = await this.exportTarget();
    if (exportTo) {
      const taskId = `${id}-export`.slice(0, 60);
      const prefix = `snapshots/${this.env.name}`;
      this.out.step('snapshot', `StartExportTask ${taskId} -> s3://${exportTo.bucket}/${prefix}/`);
      await this.call('StartExportTask', () =>
        this.clients.rds.send(
          new StartExportTaskCommand({
            ExportTaskIdentifier: taskId,
            SourceArn: manifest.arn,
            S3BucketName: exportTo.bucket,
            S3Prefix: prefix,
            IamRoleArn: exportTo.roleArn,
            KmsKeyId: exportTo.keyArn,
          }),
        ),
      );
      const task = this.options.waitForExport === false ? await this.exportTask(manifest.arn) : await this.waitForExport(taskId, manifest.arn);
      manifest = { ...manifest, export: this.exportInfo(task, exportTo.bucket, prefix, taskId) };
    }
    return manifest;
  }

  private exportInfo(task: ExportTask | undefined, bucket: string, prefix: string, taskId: string): NonNullable<RdsSnapshotManifest['export']> {
    return {
      taskId: task?.ExportTaskIdentifier ?? taskId,
      bucket: task?.S3Bucket ?? bucket,
      prefix: task?.S3Prefix ?? prefix,
      status: task?.Status ?? 'STARTING',
      ...(task?.FailureCause ? { failureCause: task.FailureCause } : {}),
    };
  }

  private async exportTarget(): Promise<{ bucket: string; roleArn: string; keyArn: string } | undefined> {
    if (this.options.exportToS3 === false) return undefined;
    const r = await awsResourcesFor(this.env.name, this.clients.ssm);
    if (!r.snapshotExportRoleArn || !r.backupKeyArn) {
      const msg = `no export to S3: SSM /cutover/${this.env.name}/snapshot-export-role-arn and backup-key-arn are not both published`;
      if (this.options.exportToS3 === true) throw new CutoverError('PRECONDITION_FAILED', msg, { fix: `run \`npx cdk deploy -c env=${this.env.name}\` first` });
      this.out.warn('snapshot', msg);
      return undefined;
    }
    return { bucket: r.backupBucketName, roleArn: r.snapshotExportRoleArn, keyArn: r.backupKeyArn };
  }

  private async describe(id: string): Promise<RdsSnapshotManifest | undefined> {
    if (this.cluster) {
      const res = await this.call('DescribeDBClusterSnapshots', () =>
        this.clients.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: id })),
      );
      const s = res.DBClusterSnapshots?.find((x) => x.DBClusterSnapshotIdentifier === id);
      if (!s) return undefined;
      return this.manifestOf('db-cluster-snapshot', s.DBClusterSnapshotIdentifier!, s.DBClusterSnapshotArn ?? '', s.Status ?? 'unknown', s.SnapshotCreateTime, s.PercentProgress);
    }
    const res = await this.call('DescribeDBSnapshots', () => this.clients.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id })));
    const s = res.DBSnapshots?.find((x) => x.DBSnapshotIdentifier === id);
    if (!s) return undefined;
    return this.manifestOf('db-snapshot', s.DBSnapshotIdentifier!, s.DBSnapshotArn ?? '', s.Status ?? 'unknown', s.SnapshotCreateTime, s.PercentProgress);
  }

  private manifestOf(kind: RdsSnapshotManifest['kind'], id: string, arn: string, status: string, created: Date | undefined, percent: number | undefined): RdsSnapshotManifest & { percent: number } {
    return { id, kind, arn, status, createdAt: (created ?? this.opts.now()).toISOString(), toolVersion: TOOL_VERSION, position: id, tables: [], percent: percent ?? 0 };
  }

  private async waitForSnapshot(id: string): Promise<RdsSnapshotManifest> {
    const started = this.opts.now().getTime();
    for (;;) {
      const s = (await this.describe(id)) as (RdsSnapshotManifest & { percent: number }) | undefined;
      if (s?.status === 'available') {
        this.out.done('snapshot');
        const { percent: _p, ...manifest } = s;
        return manifest;
      }
      if (s && /failed|deleted|incompatible/.test(s.status)) {
        throw new CutoverError('PRECONDITION_FAILED', `snapshot ${id} ended ${s.status}`, { received: s.status, fix: 'see the RDS console events of the source; re-run `cutover snapshot`' });
      }
      this.checkTimeout(started, `snapshot ${id} still ${s?.status ?? 'not visible'}`);
      this.out.progress({ topic: 'snapshot', done: s?.percent ?? 0, total: 100, unit: '%', figures: { id, status: s?.status ?? 'creating' } });
      await this.opts.sleep(this.opts.pollMs);
    }
  }

  private checkTimeout(started: number, what: string): void {
    const elapsed = this.opts.now().getTime() - started;
    if (elapsed > this.timeoutMs) {
      throw new CutoverError('TIMEOUT', `${what} after ${Math.round(elapsed / 60_000)} min`, { fix: 'check the RDS console; re-run `cutover snapshot --verify` later' });
    }
  }

  private async exportTask(sourceArn: string, taskId?: string): Promise<ExportTask | undefined> {
    const res = await this.call('DescribeExportTasks', () =>
      this.clients.rds.send(new DescribeExportTasksCommand(taskId ? { ExportTaskIdentifier: taskId } : { SourceArn: sourceArn })),
    );
    const tasks = [...(res.ExportTasks ?? [])].sort((a, b) => (b.TaskStartTime?.getTime() ?? 0) - (a.TaskStartTime?.getTime() ?? 0));
    return tasks[0];
  }

  private async waitForExport(taskId: string, sourceArn: string): Promise<ExportTask | undefined> {
    const started = this.opts.now().getTime();
    for (;;) {
      const t = await this.exportTask(sourceArn, taskId);
      if (t?.Status === 'COMPLETE') {
        this.out.done('snapshot export');
        this.out.ok('snapshot', `export ${taskId} complete (${t.TotalExtractedDataInGB ?? 0} GB)`);
        return t;
      }
      if (t?.Status === 'FAILED' || t?.Status === 'CANCELED') {
        throw new CutoverError('PRECONDITION_FAILED', `snapshot export ${taskId} ${t.Status}: ${t.FailureCause ?? 'no cause given'}`, {
          received: t.Status,
          fix: 'fix the cause (role, KMS key, bucket policy) and re-run `cutover snapshot`',
        });
      }
      this.checkTimeout(started, `snapshot export ${taskId} still ${t?.Status ?? 'not visible'}`);
      this.out.progress({ topic: 'snapshot export', done: t?.PercentProgress ?? 0, total: 100, unit: '%', figures: { task: taskId, status: t?.Status ?? 'STARTING' } });
      await this.opts.sleep(this.opts.pollMs);
    }
  }

  async list(): Promise<RdsSnapshotManifest[]> {
    this.requireSource();
    const found: RdsSnapshotManifest[] = [];
    if (this.cluster) {
      const res = await this.call('DescribeDBClusterSnapshots', () =>
        this.clients.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterIdentifier: this.cluster, SnapshotType: 'manual' })),
      );
      for (const s of res.DBClusterSnapshots ?? []) {
        if (!s.DBClusterSnapshotIdentifier?.startsWith(this.prefix())) continue;
        const { percent: _p, ...m } = this.manifestOf('db-cluster-snapshot', s.DBClusterSnapshotIdentifier, s.DBClusterSnapshotArn ?? '', s.Status ?? 'unknown', s.SnapshotCreateTime, s.PercentProgress);
        found.push(m);
      }
    } else {
      const res = await this.call('DescribeDBSnapshots', () =>
        this.clients.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: this.env.source.dbInstanceIdentifier, SnapshotType: 'manual' })),
      );
      for (const s of res.DBSnapshots ?? []) {
        if (!s.DBSnapshotIdentifier?.startsWith(this.prefix())) continue;
        const { percent: _p, ...m } = this.manifestOf('db-snapshot', s.DBSnapshotIdentifier, s.DBSnapshotArn ?? '', s.Status ?? 'unknown', s.SnapshotCreateTime, s.PercentProgress);
        found.push(m);
      }
    }
    return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Snapshot `available` and, when it was exported, the newest export task `COMPLETE`. */
  async verify(id?: string): Promise<{ ok: boolean; problems: string[]; manifest: RdsSnapshotManifest }> {
    const snapshotId = id ?? (await this.list())[0]?.id;
    if (!snapshotId) {
      throw new CutoverError('PRECONDITION_FAILED', `no cutover snapshot of environment ${this.env.name} exists`, { fix: 'run `cutover snapshot`' });
    }
    const found = (await this.describe(snapshotId)) as (RdsSnapshotManifest & { percent?: number }) | undefined;
    if (!found) {
      throw new CutoverError('PRECONDITION_FAILED', `snapshot ${snapshotId} does not exist`, { received: snapshotId, fix: 'run `cutover snapshot` (or pass an id from the list)' });
    }
    const { percent: _p, ...base } = found;
    const problems: string[] = [];
    if (base.status !== 'available') problems.push(`snapshot ${snapshotId} is ${base.status}, not available`);
    const task = await this.exportTask(base.arn);
    let manifest: RdsSnapshotManifest = base;
    if (task) {
      manifest = { ...base, export: this.exportInfo(task, task.S3Bucket ?? '', task.S3Prefix ?? '', task.ExportTaskIdentifier ?? '') };
      if (task.Status !== 'COMPLETE') {
        problems.push(`export ${task.ExportTaskIdentifier} is ${task.Status}${task.PercentProgress !== undefined ? ` (${task.PercentProgress}%)` : ''}${task.FailureCause ? `: ${task.FailureCause}` : ''}, not COMPLETE`);
      }
    }
    return { ok: problems.length === 0, problems, manifest };
  }

  async checkRestore(_options: { id?: string; targetUrl: string }): Promise<void> {
    throw restoreIsManual();
  }

  async restore(_options: { id?: string; targetUrl: string }): Promise<{ ok: boolean; problems: string[] }> {
    throw restoreIsManual();
  }
}

function restoreIsManual(): CutoverError {
  return new CutoverError('NOT_SUPPORTED', 'restore of an RDS/Aurora snapshot is a manual procedure on AWS', {
    fix: RDS_RESTORE_PROCEDURE,
  });
}
