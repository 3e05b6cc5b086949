import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * DMS task metrics by identifier. The tasks and the instance are created with a fixed
 * `ResourceIdentifier` (see `dmsResourceIdentifiers`), so metrics can be built from names alone
 * in any stack, without a cross-stack reference.
 */
export function dmsTaskMetric(
  replicationInstanceIdentifier: string,
  taskResourceIdentifier: string,
  metricName: 'CDCLatencySource' | 'CDCLatencyTarget' | 'CDCIncomingChanges' | 'FullLoadThroughputRowsTarget',
  statistic: string = cloudwatch.Stats.MAXIMUM,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/DMS',
    metricName,
    dimensionsMap: { ReplicationInstanceIdentifier: replicationInstanceIdentifier, ReplicationTaskIdentifier: taskResourceIdentifier },
    statistic,
    // No label: an alarm on a labelled metric is rendered as metric math, which hides the metric name.
    period: Duration.minutes(1),
  });
}

export interface DmsResourceIdentifiers {
  readonly replicationInstance: string;
  readonly forwardTask: string;
  readonly reverseTask: string;
}

/** `cutover-<env>-…`: lower-case, starts with a letter, as DMS requires. */
export function dmsResourceIdentifiers(environmentName: string): DmsResourceIdentifiers {
  const base = `cutover-${environmentName}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return { replicationInstance: `${base}-instance`, forwardTask: `${base}-forward`, reverseTask: `${base}-reverse` };
}
