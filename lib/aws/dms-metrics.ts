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
  /** `CDCLatencyTarget`, newest first; a period without a datapoint has no sample (never 0). */
  readonly lag: DmsLagSample[];
  /** `CDCLatencySource` (source to the DMS instance), newest first, the same way. */
  readonly sourceLag: DmsLagSample[];
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
        { Id: 'sourceLag', Expression: search(taskId, 'CDCLatencySource', 'Maximum'), ReturnData: true },
        { Id: 'applied', Expression: search(taskId, 'CDCThroughputRowsTarget', 'Average'), ReturnData: true },
      ],
    }),
  );
  const byId = new Map((res.MetricDataResults ?? []).map((r) => [r.Id, r]));
  const applied = byId.get('applied');
  return { lag: samples(byId.get('lag')), sourceLag: samples(byId.get('sourceLag')), appliedRowsPerSec: applied?.Values?.[0] ?? 0 };
}

/** Datapoints with a timestamp and a finite value, newest first: a missing value is no sample, not 0. */
function samples(result: { Timestamps?: Date[]; Values?: number[] } | undefined): DmsLagSample[] {
  const out: DmsLagSample[] = [];
  for (const [i, t] of (result?.Timestamps ?? []).entries()) {
    const v = result?.Values?.[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    out.push({ at: new Date(t), lagMs: Math.round(v * 1000) });
  }
  return out.sort((a, b) => b.at.getTime() - a.at.getTime());
}

/** DMS publishes per minute, a minute or two late: a datapoint is "recent" within this, at least. */
export const DMS_METRIC_STALE_MS = 5 * 60_000;

export interface DmsLagJudgement {
  /** Highest fresh latency (source or target) of the newest period; null when unknown or stale. */
  readonly lagMs: number | null;
  /** How old the newest `CDCLatencyTarget` datapoint's period end is; null when there is none. */
  readonly heartbeatAgeMs: number | null;
  /** Why the task counts as stalled: running CDC and publishing no recent latency. */
  readonly stalled: string | null;
}

/**
 * DMS's latency as the kit's lag: the newest `CDCLatencyTarget` and `CDCLatencySource` datapoints,
 * each judged by its timestamp. A metric with no datapoint newer than `staleMs` (period end) is
 * not "0": the lag is unknown and, once CDC has run longer than `staleMs`, the task is stalled.
 */
export function judgeDmsLag(m: Pick<DmsTaskMetrics, 'lag' | 'sourceLag'>, now: Date, cdcSince: Date | null, staleMs: number): DmsLagJudgement {
  const ageOf = (s: DmsLagSample | undefined) => (s ? Math.max(0, now.getTime() - (s.at.getTime() + DMS_METRIC_PERIOD_SECONDS * 1000)) : null);
  const target = m.lag[0];
  const source = m.sourceLag[0];
  const targetAge = ageOf(target);
  const sourceAge = ageOf(source);
  const targetFresh = targetAge !== null && targetAge <= staleMs;
  const sourceFresh = sourceAge !== null && sourceAge <= staleMs;
  const lagMs = targetFresh ? Math.max(target!.lagMs, sourceFresh ? source!.lagMs : 0) : null;
  const graceOver = cdcSince === null || now.getTime() - cdcSince.getTime() > staleMs;
  let stalled: string | null = null;
  if (!targetFresh && graceOver) {
    stalled =
      targetAge === null
        ? `DMS published no CDCLatencyTarget datapoint in the last ${Math.round(staleMs / 1000)} s while the task runs CDC: its lag is unknown, not 0`
        : `the newest CDCLatencyTarget datapoint is ${Math.round(targetAge / 1000)} s old (limit ${Math.round(staleMs / 1000)} s): the task is not applying or not reporting`;
  }
  return { lagMs, heartbeatAgeMs: targetAge, stalled };
}
