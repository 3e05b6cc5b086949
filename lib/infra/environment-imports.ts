import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { loadBalancerArnOfListener } from './elb-arns.ts';

/**
 * The one place where ARNs and ids from the config become CDK interfaces. Everything below the
 * stacks takes `ISecret`, `IApplicationTargetGroup`, `IApplicationListener`, never an ARN.
 * No lookups: `cdk synth` runs offline, without AWS credentials.
 */

/** Secrets Manager ARNs end in `-` and 6 random characters when complete. */
export function importSecret(scope: Construct, id: string, secretArn: string): secretsmanager.ISecret {
  return /-[A-Za-z0-9]{6}$/.test(secretArn)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, secretArn)
    : secretsmanager.Secret.fromSecretPartialArn(scope, id, secretArn);
}

export function importTargetGroup(scope: Construct, id: string, targetGroupArn: string): elbv2.IApplicationTargetGroup {
  return elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(scope, id, { targetGroupArn });
}

export function importListener(scope: Construct, id: string, listenerArn: string, securityGroupId?: string): elbv2.IApplicationListener {
  // The security group is only used for `connections`, which the kit never calls on an imported
  // listener; an immutable import emits nothing into the template.
  const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(scope, `${id}SecurityGroup`, securityGroupId ?? 'sg-00000000', {
    mutable: false,
  });
  void loadBalancerArnOfListener(listenerArn); // validates the ARN shape with a clear error
  return elbv2.ApplicationListener.fromApplicationListenerAttributes(scope, id, { listenerArn, securityGroup });
}

export interface ExistingVpc {
  readonly id: string;
  readonly cidrBlock: string;
  readonly availabilityZones: readonly string[];
  readonly privateSubnetIds: readonly string[];
  readonly publicSubnetIds?: readonly string[];
}

export function importVpc(scope: Construct, id: string, vpc: ExistingVpc): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(scope, id, {
    vpcId: vpc.id,
    vpcCidrBlock: vpc.cidrBlock,
    availabilityZones: [...vpc.availabilityZones],
    privateSubnetIds: [...vpc.privateSubnetIds],
    publicSubnetIds: vpc.publicSubnetIds ? [...vpc.publicSubnetIds] : undefined,
  });
}
