import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The CloudWatch names of one target group behind one load balancer (the tails of their ARNs). */
export interface TargetGroupMetricNames {
  readonly loadBalancerFullName: string;
  readonly targetGroupFullName: string;
}

/** The metrics the router alarms and the dashboard read for one target group. */
export class TargetGroupMetrics {
  constructor(
    public readonly label: string,
    private readonly names: TargetGroupMetricNames,
  ) {}

  public metric(metricName: string, statistic: string, label = `${this.label} ${metricName}`): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApplicationELB',
      metricName,
      dimensionsMap: { TargetGroup: this.names.targetGroupFullName, LoadBalancer: this.names.loadBalancerFullName },
      statistic,
      period: Duration.minutes(1),
      label,
    });
  }

  public requests(): cloudwatch.Metric {
    return this.metric('RequestCount', cloudwatch.Stats.SUM);
  }

  public errors5xx(): cloudwatch.Metric {
    return this.metric('HTTPCode_Target_5XX_Count', cloudwatch.Stats.SUM);
  }

  /** 5xx responses / requests; 0 when there were no requests (a quiet minute is not an error). */
  public errorRatio(): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      // Ids carry the label: one graph shows both target groups' ratios and ids must be unique.
      expression: `IF(${this.label}Requests > 0, ${this.label}Errors / ${this.label}Requests, 0)`,
      usingMetrics: { [`${this.label}Requests`]: this.requests(), [`${this.label}Errors`]: this.errors5xx() },
      period: Duration.minutes(1),
      label: `${this.label} 5xx ratio`,
    });
  }

  public p99(): cloudwatch.Metric {
    return this.metric('TargetResponseTime', cloudwatch.Stats.p(99), `${this.label} p99 latency`);
  }

  public unhealthyHosts(): cloudwatch.Metric {
    return this.metric('UnHealthyHostCount', cloudwatch.Stats.MAXIMUM);
  }
}
