import { DescribeAlarmsCommand, type MetricAlarm, type CompositeAlarm } from '@aws-sdk/client-cloudwatch';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import type { Output } from '../output/output.ts';
import { resolveAdapterOptions, type AwsAdapterOptions } from './adapter-options.ts';
import type { AwsClients } from './aws-clients.ts';
import { throttledCaller } from './throttle-retry.ts';
import type { GateAlarms } from '../platform/roles.ts';
import { GATE_ALARMS, gateAlarmName, judgeAlarms, type AlarmJudgement } from '../platform/gate-alarms.ts';

export interface AlarmState {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason: string;
  readonly since: string | null;
}

/** A gate verdict from CloudWatch alarms: `ok` false when any alarm is in ALARM. */
export interface AlarmGateVerdict {
  readonly ok: boolean;
  /** One line per failing alarm: name, and CloudWatch's own state reason verbatim. */
  readonly reasons: string[];
  readonly alarms: AlarmState[];
  /** Alarms without data yet (a new target group): reported, not failing unless configured. */
  readonly insufficientData: string[];
}

export interface CloudWatchGatesOptions extends AwsAdapterOptions {
  /** Alarms judged: every alarm whose name starts with this. @default 'cutover-<env>-' */
  readonly alarmNamePrefix?: string;
  /** Treat INSUFFICIENT_DATA as failing. @default false */
  readonly insufficientDataFails?: boolean;
}

/**
 * The gates on AWS read the alarms the stack created (green 5xx ratio, green p99 against blue,
 * DMS `CDCLatencyTarget`, …): CloudWatch already evaluates the thresholds over proper windows, so
 * the gate's job is to read their state (`DescribeAlarms`) and say which one fails and why.
 * Both metric and composite alarms count.
 */
export class CloudWatchGates implements GateAlarms {
  private readonly call: ReturnType<typeof throttledCaller>;
  public readonly alarmNamePrefix: string;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly out: Output,
    private readonly options: CloudWatchGatesOptions = {},
  ) {
    this.call = throttledCaller(resolveAdapterOptions(options), (m) => this.out.warn('gates', m));
    this.alarmNamePrefix = options.alarmNamePrefix ?? `cutover-${env.name}-`;
  }

  async alarms(): Promise<AlarmState[]> {
    const found: (MetricAlarm | CompositeAlarm)[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('DescribeAlarms', () =>
        this.clients.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNamePrefix: this.alarmNamePrefix, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: token }),
        ),
      );
      found.push(...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? []));
      token = page.NextToken;
    } while (token);
    return found.map(reading).sort((x, y) => x.name.localeCompare(y.name));
  }

  /**
   * The shift or bake gate's alarms, by the names the stack gives them: ALARM is red, a missing
   * alarm or one in INSUFFICIENT_DATA is "not proven" (never green).
   */
  async judge(gate: 'shift' | 'bake'): Promise<AlarmJudgement> {
    const names = GATE_ALARMS[gate].map((a) => gateAlarmName(this.env.name, a));
    const found: (MetricAlarm | CompositeAlarm)[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('DescribeAlarms', () =>
        this.clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: token })),
      );
      found.push(...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? []));
      token = page.NextToken;
    } while (token);
    return judgeAlarms(names, found.map(reading));
  }

  async evaluate(): Promise<AlarmGateVerdict> {
    const alarms = await this.alarms();
    const failing = alarms.filter((a) => a.state === 'ALARM' || (this.options.insufficientDataFails === true && a.state === 'INSUFFICIENT_DATA'));
    const insufficientData = alarms.filter((a) => a.state === 'INSUFFICIENT_DATA').map((a) => a.name);
    const reasons = failing.map((a) => `${a.name} is ${a.state}${a.since ? ` since ${a.since}` : ''}: ${a.reason}`);
    if (alarms.length === 0) {
      this.out.warn('gates', `no CloudWatch alarms named ${this.alarmNamePrefix}*: nothing to judge (deploy the stack's alarms)`);
    }
    for (const r of reasons) this.out.error('gates', r);
    if (insufficientData.length && !this.options.insufficientDataFails) {
      this.out.info('gates', `no data yet (not failing): ${insufficientData.join(', ')}`);
    }
    return { ok: failing.length === 0, reasons, alarms, insufficientData };
  }
}

function reading(a: MetricAlarm | CompositeAlarm): AlarmState {
  return {
    name: a.AlarmName ?? '(unnamed)',
    state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmState['state'],
    reason: a.StateReason ?? '',
    since: a.StateUpdatedTimestamp ? new Date(a.StateUpdatedTimestamp).toISOString() : null,
  };
}
