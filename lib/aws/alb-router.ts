import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { CUTOVER_METRIC_NAMES, CUTOVER_METRICS_NAMESPACE, ENVIRONMENT_DIMENSION } from '../infra/custom-metrics.ts';
import { loadBalancerFullNameOfListener, targetGroupFullName } from '../infra/elb-arns.ts';
import type { Output } from '../output/output.ts';
import type { RouterMetrics, RouterState, Side, TrafficRouter } from '../platform/roles.ts';
import { resolveAdapterOptions, type AwsAdapterOptions, type ResolvedAdapterOptions } from './adapter-options.ts';
import { readAlbMetrics } from './alb-metrics.ts';
import type { AwsClients } from './aws-clients.ts';
import { awsResourcesFor, type AwsResources } from './aws-resource-names.ts';
import { readRouterState, writeRouterState, type CutoverRouterState } from './cutover-state-parameter.ts';
import { throttledCaller } from './throttle-retry.ts';

/** Status of the write rule's answer during a freeze. */
export const WRITE_FREEZE_STATUS_CODE = '503';

/**
 * The write rule's answer during a freeze. An ALB fixed response can set the status, the content
 * type and a body (≤ 1024 bytes) but no headers, so there is no `Retry-After` header: the body
 * carries `retryAfterSeconds` instead, and clients (or the app's SDK) must retry a 503 on a write
 * with its idempotency key. The runbook says so at the switch step.
 */
export function writeFreezeBody(maxHoldMs: number): string {
  return JSON.stringify({
    error: 'writes-paused',
    message: 'Writes are paused for a database cutover; retry shortly.',
    retryAfterSeconds: Math.max(1, Math.ceil(maxHoldMs / 1000)),
  });
}

/**
 * `TrafficRouter` on an Application Load Balancer (ARNs from SSM):
 * - reads: the listener's default action, a weighted forward to the blue/green target groups
 *   (`ModifyListener`);
 * - writes: the write rule (matches write methods), a forward to one target group, or during a
 *   freeze a fixed-response 503 (`ModifyRule`). The ALB cannot hold a request, so `holdWrites`
 *   REFUSES writes with 503 for the freeze; `releaseWrites` restores the forward to the current
 *   write target and reports how long the rule answered 503 (`released` is 0: nothing was held).
 * - every change is written to the SSM state parameter (where writes go while frozen, since
 *   when) and to the `Cutover` custom metrics the dashboard reads.
 * Changes go through the throttling retry: a half-applied router change is the worst outcome.
 */
