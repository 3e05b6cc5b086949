import { CutoverError } from '../errors.ts';

/**
 * CloudWatch names ELB resources by the tail of their ARN. These pure functions turn the ARNs of
 * the config into those dimension values once, so alarms on imported target groups need no lookup.
 */

/** `arn:…:targetgroup/blue/73e2d6bc24d8a067` -> `targetgroup/blue/73e2d6bc24d8a067`. */
export function targetGroupFullName(targetGroupArn: string): string {
  const m = /:(targetgroup\/[^/]+\/[0-9a-f]+)$/.exec(targetGroupArn);
  if (!m) {
    throw new CutoverError('CONFIG_INVALID', 'not a target group ARN', {
      received: targetGroupArn,
      allowed: 'arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID',
      fix: 'copy the ARN from the EC2 console (Target groups) or `aws elbv2 describe-target-groups`',
    });
  }
  return m[1]!;
}

/** `arn:…:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2` -> `app/shop/50dc6c495c0c9188`. */
export function loadBalancerFullNameOfListener(listenerArn: string): string {
  const m = /:listener\/(app\/[^/]+\/[0-9a-f]+)\/[0-9a-f]+$/.exec(listenerArn);
  if (!m) {
    throw new CutoverError('CONFIG_INVALID', 'not an application load balancer listener ARN', {
      received: listenerArn,
      allowed: 'arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/LB_ID/LISTENER_ID',
      fix: 'copy the listener ARN from the EC2 console (Load balancers > Listeners)',
    });
  }
  return m[1]!;
}

/** The load balancer ARN a listener belongs to. */
export function loadBalancerArnOfListener(listenerArn: string): string {
  const fullName = loadBalancerFullNameOfListener(listenerArn);
  return listenerArn.replace(/:listener\/.*$/, `:loadbalancer/${fullName}`);
}
