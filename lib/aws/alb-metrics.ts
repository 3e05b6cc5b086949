import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { RouterMetrics, UpstreamMetrics } from '../platform/roles.ts';

/**
 * `RouterMetrics` from the ALB's CloudWatch metrics (`AWS/ApplicationELB`), cumulative from
 * `since` to `now` in one period, per target group:
 * RequestCount, HTTPCode_Target_{2,4,5}XX_Count, TargetConnectionErrorCount (→ `errors`) and
 * TargetResponseTime p50/p90/p99/Maximum.
 *
 * Histogram approximation: CloudWatch gives percentiles, not buckets. The latency "histogram" has
 * four buckets whose upper bounds are p50, p90, p99 and max (ms) with cumulative counts 50 %, 90 %,
 * 99 % and 100 % of RequestCount — so a p99 read from the buckets is CloudWatch's own p99 over the
 * window. Differences of two snapshots are only approximate histograms of the interval between
 * them; the gates' p99 on AWS is therefore a since-start figure, and CloudWatch alarms
 * (cloudwatch-gates.ts) are the authoritative interval judgement.
 * `clientFailures` is the load balancer's own HTTPCode_ELB_5XX_Count; `held.total` counts the
 * write rule's fixed 503 responses (HTTP_Fixed_Response_Count) — the ALB refuses, it cannot hold.
 */
export interface AlbMetricDimensions {
  /** `app/NAME/ID` */
  readonly loadBalancer: string;
  /** `targetgroup/NAME/ID` */
  readonly blue: string;
  readonly green: string;
}

const PER_TARGET_GROUP: { id: string; metric: string; stat: string }[] = [
  { id: 'req', metric: 'RequestCount', stat: 'Sum' },
  { id: 's2xx', metric: 'HTTPCode_Target_2XX_Count', stat: 'Sum' },
  { id: 's4xx', metric: 'HTTPCode_Target_4XX_Count', stat: 'Sum' },
  { id: 's5xx', metric: 'HTTPCode_Target_5XX_Count', stat: 'Sum' },
  { id: 'connerr', metric: 'TargetConnectionErrorCount', stat: 'Sum' },
  { id: 'p50', metric: 'TargetResponseTime', stat: 'p50' },
  { id: 'p90', metric: 'TargetResponseTime', stat: 'p90' },
  { id: 'p99', metric: 'TargetResponseTime', stat: 'p99' },
  { id: 'max', metric: 'TargetResponseTime', stat: 'Maximum' },
];

export function albMetricQueries(dims: AlbMetricDimensions, periodSeconds: number): MetricDataQuery[] {
  const queries: MetricDataQuery[] = [];
  for (const side of ['blue', 'green'] as const) {
    for (const q of PER_TARGET_GROUP) {
      queries.push({
        Id: `${side}_${q.id}`,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/ApplicationELB',
            MetricName: q.metric,
            Dimensions: [
              { Name: 'TargetGroup', Value: dims[side] },
              { Name: 'LoadBalancer', Value: dims.loadBalancer },
            ],
          },
          Period: periodSeconds,
          Stat: q.stat,
        },
      });
    }
  }
  for (const [id, metric] of [
    ['elb5xx', 'HTTPCode_ELB_5XX_Count'],
    ['fixed', 'HTTP_Fixed_Response_Count'],
  ] as const) {
    queries.push({
      Id: id,
      MetricStat: {
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: metric, Dimensions: [{ Name: 'LoadBalancer', Value: dims.loadBalancer }] },
        Period: periodSeconds,
        Stat: 'Sum',
      },
    });
  }
  return queries;
}

function upstream(values: Map<string, number[]>, side: 'blue' | 'green'): UpstreamMetrics {
  const sum = (id: string) => (values.get(`${side}_${id}`) ?? []).reduce((a, b) => a + b, 0);
  const maxOf = (id: string) => Math.max(0, ...(values.get(`${side}_${id}`) ?? []));
  const requests = sum('req');
  const bounds = [maxOf('p50'), maxOf('p90'), maxOf('p99'), maxOf('max')].map((s) => s * 1000);
  // Keep bounds non-decreasing (percentiles from different periods may disagree slightly).
  for (let i = 1; i < bounds.length; i++) bounds[i] = Math.max(bounds[i]!, bounds[i - 1]!);
  const hasLatency = requests > 0;
  return {
    requests,
    status2xx: sum('s2xx'),
    status4xx: sum('s4xx'),
    status5xx: sum('s5xx'),
    errors: sum('connerr'),
    retriedOnBlue: 0,
    latencyBucketsMs: hasLatency ? bounds : [],
    latencyCounts: hasLatency ? [0.5, 0.9, 0.99, 1].map((f) => Math.round(requests * f)) : [],
  };
}

export async function readAlbMetrics(
  cloudwatch: CloudWatchClient,
  dims: AlbMetricDimensions,
  since: Date,
  now: Date,
  held: { maxHoldMs: number; current: number; holds: number },
): Promise<RouterMetrics> {
  const windowSeconds = Math.max(60, Math.ceil((now.getTime() - since.getTime()) / 60_000) * 60);
  const values = new Map<string, number[]>();
  let nextToken: string | undefined;
  do {
    const res = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: since,
        EndTime: now,
        MetricDataQueries: albMetricQueries(dims, windowSeconds),
        NextToken: nextToken,
      }),
    );
    for (const r of res.MetricDataResults ?? []) {
      if (r.Id) values.set(r.Id, [...(values.get(r.Id) ?? []), ...(r.Values ?? [])]);
    }
    nextToken = res.NextToken;
  } while (nextToken);
  const fixed = (values.get('fixed') ?? []).reduce((a, b) => a + b, 0);
  return {
    at: now.toISOString(),
    upstreams: { blue: upstream(values, 'blue'), green: upstream(values, 'green') },
    held: {
      total: fixed,
      current: held.current,
      holdMsBuckets: held.maxHoldMs > 0 ? [held.maxHoldMs] : [],
      holdMsCounts: held.maxHoldMs > 0 ? [Math.max(1, held.holds)] : [],
      maxHoldMs: held.maxHoldMs,
    },
    clientFailures: (values.get('elb5xx') ?? []).reduce((a, b) => a + b, 0),
  };
}
