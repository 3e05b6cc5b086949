import { beforeEach, describe, expect, test } from 'vitest';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { DmsReplicator } from '../../lib/aws/dms-replicator.ts';
import { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { ARNS, awsEnv, commandNames, fakeTime, inputsOf, mocks, newClients, resetMocks, ssmParameters, throttlingError } from './aws-fixtures.ts';

const forwardTask = (over: Partial<ReplicationTask> = {}): ReplicationTask => ({
  ReplicationTaskArn: ARNS.forwardTask,
  ReplicationTaskIdentifier: 'cutover-staging-forward',
  MigrationType: 'full-load-and-cdc',
  Status: 'ready',
  ...over,
});

const ran = { ReplicationTaskStartDate: new Date('2025-02-28T09:00:00Z') };

function replicator(direction: 'forward' | 'reverse' = 'forward', out = new RecordingOutput(), time = fakeTime()) {
  return new DmsReplicator(awsEnv(), newClients(), out, direction, { ...time, pollMs: 1000 });
}

beforeEach(() => {
  resetMocks();
  mocks.dms.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [] });
  mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
});

describe('DmsReplicator', () => {
  test('first start uses start-replication and waits until running', async () => {
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [forwardTask()] })
      .resolvesOnce({ ReplicationTasks: [forwardTask({ Status: 'starting' })] })
      .resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 10 } })] });
    const out = new RecordingOutput();
    const status = await replicator('forward', out).start();
    expect(commandNames(mocks.dms)).toEqual([
      'DescribeReplicationTasks',
      'StartReplicationTask',
      'DescribeReplicationTasks',
      'DescribeReplicationTasks',
      'DescribeReplicationTasks',
      'DescribeTableStatistics',
    ]);
    expect(inputsOf(mocks.dms, 'StartReplicationTask')).toEqual([
      { ReplicationTaskArn: ARNS.forwardTask, StartReplicationTaskType: 'start-replication' },
    ]);
    expect(status.phase).toBe('full-load');
    expect(out.progressUpdates.some((u) => u.figures?.status === 'starting')).toBe(true);
  });

  test('start after a stop resumes processing', async () => {
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [forwardTask({ Status: 'stopped', StopReason: 'Stop Reason NORMAL', ...ran })] })
      .resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 100, StartDate: new Date('2025-03-01T10:00:00Z') } })] });
    const status = await replicator().start();
    expect(inputsOf(mocks.dms, 'StartReplicationTask')).toEqual([
      { ReplicationTaskArn: ARNS.forwardTask, StartReplicationTaskType: 'resume-processing' },
    ]);
    expect(status.phase).toBe('cdc');
  });

  test('reload on request uses reload-target', async () => {
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [forwardTask({ Status: 'stopped', ...ran })] })
      .resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran })] });
    await replicator().start({ reload: true });
    expect(inputsOf<{ StartReplicationTaskType: string }>(mocks.dms, 'StartReplicationTask')[0]!.StartReplicationTaskType).toBe('reload-target');
  });

  test('reverse starts from the captured CDC position', async () => {
    const reverse = (over: Partial<ReplicationTask>) => forwardTask({ ReplicationTaskArn: ARNS.reverseTask, MigrationType: 'cdc', ...over });
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [reverse({ Status: 'ready' })] })
      .resolves({ ReplicationTasks: [reverse({ Status: 'running', ...ran, ReplicationTaskStats: { StartDate: new Date('2025-03-01T10:00:00Z') } })] });
    const r = replicator('reverse');
    const status = await r.start({ fromPosition: '2025-03-01T10:00:02' });
    expect(inputsOf(mocks.dms, 'DescribeReplicationTasks')[0]).toMatchObject({
      Filters: [{ Name: 'replication-task-arn', Values: [ARNS.reverseTask] }],
    });
    expect(inputsOf(mocks.dms, 'StartReplicationTask')).toEqual([
      { ReplicationTaskArn: ARNS.reverseTask, StartReplicationTaskType: 'start-replication', CdcStartPosition: '2025-03-01T10:00:02' },
    ]);
    expect(status).toMatchObject({ direction: 'reverse', phase: 'cdc' });
  });

  test('fails if the reverse task never ran and no position is given', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ ReplicationTaskArn: ARNS.reverseTask, MigrationType: 'cdc' })] });
    await expect(replicator('reverse').start()).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(commandNames(mocks.dms)).not.toContain('StartReplicationTask');
  });

  test('start on a running task changes nothing', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran })] });
    await replicator().start();
    expect(commandNames(mocks.dms)).not.toContain('StartReplicationTask');
  });

  test('fails if the task fails while starting, with the DMS message verbatim', async () => {
    const message = "Last Error Endpoint initialization failed. Task error notification received from subtask 0, thread 0 [reptask/replicationtask.c:2883] [1020401] Connection refused (host 'blue.abc', port 5432)";
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [forwardTask()] })
      .resolves({ ReplicationTasks: [forwardTask({ Status: 'failed', ...ran, LastFailureMessage: message })] });
    const err = await replicator().start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('PRECONDITION_FAILED');
    expect((err as CutoverError).message).toContain(message);
  });

  test('status maps table statistics, DMS validation, lag and a failed task message verbatim', async () => {
    const message = 'Error executing source loop; Stream component failed at subtask 0';
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({
      ReplicationTasks: [
        forwardTask({ Status: 'stopped', StopReason: 'Stop Reason FATAL_ERROR', LastFailureMessage: message, ...ran, RecoveryCheckpoint: 'checkpoint:V1#27#0/1A2B3C#0#0#*#0#93' }),
      ],
    });
    mocks.dms.on(DescribeTableStatisticsCommand).resolves({
      TableStatistics: [
        { SchemaName: 'public', TableName: 't_order', FullLoadRows: 1000, Inserts: 5, Deletes: 2, TableState: 'Table completed', ValidationState: 'Mismatched records', ValidationFailedRecords: 3, ValidationPendingRecords: 1 },
        { SchemaName: 'public', TableName: 't_customer', FullLoadRows: 0, TableState: 'Table error', FullLoadErrorRows: 4 },
      ],
    });
    const status = await replicator().status();
    expect(status.phase).toBe('failed');
    expect(status.error).toBe(message);
    expect(status.appliedPosition).toBe('checkpoint:V1#27#0/1A2B3C#0#0#*#0#93');
    expect(status.deadLetters).toBe(4);
    expect(status.tables).toEqual([
      expect.objectContaining({ source: 'public.t_customer', state: 'failed', rows: 0, errorRows: 4, dmsState: 'Table error' }),
      expect.objectContaining({
        source: 'public.t_order',
        target: 'public.t_order',
        rows: 1003,
        totalRows: null,
        state: 'loaded',
        dmsValidation: { state: 'Mismatched records', pendingRecords: 1, failedRecords: 3, suspendedRecords: 0 },
      }),
    ]);
    expect(commandNames(mocks.cloudwatch)).toEqual([]); // no lag for a failed task
  });

  test('status in CDC reads lag from CloudWatch CDCLatencyTarget by task resource id', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({
      ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 100 } })],
    });
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'lag', Timestamps: [new Date('2025-03-01T09:58:00Z'), new Date('2025-03-01T09:59:00Z')], Values: [4, 1.5] },
        { Id: 'applied', Timestamps: [new Date('2025-03-01T09:59:00Z')], Values: [250] },
      ],
    });
    const status = await replicator().status();
    expect(status).toMatchObject({ phase: 'cdc', lagMs: 1500, appliedRowsPerSec: 250 });
    const q = inputsOf<{ MetricDataQueries: { Expression: string }[] }>(mocks.cloudwatch, 'GetMetricData')[0]!;
    expect(q.MetricDataQueries[0]!.Expression).toContain('MetricName="CDCLatencyTarget" ReplicationTaskIdentifier="FWDTASKID"');
  });

  test('status in CDC takes the higher of fresh CDCLatencySource and CDCLatencyTarget', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 100 } })] });
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'lag', Timestamps: [new Date('2025-03-01T09:59:00Z')], Values: [1.5] },
        { Id: 'sourceLag', Timestamps: [new Date('2025-03-01T09:59:00Z')], Values: [7] },
      ],
    });
    const status = await replicator().status();
    expect(status).toMatchObject({ phase: 'cdc', lagMs: 7000, heartbeatAgeMs: 0 });
    const q = inputsOf<{ MetricDataQueries: { Expression: string }[] }>(mocks.cloudwatch, 'GetMetricData')[0]!;
    expect(q.MetricDataQueries.map((m) => m.Expression).join(' ')).toContain('MetricName="CDCLatencySource"');
  });

  test('fails if CDC runs and CloudWatch has no latency datapoint: stalled with lag unknown, never 0', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 100 } })] });
    // a period listed with no value is no datapoint, not a 0 s latency
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'lag', Timestamps: [new Date('2025-03-01T09:59:00Z')], Values: [] }] });
    const status = await replicator().status();
    expect(status.phase).toBe('stalled');
    expect(status.lagMs).toBeNull();
    expect(status.error).toMatch(/no CDCLatencyTarget datapoint.*unknown, not 0/);
  });

  test('fails if the newest latency datapoint is older than the limit: stalled, lag unknown', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 100 } })] });
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'lag', Timestamps: [new Date('2025-03-01T09:40:00Z')], Values: [0] }] });
    const status = await replicator().status();
    expect(status).toMatchObject({ phase: 'stalled', lagMs: null, heartbeatAgeMs: 19 * 60_000 });
    expect(status.error).toMatch(/newest CDCLatencyTarget datapoint is 1140 s old/);
  });

  test('CDC that began moments ago with no datapoint yet: lag unknown but not stalled (DMS publishes late)', async () => {
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({
      ReplicationTasks: [forwardTask({ Status: 'running', ...ran, ReplicationTaskStats: { FullLoadProgressPercent: 100, FullLoadFinishDate: new Date('2025-03-01T09:59:00Z') } })],
    });
    const status = await replicator().status();
    expect(status).toMatchObject({ phase: 'cdc', lagMs: null });
  });

  test('waitForPosition resolves once a latency sample proves the target applied the position', async () => {
    const time = fakeTime(new Date('2025-03-01T10:00:00Z'));
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran })] });
    mocks.cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'lag', Timestamps: [new Date('2025-03-01T09:59:00Z')], Values: [2] }] })
      .resolves({ MetricDataResults: [{ Id: 'lag', Timestamps: [new Date('2025-03-01T10:01:00Z')], Values: [3] }] });
    const r = new DmsReplicator(awsEnv(), newClients(), new RecordingOutput(), 'forward', { ...time, pollMs: 1000 });
    const position = await r.sourcePosition();
    expect(position).toBe('2025-03-01T10:00:01');
    await expect(r.waitForPosition(position, 180_000)).resolves.toBe(true);
    expect(commandNames(mocks.cloudwatch)).toEqual(['GetMetricData', 'GetMetricData']);
  });

  test('waitForPosition returns false on timeout', async () => {
    const time = fakeTime(new Date('2025-03-01T10:00:00Z'));
    mocks.dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran })] });
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'lag', Timestamps: [new Date('2025-03-01T09:59:00Z')], Values: [30] }] });
    const r = new DmsReplicator(awsEnv(), newClients(), new RecordingOutput(), 'forward', { ...time, pollMs: 1000 });
    await expect(r.waitForPosition('2025-03-01T10:00:01', 10_000)).resolves.toBe(false);
  });

  test('fails if a position is an LSN rather than a DMS date', async () => {
    await expect(replicator().waitForPosition('0/1A2B3C', 1000)).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  test('stop stops a running task and waits for stopped; a stopped task is left alone', async () => {
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran })] })
      .resolvesOnce({ ReplicationTasks: [forwardTask({ Status: 'stopping', ...ran })] })
      .resolves({ ReplicationTasks: [forwardTask({ Status: 'stopped', ...ran })] });
    const r = replicator();
    await r.stop();
    await r.teardown();
    expect(commandNames(mocks.dms)).toEqual([
      'DescribeReplicationTasks',
      'StopReplicationTask',
      'DescribeReplicationTasks',
      'DescribeReplicationTasks',
      'DescribeReplicationTasks',
    ]);
    expect(mocks.dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(1);
  });

  test('a throttled StartReplicationTask is retried', async () => {
    mocks.dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [forwardTask()] })
      .resolves({ ReplicationTasks: [forwardTask({ Status: 'running', ...ran })] });
    mocks.dms.on(StartReplicationTaskCommand).rejectsOnce(throttlingError()).rejectsOnce(throttlingError()).resolves({});
    const out = new RecordingOutput();
    await replicator('forward', out).start();
    expect(mocks.dms.commandCalls(StartReplicationTaskCommand)).toHaveLength(3);
    expect(out.text()).toContain('StartReplicationTask throttled (ThrottlingException)');
  });

  test('fails if the stack is not deployed, naming the missing parameter and the deploy command', async () => {
    resetMocks(ssmParameters({ 'forward-task-arn': undefined }));
    const err = (await replicator().status().catch((e: unknown) => e)) as CutoverError;
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.message).toContain('/cutover/staging/forward-task-arn');
    expect(err.details.fix).toBe('run `npx cdk deploy -c env=staging` first');
  });
});
