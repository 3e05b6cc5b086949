import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AlbRouter } from '../../lib/aws/alb-router.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { ARNS, awsEnv, commandNames, fakeAlbAndState, fakeTime, inputsOf, mocks, newClients, resetMocks, throttlingError } from './aws-fixtures.ts';

let routers: AlbRouter[] = [];
function router(time = fakeTime(), out = new RecordingOutput()) {
  const r = new AlbRouter(awsEnv(), newClients(), out, { ...time, retryBaseDelayMs: 1 });
  routers.push(r);
  return r;
}

const weights = (input: { DefaultActions: { ForwardConfig: { TargetGroups: { TargetGroupArn: string; Weight: number }[] } }[] }) =>
  input.DefaultActions[0]!.ForwardConfig.TargetGroups.map((g) => `${g.TargetGroupArn === ARNS.blueTg ? 'blue' : 'green'}=${g.Weight}`).join(' ');

const ruleAction = (input: { Actions: { Type: string; TargetGroupArn?: string; FixedResponseConfig?: { StatusCode: string; MessageBody: string } }[] }) => {
  const a = input.Actions[0]!;
  if (a.Type === 'fixed-response') return `fixed-response ${a.FixedResponseConfig!.StatusCode}`;
  return `forward ${a.TargetGroupArn === ARNS.blueTg ? 'blue' : 'green'}`;
};

beforeEach(() => {
  resetMocks();
  mocks.cloudwatch.on(PutMetricDataCommand).resolves({});
});
afterEach(() => {
  for (const r of routers) r.close();
  routers = [];
});

