import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { suppressNag } from './nag.ts';

export interface CutoverLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** The listener's default action: the weighted read forward (`initialReadAction`). */
  readonly defaultAction: elbv2.ListenerAction;
  /** Bucket for access logs (SSE-S3). */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * HTTPS on 443 with this certificate.
   * @default - HTTP on 80
   */
  readonly certificateArn?: string;
  /**
   * @default false
   */
  readonly deletionProtection?: boolean;
}

/** A new internet-facing ALB for environments that have no listener yet (config `alb.create`). */
export class CutoverLoadBalancer extends Construct {
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;

  constructor(scope: Construct, id: string, props: CutoverLoadBalancerProps) {
    super(scope, id);
    // Outbound to any address: blue's targets are imported and their addresses are unknown here.
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'cutover load balancer',
      allowAllOutbound: true,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Resource', {
      vpc: props.vpc,
      internetFacing: true,
      securityGroup,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
      deletionProtection: props.deletionProtection ?? false,
      idleTimeout: Duration.seconds(60),
    });
    this.loadBalancer.logAccessLogs(props.accessLogsBucket, 'alb');
    const https = props.certificateArn !== undefined;
    this.listener = this.loadBalancer.addListener('Listener', {
      port: https ? 443 : 80,
      protocol: https ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      certificates: https ? [elbv2.ListenerCertificate.fromArn(props.certificateArn!)] : undefined,
      sslPolicy: https ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
      defaultAction: props.defaultAction,
      open: true,
    });
    suppressNag(securityGroup, 'AwsSolutions-EC23', 'The load balancer is the public entry point of the shop: it must accept its listener port from anywhere. Only that port is open.');
  }
}
