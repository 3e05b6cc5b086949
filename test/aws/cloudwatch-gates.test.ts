import { beforeEach, describe, expect, test } from 'vitest';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchGates } from '../../lib/aws/cloudwatch-gates.ts';
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
});
