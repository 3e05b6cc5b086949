import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';

/**
 * CDC latency and throughput of one DMS task from CloudWatch (`AWS/DMS`). Task metrics carry
 * the dimensions `ReplicationInstanceIdentifier` and `ReplicationTaskIdentifier` (the task's
 * resource id, the ARN tail); a SEARCH by the task id alone avoids looking the instance up, and
 * `MAX(...)` folds the result into one series. DMS publishes these per minute, a minute or two
 * late: a lag read here is at best that fresh.
 */
export interface DmsLagSample {
  /** Start of the 60 s period. */
  readonly at: Date;
  /** Highest `CDCLatencyTarget` in the period, in ms. */
  readonly lagMs: number;
}

export interface DmsTaskMetrics {
  /** Newest first. */
  readonly lag: DmsLagSample[];
  /** Newest `CDCThroughputRowsTarget` average, rows/s; 0 when none. */
  readonly appliedRowsPerSec: number;
}

export const DMS_METRIC_PERIOD_SECONDS = 60;

function search(taskId: string, metric: string, stat: string): string {
  return `MAX(SEARCH('{AWS/DMS,ReplicationInstanceIdentifier,ReplicationTaskIdentifier} MetricName="${metric}" ReplicationTaskIdentifier="${taskId}"', '${stat}', ${DMS_METRIC_PERIOD_SECONDS}))`;
}

export async function readDmsTaskMetrics(
  cloudwatch: CloudWatchClient,
  taskId: string,
  now: Date,
  lookbackMinutes = 10,
): Promise<DmsTaskMetrics> {
  const res = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now.getTime() - lookbackMinutes * 60_000),
      EndTime: now,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        { Id: 'lag', Expression: search(taskId, 'CDCLatencyTarget', 'Maximum'), ReturnData: true },
        { Id: 'applied', Expression: search(taskId, 'CDCThroughputRowsTarget', 'Average'), ReturnData: true },
      ],
    }),
  );
  const byId = new Map((res.MetricDataResults ?? []).map((r) => [r.Id, r]));
  const lagResult = byId.get('lag');
  const lag: DmsLagSample[] = (lagResult?.Timestamps ?? []).map((t, i) => ({
    at: new Date(t),
    lagMs: Math.round((lagResult?.Values?.[i] ?? 0) * 1000),
  }));
  lag.sort((a, b) => b.at.getTime() - a.at.getTime());
  const applied = byId.get('applied');
  return { lag, appliedRowsPerSec: applied?.Values?.[0] ?? 0 };
}
