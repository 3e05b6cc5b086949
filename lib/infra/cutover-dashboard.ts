import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { CUTOVER_METRICS_NAMESPACE, CUTOVER_METRIC_NAMES, ENVIRONMENT_DIMENSION } from './custom-metrics.ts';
import { dmsTaskMetric, type DmsResourceIdentifiers } from './dms-metrics.ts';
import type { TargetGroupMetrics } from './target-group-metrics.ts';

export interface CutoverDashboardProps {
  readonly environmentName: string;
  readonly blue: TargetGroupMetrics;
  readonly green: TargetGroupMetrics;
  /**
   * DMS identifiers for the CDC latency graph.
   * @default - no replication graph
   */
  readonly replication?: DmsResourceIdentifiers;
  /**
   * Alarms shown in the status row.
   * @default - none
   */
  readonly alarms?: readonly cloudwatch.IAlarm[];
}

/** One page for cutover night: weights, errors, latency, CDC latency and data integrity. */
export class CutoverDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CutoverDashboardProps) {
    super(scope, id);
    const custom = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: CUTOVER_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [ENVIRONMENT_DIMENSION]: props.environmentName },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(1),
        label,
      });
    const width = 12;
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: `cutover-${props.environmentName}`,
      defaultInterval: Duration.hours(3),
    });
    if (props.alarms?.length) {
      this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24 }));
    }
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Traffic weights (published by the runbook)',
        left: [custom(CUTOVER_METRIC_NAMES.greenReadWeight, 'reads to green %'), custom(CUTOVER_METRIC_NAMES.writesOnGreen, 'writes on green (1 = yes)')],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Requests and 5xx ratio',
        left: [props.blue.requests(), props.green.requests()],
        right: [props.blue.errorRatio(), props.green.errorRatio()],
        width,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'p99 latency (s)', left: [props.blue.p99(), props.green.p99()], width }),
      new cloudwatch.GraphWidget({ title: 'Unhealthy hosts', left: [props.blue.unhealthyHosts(), props.green.unhealthyHosts()], width }),
    );
    const ids = props.replication;
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'CDC latency (s)',
        left: ids
          ? [ids.forwardTask, ids.reverseTask].flatMap((task) => [
              dmsTaskMetric(ids.replicationInstance, task, 'CDCLatencySource').with({ label: `${task} source` }),
              dmsTaskMetric(ids.replicationInstance, task, 'CDCLatencyTarget').with({ label: `${task} target` }),
            ])
          : [],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Data integrity (last validation, published by the runbook)',
        left: [custom(CUTOVER_METRIC_NAMES.validationDifferences, 'rows missing + extra + different')],
        right: [custom(CUTOVER_METRIC_NAMES.validationEqual, 'equal (1 = yes)')],
        width,
      }),
    );
  }
}