describe('AlbRouter', () => {
  test('shift moves the listener default action through 1/10/50/100 % weights and records the state', async () => {
    const world = fakeAlbAndState();
    const r = router();
    for (const step of [1, 10, 50, 100]) await r.setReadWeight(step);
    expect(inputsOf(mocks.elbv2, 'ModifyListener').map((i) => weights(i as never))).toEqual([
      'blue=99 green=1',
      'blue=90 green=10',
      'blue=50 green=50',
      'blue=0 green=100',
    ]);
    expect(inputsOf(mocks.elbv2, 'ModifyListener')[0]).toMatchObject({ ListenerArn: ARNS.listener });
    expect(JSON.parse(world.state)).toMatchObject({ readWeightGreen: 100, writeTarget: 'blue', writesHeld: false });
    expect(await r.state()).toEqual({ readWeightGreen: 100, writeTarget: 'blue', writesHeld: false, heldCount: 0 });
    expect(inputsOf(mocks.cloudwatch, 'PutMetricData').at(-1)).toMatchObject({
      Namespace: 'Cutover',
      MetricData: [{ MetricName: 'GreenReadWeightPercent', Value: 100, Dimensions: [{ Name: 'Environment', Value: 'staging' }] }],
    });
  });

  test('shift to 10 % is exactly ModifyListener blue=90 green=10', async () => {
    fakeAlbAndState();
    await router().setReadWeight(10);
    expect(commandNames(mocks.elbv2)).toEqual(['ModifyListener']);
    expect(weights(inputsOf(mocks.elbv2, 'ModifyListener')[0] as never)).toBe('blue=90 green=10');
  });

  test('switch: hold answers 503, flip records green, release forwards to green and reports the hold time', async () => {
    const world = fakeAlbAndState({ blue: 0, green: 100 });
    const time = fakeTime();
    const r = router(time);
    await r.holdWrites(15_000);
    expect(await r.state()).toMatchObject({ writesHeld: true, writeTarget: 'blue' });
    await r.setWriteTarget('green');
    expect(await r.state()).toMatchObject({ writesHeld: true, writeTarget: 'green' });
    time.advance(850);
    const released = await r.releaseWrites();
    expect(inputsOf(mocks.elbv2, 'ModifyRule').map((i) => ruleAction(i as never))).toEqual(['fixed-response 503', 'forward green']);
    const freeze = inputsOf<{ RuleArn: string; Actions: { FixedResponseConfig: { MessageBody: string; ContentType: string } }[] }>(mocks.elbv2, 'ModifyRule')[0]!;
    expect(freeze.RuleArn).toBe(ARNS.writeRule);
    expect(JSON.parse(freeze.Actions[0]!.FixedResponseConfig.MessageBody)).toMatchObject({ error: 'writes-paused', retryAfterSeconds: 15 });
    expect(released).toEqual({ released: 0, holdMs: { p50: 850, p99: 850, max: 850 } });
    expect(await r.state()).toEqual({ readWeightGreen: 100, writeTarget: 'green', writesHeld: false, heldCount: 0 });
    expect(JSON.parse(world.state)).toMatchObject({ writeTarget: 'green', writesHeld: false, holds: 1, maxHoldMs: 850 });
  });

  test('rollback: reads to blue at once, then hold, flip writes to blue, release', async () => {
    fakeAlbAndState({ blue: 0, green: 100, writeTg: ARNS.greenTg, state: JSON.stringify({ readWeightGreen: 100, writeTarget: 'green', writesHeld: false, holds: 1, maxHoldMs: 800 }) });
    const r = router();
    await r.setReadWeight(0);
    await r.holdWrites(15_000);
    await r.setWriteTarget('blue');
    await r.releaseWrites();
    expect(commandNames(mocks.elbv2).filter((n) => n.startsWith('Modify'))).toEqual(['ModifyListener', 'ModifyRule', 'ModifyRule']);
    expect(weights(inputsOf(mocks.elbv2, 'ModifyListener')[0] as never)).toBe('blue=100 green=0');
    expect(inputsOf(mocks.elbv2, 'ModifyRule').map((i) => ruleAction(i as never))).toEqual(['fixed-response 503', 'forward blue']);
    expect(await r.state()).toEqual({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false, heldCount: 0 });
  });

  test('a write flip without a freeze modifies the rule at once', async () => {
    fakeAlbAndState();
    await router().setWriteTarget('green');
    expect(inputsOf(mocks.elbv2, 'ModifyRule').map((i) => ruleAction(i as never))).toEqual(['forward green']);
  });

  test('a release after a crash mid-freeze forwards to the target recorded in the state parameter', async () => {
    fakeAlbAndState({
      writeTg: ARNS.blueTg,
      state: JSON.stringify({ readWeightGreen: 100, writeTarget: 'green', writesHeld: true, heldSince: '2025-03-01T09:59:59.000Z', holds: 0, maxHoldMs: 0 }),
    });
    // the rule still answers 503 in the fake: make it so
    await router().releaseWrites();
    expect(inputsOf(mocks.elbv2, 'ModifyRule').map((i) => ruleAction(i as never))).toEqual(['forward green']);
  });

  test('throttled ModifyListener calls are retried until they succeed', async () => {
    fakeAlbAndState();
    mocks.elbv2.on(ModifyListenerCommand).rejectsOnce(throttlingError()).rejectsOnce(throttlingError()).rejectsOnce(throttlingError()).resolves({});
    const out = new RecordingOutput();
    const time = fakeTime();
    await router(time, out).setReadWeight(50);
    expect(mocks.elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(4);
    expect(time.sleeps).toHaveLength(3);
    expect(out.lines.filter((l) => l.level === 'warn' && l.message.includes('ModifyListener throttled'))).toHaveLength(3);
  });

  test('fails if throttling outlasts every retry', async () => {
    fakeAlbAndState();
    mocks.elbv2.on(ModifyListenerCommand).rejects(throttlingError());
    await expect(router().setReadWeight(50)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(mocks.elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(8);
  });

  test('fails if the weight is not a whole percent', async () => {
    fakeAlbAndState();
    await expect(router().setReadWeight(150)).rejects.toMatchObject({ code: 'USAGE' });
    expect(commandNames(mocks.elbv2)).toEqual([]);
  });

  test('metrics map CloudWatch target-group sums and percentiles into RouterMetrics', async () => {
    fakeAlbAndState();
    const v = (Id: string, Values: number[]) => ({ Id, Values, Timestamps: Values.map(() => new Date()) });
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        v('blue_req', [600, 400]),
        v('blue_s2xx', [990]),
        v('blue_s5xx', [10]),
        v('green_req', [200]),
        v('green_s2xx', [190]),
        v('green_s4xx', [4]),
        v('green_s5xx', [6]),
        v('green_connerr', [1]),
        v('green_p50', [0.012]),
        v('green_p90', [0.03]),
        v('green_p99', [0.12]),
        v('green_max', [0.4]),
        v('elb5xx', [2]),
        v('fixed', [7]),
      ],
    });
    const m = await router().metrics();
    expect(m.upstreams.blue).toMatchObject({ requests: 1000, status2xx: 990, status5xx: 10, latencyBucketsMs: [0, 0, 0, 0] });
    expect(m.upstreams.green).toEqual({
      requests: 200,
      status2xx: 190,
      status4xx: 4,
      status5xx: 6,
      errors: 1,
      retriedOnBlue: 0,
      latencyBucketsMs: [12, 30, 120, 400],
      latencyCounts: [100, 180, 198, 200],
    });
    expect(m.clientFailures).toBe(2);
    expect(m.held.total).toBe(7);
    const q = inputsOf<{ MetricDataQueries: { Id: string; MetricStat: { Stat: string; Metric: { Dimensions: { Name: string; Value: string }[] } } }[] }>(mocks.cloudwatch, 'GetMetricData')[0]!;
    const p99 = q.MetricDataQueries.find((x) => x.Id === 'green_p99')!;
    expect(p99.MetricStat.Stat).toBe('p99');
    expect(p99.MetricStat.Metric.Dimensions).toEqual([
      { Name: 'TargetGroup', Value: 'targetgroup/green/a1b2c3d4e5f60718' },
      { Name: 'LoadBalancer', Value: 'app/shop/50dc6c495c0c9188' },
    ]);
  });
});
