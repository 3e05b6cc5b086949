import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface GreenServiceProps {
  readonly vpc: ec2.IVpc;
  /** Container image, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/duoduo:1.4.2`. */
  readonly image: string;
  /**
   * @default 8080
   */
  readonly containerPort?: number;
  /**
   * @default 512
   */
  readonly cpu?: number;
  /**
   * @default 1024
   */
  readonly memoryMiB?: number;
  /**
   * @default 2
   */
  readonly desiredCount?: number;
  /**
   * @default '/health'
   */
  readonly healthCheckPath?: string;
  /**
   * Database secret whose fields become the libpq variables PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD.
   * @default - no database variables
   */
  readonly databaseSecret?: secretsmanager.ISecret;
  /**
   * Where the load balancer's requests come from.
   * @default - no ingress rule: call `allowFromLoadBalancer` (or `service.connections.allowFrom`)
   */
  readonly ingressPeer?: ec2.IPeer | ec2.IConnectable;
}

/** The new app on ECS Fargate, registered in a new green target group (IP targets). */
export class GreenService extends Construct {
  public readonly service: ecs.FargateService;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: GreenServiceProps) {
    super(scope, id);
    const port = props.containerPort ?? 8080;
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const task = new ecs.FargateTaskDefinition(this, 'Task', { cpu: props.cpu ?? 512, memoryLimitMiB: props.memoryMiB ?? 1024 });
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const s = props.databaseSecret;
    task.addContainer('App', {
      image: ecs.ContainerImage.fromRegistry(props.image),
      portMappings: [{ containerPort: port }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'green', logGroup }),
      // Credentials arrive as ECS secrets (resolved at task start), never as plain environment values.
      secrets: s
        ? {
            PGHOST: ecs.Secret.fromSecretsManager(s, 'host'),
            PGPORT: ecs.Secret.fromSecretsManager(s, 'port'),
            PGDATABASE: ecs.Secret.fromSecretsManager(s, 'dbname'),
            PGUSER: ecs.Secret.fromSecretsManager(s, 'username'),
            PGPASSWORD: ecs.Secret.fromSecretsManager(s, 'password'),
          }
        : undefined,
      readonlyRootFilesystem: true,
    });
    this.service = new ecs.FargateService(this, 'Resource', {
      cluster,
      taskDefinition: task,
      desiredCount: props.desiredCount ?? 2,
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
    });
    if (props.ingressPeer) this.allowFromLoadBalancer(props.ingressPeer);
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      healthCheck: { path: props.healthCheckPath ?? '/health', healthyThresholdCount: 2, interval: Duration.seconds(10), timeout: Duration.seconds(5) },
      deregistrationDelay: Duration.seconds(30),
    });
    this.targetGroup.addTarget(this.service);
    this.containerPort = port;
  }

  public readonly containerPort: number;

  /** Admits the load balancer (a security group or an address range) on the container port. */
  public allowFromLoadBalancer(peer: ec2.IPeer | ec2.IConnectable): void {
    this.service.connections.allowFrom(peer, ec2.Port.tcp(this.containerPort), 'from the load balancer');
  }
}