export class AlbRouter implements TrafficRouter {
  private readonly opts: ResolvedAdapterOptions;
  private readonly call: ReturnType<typeof throttledCaller>;
  private readonly createdAt: Date;
  private autoRelease: NodeJS.Timeout | undefined;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly out: Output,
    options: AwsAdapterOptions = {},
  ) {
    this.opts = resolveAdapterOptions(options);
    this.call = throttledCaller(this.opts, (m) => this.out.warn('router', m));
    this.createdAt = this.opts.now();
  }

  private resources(): Promise<AwsResources> {
    return awsResourcesFor(this.env.name, this.clients.ssm);
  }

  private async savedState(): Promise<CutoverRouterState> {
    const r = await this.resources();
    return this.call('GetParameter', () => readRouterState(this.clients.ssm, r.stateParameterName));
  }

  private async saveState(state: CutoverRouterState): Promise<void> {
    const r = await this.resources();
    await this.call('PutParameter', () =>
      writeRouterState(this.clients.ssm, r.stateParameterName, { ...state, updatedAt: this.opts.now().toISOString() }),
    );
  }

  private sideOf(r: AwsResources, targetGroupArn: string | undefined): Side | undefined {
    if (targetGroupArn === r.blueTargetGroupArn) return 'blue';
    if (targetGroupArn === r.greenTargetGroupArn) return 'green';
    return undefined;
  }

  async state(): Promise<RouterState> {
    const r = await this.resources();
    const [listeners, rules, saved] = await Promise.all([
      this.call('DescribeListeners', () => this.clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: [r.listenerArn] }))),
      this.call('DescribeRules', () => this.clients.elbv2.send(new DescribeRulesCommand({ RuleArns: [r.writeRuleArn] }))),
      this.savedState(),
    ]);
    const readAction = listeners.Listeners?.[0]?.DefaultActions?.find((a) => a.Type === 'forward');
    let blue = 0;
    let green = 0;
    const groups = readAction?.ForwardConfig?.TargetGroups ?? (readAction?.TargetGroupArn ? [{ TargetGroupArn: readAction.TargetGroupArn, Weight: 1 }] : []);
    for (const g of groups) {
      const side = this.sideOf(r, g.TargetGroupArn);
      if (side === 'blue') blue += g.Weight ?? 1;
      if (side === 'green') green += g.Weight ?? 1;
    }
    const writeAction = rules.Rules?.[0]?.Actions?.[0];
    const writesHeld = writeAction?.Type === 'fixed-response';
    const forwardTg = writeAction?.TargetGroupArn ?? writeAction?.ForwardConfig?.TargetGroups?.find((g) => (g.Weight ?? 1) > 0)?.TargetGroupArn;
    const writeTarget = writesHeld ? saved.writeTarget : (this.sideOf(r, forwardTg) ?? saved.writeTarget);
    return {
      readWeightGreen: blue + green === 0 ? 0 : Math.round((green / (blue + green)) * 100),
      writeTarget,
      writesHeld,
      heldCount: 0,
    };
  }

  async setReadWeight(greenPercent: number): Promise<void> {
    if (!Number.isInteger(greenPercent) || greenPercent < 0 || greenPercent > 100) {
      throw new CutoverError('USAGE', 'read weight must be a whole percent', { received: greenPercent, allowed: '0..100' });
    }
    const r = await this.resources();
    const defaultActions: Action[] = [
      {
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: r.blueTargetGroupArn, Weight: 100 - greenPercent },
            { TargetGroupArn: r.greenTargetGroupArn, Weight: greenPercent },
          ],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      },
    ];
    await this.call('ModifyListener', () =>
      this.clients.elbv2.send(new ModifyListenerCommand({ ListenerArn: r.listenerArn, DefaultActions: defaultActions })),
    );
    this.out.ok('router', `reads ${100 - greenPercent}% blue / ${greenPercent}% green`);
    const saved = await this.savedState();
    await this.saveState({ ...saved, readWeightGreen: greenPercent, metricsSince: saved.metricsSince ?? this.createdAt.toISOString() });
    await this.publish(CUTOVER_METRIC_NAMES.greenReadWeight, greenPercent);
  }

  private forwardTo(r: AwsResources, side: Side): Action[] {
    return [{ Type: 'forward', TargetGroupArn: side === 'blue' ? r.blueTargetGroupArn : r.greenTargetGroupArn }];
  }

  /** Null: the ALB answers new writes 503 at once and does not count the ones in flight to the targets. */
  async holdWrites(maxHoldMs: number): Promise<null> {
    const r = await this.resources();
    const saved = await this.savedState();
    const current = await this.state();
    if (current.writesHeld) {
      this.out.info('router', 'writes already refused with 503 (write freeze in place)');
    } else {
      // State first: a crash after the rule change still knows where writes must go on release.
      await this.saveState({ ...saved, writeTarget: current.writeTarget, writesHeld: true, heldSince: this.opts.now().toISOString() });
      await this.call('ModifyRule', () =>
        this.clients.elbv2.send(
          new ModifyRuleCommand({
            RuleArn: r.writeRuleArn,
            Actions: [
              {
                Type: 'fixed-response',
                FixedResponseConfig: { StatusCode: WRITE_FREEZE_STATUS_CODE, ContentType: 'application/json', MessageBody: writeFreezeBody(maxHoldMs) },
              },
            ],
          }),
        ),
      );
      this.out.warn('router', `write freeze: the ALB answers writes with 503 (retryAfterSeconds in the body) for at most ${maxHoldMs} ms`);
    }
    clearTimeout(this.autoRelease);
    this.autoRelease = setTimeout(() => {
      this.autoRelease = undefined;
      this.out.warn('router', `write freeze reached maxHoldMs=${maxHoldMs}; releasing writes to the current target`);
      this.releaseWrites().catch((err: unknown) => this.out.error('router', `automatic release failed: ${(err as Error).message}`));
    }, maxHoldMs);
    this.autoRelease.unref();
    return null;
  }

  async setWriteTarget(side: Side): Promise<void> {
    const r = await this.resources();
    const saved = await this.savedState();
    const current = await this.state();
    if (current.writesHeld) {
      // The rule keeps answering 503; release forwards to the new target.
      await this.saveState({ ...saved, writeTarget: side });
    } else {
      await this.saveState({ ...saved, writeTarget: side });
      await this.call('ModifyRule', () => this.clients.elbv2.send(new ModifyRuleCommand({ RuleArn: r.writeRuleArn, Actions: this.forwardTo(r, side) })));
    }
    this.out.ok('router', `write target ${side}${current.writesHeld ? ' (applied at release)' : ''}`);
    await this.publish(CUTOVER_METRIC_NAMES.writesOnGreen, side === 'green' ? 1 : 0);
  }

  async releaseWrites(): Promise<{ released: number; holdMs: { p50: number; p99: number; max: number } }> {
    clearTimeout(this.autoRelease);
    this.autoRelease = undefined;
    const r = await this.resources();
    const saved = await this.savedState();
    await this.call('ModifyRule', () =>
      this.clients.elbv2.send(new ModifyRuleCommand({ RuleArn: r.writeRuleArn, Actions: this.forwardTo(r, saved.writeTarget) })),
    );
    const holdMs = saved.writesHeld && saved.heldSince ? Math.max(0, this.opts.now().getTime() - Date.parse(saved.heldSince)) : 0;
    const { heldSince: _ended, ...rest } = saved;
    await this.saveState({
      ...rest,
      writesHeld: false,
      holds: saved.holds + (saved.writesHeld ? 1 : 0),
      maxHoldMs: Math.max(saved.maxHoldMs, holdMs),
    });
    this.out.ok('router', `writes forwarded to ${saved.writeTarget}; the write rule answered 503 for ${holdMs} ms`);
    return { released: 0, holdMs: { p50: holdMs, p99: holdMs, max: holdMs } };
  }

  async metrics(): Promise<RouterMetrics> {
    const r = await this.resources();
    const saved = await this.savedState();
    const since = saved.metricsSince ? new Date(saved.metricsSince) : this.createdAt;
    const current = saved.writesHeld && saved.heldSince ? this.opts.now().getTime() - Date.parse(saved.heldSince) : 0;
    return this.call('GetMetricData', () =>
      readAlbMetrics(
        this.clients.cloudwatch,
        {
          loadBalancer: loadBalancerFullNameOfListener(r.listenerArn),
          blue: targetGroupFullName(r.blueTargetGroupArn),
          green: targetGroupFullName(r.greenTargetGroupArn),
        },
        since,
        this.opts.now(),
        { maxHoldMs: Math.max(saved.maxHoldMs, current), current: 0, holds: saved.holds },
      ),
    );
  }

  /** The dashboard's custom metrics; best effort (a dashboard gap must not undo a traffic move). */
  private async publish(metricName: string, value: number): Promise<void> {
    try {
      await this.call('PutMetricData', () =>
        this.clients.cloudwatch.send(
          new PutMetricDataCommand({
            Namespace: CUTOVER_METRICS_NAMESPACE,
            MetricData: [{ MetricName: metricName, Value: value, Unit: 'None', Dimensions: [{ Name: ENVIRONMENT_DIMENSION, Value: this.env.name }] }],
          }),
        ),
      );
    } catch (err) {
      this.out.warn('router', `could not publish ${metricName}: ${(err as Error).message}`);
    }
  }

  /** Cancels the automatic release timer (the rule itself stays as it is). */
  close(): void {
    clearTimeout(this.autoRelease);
    this.autoRelease = undefined;
  }
}
