import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { CutoverDashboard } from './cutover-dashboard.ts';
import { gateAlarmName, type GateAlarm } from '../platform/gate-alarms.ts';
import type { DmsResourceIdentifiers } from './dms-metrics.ts';
import { INITIAL_CUTOVER_STATE, cutoverParameterName } from './parameter-names.ts';
import { TargetGroupMetrics, type TargetGroupMetricNames } from './target-group-metrics.ts';

/** Methods that change data: they follow the write switch, never the read weights. */
export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The read weights at deploy time, blue 100 / green 0, as the listener's default action. The
 * runbook moves them with ModifyListener; CloudFormation writes them only when the listener is
 * created (an unchanged template never resets them).
 */
export function initialReadAction(blue: elbv2.IApplicationTargetGroup, green: elbv2.IApplicationTargetGroup): elbv2.ListenerAction {
  return elbv2.ListenerAction.weightedForward([
    { targetGroup: blue, weight: 100 },
    { targetGroup: green, weight: 0 },
  ]);
}

export interface BlueGreenRouterProps {
  readonly environmentName: string;
  readonly listener: elbv2.IApplicationListener;
  readonly blueTargetGroup: elbv2.IApplicationTargetGroup;
  readonly greenTargetGroup: elbv2.IApplicationTargetGroup;
  /** CloudWatch names of both target groups (tails of their ARNs). */
  readonly blueMetricNames: TargetGroupMetricNames;
  readonly greenMetricNames: TargetGroupMetricNames;
  /**
   * @default 10
   */
  readonly writeRulePriority?: number;
  /**
   * 5xx / requests above which a target group alarms (config `gates.maxErrorRatio`).
   * @default 0.01
   */
  readonly maxErrorRatio?: number;
  /**
   * Green p99 / blue p99 above which the comparison alarms (config `gates.maxP99RatioToBlue`).
   * @default 3
   */
  readonly maxP99RatioToBlue?: number;
  /**
   * Absolute p99 `TargetResponseTime` alarm per target group (config `alarms.p99LatencySeconds`).
   * @default 2
   */
  readonly p99LatencySeconds?: number;
  /**
   * @default 3
   */
  readonly evaluationPeriods?: number;
  /**
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * DMS identifiers for the dashboard's CDC graph.
   * @default - no CDC graph
   */
  readonly replication?: DmsResourceIdentifiers;
}

/**
 * Blue/green routing on an ALB listener, in two places the runbook edits in place:
 * - the write rule (POST/PUT/PATCH/DELETE) forwards to blue until the write switch;
 * - everything else takes the listener's default action, a weighted forward: blue 100 / green 0
 *   (`initialReadAction`, set where the kit creates the listener; on an existing listener the
 *   runbook writes it at the first shift), shifted in steps by the runbook.
 * Plus alarms per target group, a comparison alarm, the cutover-state parameter and a dashboard.
 */
export class BlueGreenRouter extends Construct {
  public readonly writeRule: elbv2.ApplicationListenerRule;
  public readonly stateParameter: ssm.StringParameter;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: CutoverDashboard;

  constructor(scope: Construct, id: string, props: BlueGreenRouterProps) {
    super(scope, id);
    this.writeRule = new elbv2.ApplicationListenerRule(this, 'WriteRule', {
      listener: props.listener,
      priority: props.writeRulePriority ?? 10,
      conditions: [elbv2.ListenerCondition.httpRequestMethods([...WRITE_METHODS])],
      action: elbv2.ListenerAction.forward([props.blueTargetGroup]),
    });

    const blue = new TargetGroupMetrics('blue', props.blueMetricNames);
    const green = new TargetGroupMetrics('green', props.greenMetricNames);
    const evaluationPeriods = props.evaluationPeriods ?? 3;
    // green's alarms carry the names the shift and bake gates read (lib/platform/gate-alarms.ts)
    const gateAlarm: Record<string, GateAlarm> = {
      GreenErrorRatio: 'green-error-ratio',
      GreenP99Latency: 'green-p99-latency',
      GreenUnhealthyHosts: 'green-unhealthy-hosts',
      GreenP99RatioToBlue: 'green-p99-ratio-to-blue',
    };
    const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold: number, op = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD) => {
      const gate = gateAlarm[alarmId];
      const a = new cloudwatch.Alarm(this, alarmId, {
        ...(gate ? { alarmName: gateAlarmName(props.environmentName, gate) } : {}),
        alarmDescription: `${props.environmentName}: ${description}`,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: op,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) a.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      this.alarms.push(a);
      return a;
    };
    const maxErrorRatio = props.maxErrorRatio ?? 0.01;
    const p99 = props.p99LatencySeconds ?? 2;
    for (const [name, m] of [['Blue', blue], ['Green', green]] as const) {
      alarm(`${name}ErrorRatio`, `${m.label} 5xx ratio above ${maxErrorRatio}`, m.errorRatio(), maxErrorRatio);
      alarm(`${name}P99Latency`, `${m.label} p99 TargetResponseTime above ${p99} s`, m.p99(), p99);
      alarm(`${name}UnhealthyHosts`, `${m.label} has unhealthy hosts`, m.unhealthyHosts(), 1, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    }
    const maxRatio = props.maxP99RatioToBlue ?? 3;
    alarm(
      'GreenP99RatioToBlue',
      `green p99 above ${maxRatio} x blue p99`,
      new cloudwatch.MathExpression({
        expression: 'IF(bluep99 > 0, greenp99 / bluep99, 0)',
        usingMetrics: { bluep99: blue.p99(), greenp99: green.p99() },
        label: 'green p99 / blue p99',
        period: Duration.minutes(1),
      }),
      maxRatio,
    );

    this.stateParameter = new ssm.StringParameter(this, 'State', {
      parameterName: cutoverParameterName(props.environmentName, 'state'),
      stringValue: INITIAL_CUTOVER_STATE,
      description: 'Cutover state, written by the runbook (blue, shifting, switched, finalized, rolled-back)',
    });

    this.dashboard = new CutoverDashboard(this, 'Dashboard', {
      environmentName: props.environmentName,
      blue,
      green,
      replication: props.replication,
      alarms: this.alarms,
    });
  }
}
