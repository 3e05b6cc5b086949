import { beforeEach, describe, expect, test } from 'vitest';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchGates } from '../../lib/aws/cloudwatch-gates.ts';
import { createAwsPlatform } from '../../lib/aws/create-aws-platform.ts';
import { GATE_ALARMS, gateAlarmName, judgeAlarms } from '../../lib/platform/gate-alarms.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { awsEnv, fakeTime, inputsOf, mocks, newClients, resetMocks, throttlingError } from './aws-fixtures.ts';

beforeEach(() => resetMocks());

const ok = { AlarmName: 'cutover-staging-green-5xx-ratio', StateValue: 'OK' as const, StateReason: 'Threshold Crossed: no datapoints above 0.01' };

describe('CloudWatchGates', () => {
  test('passes when every alarm is OK', async () => {
    mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ok] });
    const v = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput()).evaluate();
    expect(v.ok).toBe(true);
    expect(inputsOf(mocks.cloudwatch, 'DescribeAlarms')[0]).toMatchObject({ AlarmNamePrefix: 'cutover-staging-' });
  });

  test('fails if an alarm is in ALARM, naming it with CloudWatch’s reason', async () => {
    const reason = 'Threshold Crossed: 1 datapoint [0.07 (01/03/25 10:01:00)] was greater than the threshold (0.01).';
    mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [ok, { AlarmName: 'cutover-staging-dms-lag', StateValue: 'INSUFFICIENT_DATA', StateReason: 'no data' }],
      CompositeAlarms: [{ AlarmName: 'cutover-staging-green-p99', StateValue: 'ALARM', StateReason: reason, StateUpdatedTimestamp: new Date('2025-03-01T10:01:30Z') }],
    });
    const out = new RecordingOutput();
    const v = await new CloudWatchGates(awsEnv(), newClients(), out).evaluate();
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([`cutover-staging-green-p99 is ALARM since 2025-03-01T10:01:30.000Z: ${reason}`]);
    expect(v.insufficientData).toEqual(['cutover-staging-dms-lag']);
    expect(out.lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  test('fails on INSUFFICIENT_DATA when configured to', async () => {
    mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'cutover-staging-dms-lag', StateValue: 'INSUFFICIENT_DATA', StateReason: 'no data' }] });
    const v = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput(), { insufficientDataFails: true }).evaluate();
    expect(v.ok).toBe(false);
  });

  test('a throttled DescribeAlarms is retried', async () => {
    mocks.cloudwatch.on(DescribeAlarmsCommand).rejectsOnce(throttlingError()).resolves({ MetricAlarms: [ok] });
    const v = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput(), { ...fakeTime() }).evaluate();
    expect(v.ok).toBe(true);
    expect(mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(2);
  });

  describe('judge(gate): the alarms the stack names for the shift and the bake', () => {
    const named = (gate: 'shift' | 'bake', state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' = 'OK') =>
      GATE_ALARMS[gate].map((a) => ({ AlarmName: gateAlarmName('staging', a), StateValue: state, StateReason: `${state} reason` }));

    test('asks CloudWatch for exactly the gate\'s alarms by name; all OK is green', async () => {
      mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: named('shift') });
      const j = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput()).judge('shift');
      expect(j).toMatchObject({ reasons: [], unproven: null });
      expect(inputsOf<{ AlarmNames: string[] }>(mocks.cloudwatch, 'DescribeAlarms')[0]!.AlarmNames).toEqual([
        'cutover-staging-green-error-ratio',
        'cutover-staging-green-p99-latency',
        'cutover-staging-green-unhealthy-hosts',
        'cutover-staging-green-p99-ratio-to-blue',
        'cutover-staging-forward-cdc-latency-source',
        'cutover-staging-forward-cdc-latency-target',
      ]);
    });

    test('fails if an alarm is ALARM: a reason with CloudWatch\'s own words', async () => {
      const alarms = named('bake');
      alarms[4] = { ...alarms[4]!, StateValue: 'ALARM', StateReason: 'Threshold Crossed: 3 datapoints above 60' };
      mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: alarms });
      const j = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput()).judge('bake');
      expect(j.reasons).toEqual(['alarm cutover-staging-reverse-cdc-latency-source is ALARM: Threshold Crossed: 3 datapoints above 60']);
    });

    test('fails if no alarm is found: not proven, never green', async () => {
      mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
      const j = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput()).judge('shift');
      expect(j.reasons).toEqual([]);
      expect(j.unproven).toMatch(/^no CloudWatch alarm named cutover-staging-green-error-ratio, .*forward-cdc-latency-target \(deploy the stack/);
    });

    test('fails if an alarm is INSUFFICIENT_DATA: not proven', async () => {
      const alarms = named('shift');
      alarms[1] = { ...alarms[1]!, StateValue: 'INSUFFICIENT_DATA' };
      mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: alarms });
      const j = await new CloudWatchGates(awsEnv(), newClients(), new RecordingOutput()).judge('shift');
      expect(j.unproven).toBe('alarm without data (INSUFFICIENT_DATA): cutover-staging-green-p99-latency');
    });

    test('judgeAlarms: an empty expectation proves nothing', () => {
      expect(judgeAlarms([], []).unproven).toBe('no alarm to read');
    });

    test('the aws platform gives the shift and bake gates these alarms', async () => {
      mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: named('bake', 'ALARM') });
      const platform = await createAwsPlatform(awsEnv(), new RecordingOutput(), { clients: newClients() });
      try {
        expect((await platform.alarms!.judge('bake')).reasons).toHaveLength(GATE_ALARMS.bake.length);
      } finally {
        await platform.close();
      }
    });
  });
});
