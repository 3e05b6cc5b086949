import {
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type ReplicationTask,
  type TableStatistics,
} from '@aws-sdk/client-database-migration-service';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { ReplicationStatus, Replicator } from '../platform/roles.ts';
import { resolveAdapterOptions, type AwsAdapterOptions, type ResolvedAdapterOptions } from './adapter-options.ts';
import type { AwsClients } from './aws-clients.ts';
import { awsResourcesFor } from './aws-resource-names.ts';
import { maxHeartbeatAgeMs } from '../config/common-schema.ts';
import { DMS_METRIC_STALE_MS, judgeDmsLag, readDmsTaskMetrics } from './dms-metrics.ts';
import { formatDmsPosition, parseDmsPosition } from './dms-position.ts';
import {
  ACTIVE_TASK_STATUSES,
  STARTABLE_TASK_STATUSES,
  chooseStartType,
  phaseOfTask,
  tableStatusOf,
  taskResourceId,
  type DmsTableStatus,
} from './dms-task-state.ts';
import { throttledCaller } from './throttle-retry.ts';

export interface DmsReplicatorOptions extends AwsAdapterOptions {
  /** Give up waiting for the task to reach `running` / `stopped`. @default 900000 (15 min) */
  readonly transitionTimeoutMs?: number;
  /**
   * Added to the operator's clock when capturing a position, covering clock skew between this
   * machine and the DMS instance (both NTP-synchronised). @default 1000
   */
  readonly clockSkewMs?: number;
  /** Source `schema.table` -> target name, for status (the mapping engine when present). */
  readonly targetName?: (source: string) => string;
}

/** `replicate status --json` on AWS: the contract plus the DMS task's own figures. */
export interface DmsReplicationStatus extends ReplicationStatus {
  readonly tables: DmsTableStatus[];
  readonly task: { arn: string; status: string; stopReason?: string; migrationType?: string; fullLoadProgressPercent?: number };
}

/**
 * `Replicator` over one AWS DMS task (forward or reverse, ARNs from SSM). DMS does the work; this
 * class starts/resumes/stops the task with the right start type, waits for it with progress, and
 * reads status from DescribeReplicationTasks + DescribeTableStatistics + CloudWatch.
 *
 * Positions are DMS date positions (dms-position.ts): `sourcePosition()` is the current time
 * (+ skew margin) — after the write fence that is at or after every acknowledged write on the
 * source — and `waitForPosition(p)` waits until a CloudWatch `CDCLatencyTarget` sample proves the
 * target applied everything committed before `p` (sample period start − max latency ≥ p).
 * Because DMS publishes latency per minute, a catch-up on AWS takes 1–3 minutes: set
 * `switch.catchUpTimeoutMs` to at least 180000 for AWS environments. `appliedPosition` in the
 * status is the task's `RecoveryCheckpoint`, verbatim, for the record (DMS can resume from it).
 */
export class DmsReplicator implements Replicator {
  private readonly opts: ResolvedAdapterOptions;
  private readonly transitionTimeoutMs: number;
  private readonly clockSkewMs: number;
  private readonly call: ReturnType<typeof throttledCaller>;
  private readonly topic: string;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly out: Output,
    public readonly direction: 'forward' | 'reverse',
    private readonly options: DmsReplicatorOptions = {},
  ) {
    this.opts = resolveAdapterOptions(options);
    this.transitionTimeoutMs = options.transitionTimeoutMs ?? 900_000;
    this.clockSkewMs = options.clockSkewMs ?? 1000;
    this.topic = `dms ${direction}`;
    this.call = throttledCaller(this.opts, (m) => this.out.warn(this.topic, m));
  }

  private async taskArn(): Promise<string> {
    const r = await awsResourcesFor(this.env.name, this.clients.ssm);
    return this.direction === 'forward' ? r.forwardTaskArn : r.reverseTaskArn;
  }

  async describeTask(): Promise<ReplicationTask> {
    const arn = await this.taskArn();
    const res = await this.call('DescribeReplicationTasks', () =>
      this.clients.dms.send(
        new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [arn] }], WithoutSettings: true }),
      ),
    );
    const task = res.ReplicationTasks?.[0];
    if (!task) {
      throw new CutoverError('PRECONDITION_FAILED', `DMS ${this.direction} task ${arn} does not exist`, {
        received: arn,
        fix: `run \`npx cdk deploy -c env=${this.env.name}\` (the SSM parameter points at a deleted task)`,
      });
    }
    return task;
  }

  async start(options: { wave?: string; foreground?: boolean; fromPosition?: string; reload?: boolean } = {}): Promise<DmsReplicationStatus> {
    if (options.wave) {
      throw new CutoverError('NOT_SUPPORTED', `waves on AWS are separate DMS tasks; this stack has one ${this.direction} task`, {
        received: options.wave,
        fix: 'run `cutover replicate start` without --wave (the task carries every selected table)',
      });
    }
    if (options.foreground) this.out.info(this.topic, '--foreground has no effect on AWS: the task runs on the DMS instance');
    const arn = await this.taskArn();
    let task = await this.describeTask();
    if (ACTIVE_TASK_STATUSES.has(task.Status ?? '')) {
      if (!options.reload) {
        // Idempotent re-run (e.g. a switch resumed after kill -9): the running task already
        // started from its position; starting it again would be refused by DMS.
        this.out.info(this.topic, `task already ${task.Status}${options.fromPosition ? ` (keeping its position, not ${options.fromPosition})` : ''}`);
        await this.waitForStatus('running');
        return this.status();
      }
      await this.stop();
      task = await this.describeTask();
    }
    if (task.Status === 'stopping') task = await this.waitForStatus('stopped');
    if (!STARTABLE_TASK_STATUSES.has(task.Status ?? '')) {
      throw new CutoverError('PRECONDITION_FAILED', `DMS ${this.direction} task is ${task.Status}; it cannot be started now`, {
        received: task.Status,
        allowed: [...STARTABLE_TASK_STATUSES].join(', '),
        fix: 'wait for the task to settle (`cutover replicate status`) and re-run',
      });
    }
    const choice = chooseStartType(task, this.direction, options);
    this.out.step(this.topic, `StartReplicationTask ${choice.type} (${choice.why})`);
    await this.call('StartReplicationTask', () =>
      this.clients.dms.send(
        new StartReplicationTaskCommand({
          ReplicationTaskArn: arn,
          StartReplicationTaskType: choice.type,
          ...(choice.cdcStartPosition ? { CdcStartPosition: choice.cdcStartPosition } : {}),
        }),
      ),
    );
    await this.waitForStatus('running');
    this.out.ok(this.topic, 'task running');
    return this.status();
  }

  /** Polls the task until `wanted`; a failure on the way is thrown with DMS's message verbatim. */
  private async waitForStatus(wanted: 'running' | 'stopped'): Promise<ReplicationTask> {
    const started = this.opts.now().getTime();
    for (;;) {
      const task = await this.describeTask();
      const status = task.Status ?? 'unknown';
      if (status === wanted) {
        this.out.done(this.topic);
        return task;
      }
      if (status === 'failed' || (wanted === 'running' && status === 'stopped' && task.StopReason && !/NORMAL/.test(task.StopReason))) {
        this.out.done(this.topic);
        throw this.taskFailure(task);
      }
      const elapsed = this.opts.now().getTime() - started;
      if (elapsed > this.transitionTimeoutMs) {
        throw new CutoverError('TIMEOUT', `DMS ${this.direction} task still ${status} after ${Math.round(elapsed / 1000)} s (waiting for ${wanted})`, {
          received: status,
          fix: 'check the task in the DMS console; re-run the command once it settles',
        });
      }
      this.out.progress({
        topic: this.topic,
        done: task.ReplicationTaskStats?.FullLoadProgressPercent ?? 0,
        total: 100,
        unit: '% full load',
        figures: { status, waitingFor: wanted, elapsedS: Math.round(elapsed / 1000) },
      });
      await this.opts.sleep(this.opts.pollMs);
    }
  }

  private taskFailure(task: ReplicationTask): CutoverError {
    const message = task.LastFailureMessage ?? task.StopReason ?? `status ${task.Status}`;
    return new CutoverError('PRECONDITION_FAILED', `DMS ${this.direction} task failed: ${message}`, {
      received: { status: task.Status, stopReason: task.StopReason, lastFailureMessage: task.LastFailureMessage },
      fix: 'fix the cause named by DMS (endpoint, permissions, table errors), then `cutover replicate start` resumes the task',
    });
  }

  private async tableStatistics(arn: string): Promise<TableStatistics[]> {
    const all: TableStatistics[] = [];
    let marker: string | undefined;
    do {
      const page = await this.call('DescribeTableStatistics', () =>
        this.clients.dms.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: arn, MaxRecords: 500, Marker: marker })),
      );
      all.push(...(page.TableStatistics ?? []));
      marker = page.Marker;
    } while (marker);
    return all;
  }

  async status(): Promise<DmsReplicationStatus> {
    const arn = await this.taskArn();
    const task = await this.describeTask();
    const phase = phaseOfTask(task);
    const stats = phase === 'not-started' && !task.ReplicationTaskStartDate ? [] : await this.tableStatistics(arn);
    const tables = stats
      .map((s) => tableStatusOf(s, phase, this.options.targetName))
      .sort((a, b) => a.source.localeCompare(b.source));
    let lagMs: number | null = null;
    let heartbeatAgeMs: number | null = null;
    let stalled: string | null = null;
    let appliedRowsPerSec = 0;
    if (phase === 'cdc' || phase === 'full-load') {
      const now = this.opts.now();
      const m = await this.call('GetMetricData', () => readDmsTaskMetrics(this.clients.cloudwatch, taskResourceId(arn), now));
      appliedRowsPerSec = m.appliedRowsPerSec;
      if (phase === 'cdc') {
        // CDC runs since the latest of: the task's (re)start, the end of its full load
        const since = [task.ReplicationTaskStats?.StartDate, task.ReplicationTaskStats?.FullLoadFinishDate, task.ReplicationTaskStartDate]
          .filter((d): d is Date => d instanceof Date || typeof d === 'string')
          .map((d) => new Date(d).getTime());
        const judged = judgeDmsLag(m, now, since.length ? new Date(Math.max(...since)) : null, Math.max(DMS_METRIC_STALE_MS, maxHeartbeatAgeMs(this.env.gates)));
        ({ lagMs, heartbeatAgeMs, stalled } = judged);
      }
    }
    const error = stalled ?? task.LastFailureMessage ?? (phase === 'failed' ? task.StopReason : undefined);
    return {
      phase: stalled ? 'stalled' : phase,
      heartbeatAgeMs,
      direction: this.direction,
      lagMs,
      lagBytes: null,
      appliedRowsPerSec,
      tables,
      deadLetters: tables.reduce((n, t) => n + t.errorRows, 0),
      ...(task.RecoveryCheckpoint ? { appliedPosition: task.RecoveryCheckpoint } : {}),
      ...(error ? { error } : {}),
      task: {
        arn,
        status: task.Status ?? 'unknown',
        ...(task.StopReason ? { stopReason: task.StopReason } : {}),
        ...(task.MigrationType ? { migrationType: task.MigrationType } : {}),
        ...(task.ReplicationTaskStats?.FullLoadProgressPercent !== undefined
          ? { fullLoadProgressPercent: task.ReplicationTaskStats.FullLoadProgressPercent }
          : {}),
      },
    };
  }

  /** DMS's own validation state per table, shown beside the kit's diff (issue 6). */
  async dmsValidation(): Promise<{ table: string; state: string; pendingRecords: number; failedRecords: number; suspendedRecords: number }[]> {
    const s = await this.status();
    return s.tables.map((t) => ({ table: t.source, ...t.dmsValidation }));
  }

  async stop(): Promise<void> {
    const arn = await this.taskArn();
    const task = await this.describeTask();
    if (task.Status === 'stopping') {
      await this.waitForStatus('stopped');
      return;
    }
    if (!ACTIVE_TASK_STATUSES.has(task.Status ?? '')) {
      this.out.info(this.topic, `task already ${task.Status}`);
      return;
    }
    this.out.step(this.topic, 'StopReplicationTask');
    await this.call('StopReplicationTask', () => this.clients.dms.send(new StopReplicationTaskCommand({ ReplicationTaskArn: arn })));
    await this.waitForStatus('stopped');
    this.out.ok(this.topic, 'task stopped');
  }

  async sourcePosition(): Promise<string> {
    return formatDmsPosition(new Date(this.opts.now().getTime() + this.clockSkewMs));
  }

  async waitForPosition(position: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const wanted = parseDmsPosition(position).getTime();
    const arn = await this.taskArn();
    const deadline = this.opts.now().getTime() + timeoutMs;
    for (;;) {
      if (signal?.aborted) return false;
      const task = await this.describeTask();
      if (phaseOfTask(task) === 'failed') throw this.taskFailure(task);
      const m = await this.call('GetMetricData', () => readDmsTaskMetrics(this.clients.cloudwatch, taskResourceId(arn), this.opts.now()));
      // Every sample in a period is ≤ its Maximum, so at any moment in the period the target had
      // applied everything committed before (period start − max latency).
      const proven = m.lag.find((s) => s.at.getTime() - s.lagMs >= wanted);
      if (proven) {
        this.out.done(this.topic);
        return true;
      }
      const now = this.opts.now().getTime();
      if (now >= deadline) {
        this.out.done(this.topic);
        return false;
      }
      const newest = m.lag[0];
      this.out.progress({
        topic: this.topic,
        done: Math.max(0, Math.round((now - (deadline - timeoutMs)) / 1000)),
        total: Math.round(timeoutMs / 1000),
        unit: 's waiting for catch-up',
        figures: { position, lagMs: newest?.lagMs ?? 'n/a', sampleAt: newest ? newest.at.toISOString() : 'none' },
      });
      await this.opts.sleep(Math.min(this.opts.pollMs, Math.max(1, deadline - now)));
    }
  }

  /** Stops the task; the task, endpoints and instance belong to CloudFormation (`cdk destroy`). */
  async teardown(): Promise<void> {
    await this.stop();
    this.out.info(this.topic, 'task stopped; DMS resources are left to CloudFormation (`npx cdk destroy`)');
  }
}
