/**
 * The CloudWatch alarms a shift step and the bake read on AWS, by name. The stacks create them
 * with exactly these names (lib/infra/blue-green-router.ts, lib/infra/dms-replication.ts) and the
 * aws platform reads them (lib/aws/cloudwatch-gates.ts): one list, so neither side can drift.
 */
export type GateAlarm =
  | 'green-error-ratio'
  | 'green-p99-latency'
  | 'green-unhealthy-hosts'
  | 'green-p99-ratio-to-blue'
  | 'forward-cdc-latency-source'
  | 'forward-cdc-latency-target'
  | 'reverse-cdc-latency-source'
  | 'reverse-cdc-latency-target';

/** Before the write switch reads move and forward replication must keep up; after it, reverse. */
export const GATE_ALARMS: Readonly<Record<'shift' | 'bake', readonly GateAlarm[]>> = {
  shift: ['green-error-ratio', 'green-p99-latency', 'green-unhealthy-hosts', 'green-p99-ratio-to-blue', 'forward-cdc-latency-source', 'forward-cdc-latency-target'],
  bake: ['green-error-ratio', 'green-p99-latency', 'green-unhealthy-hosts', 'green-p99-ratio-to-blue', 'reverse-cdc-latency-source', 'reverse-cdc-latency-target'],
};

export function gateAlarmName(environmentName: string, alarm: GateAlarm): string {
  return `cutover-${environmentName}-${alarm}`;
}

export interface AlarmReading {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason: string;
  readonly since: string | null;
}

/** Alarms as a gate: red when one is in ALARM; not proven when one is missing or has no data. */
export interface AlarmJudgement {
  readonly reasons: string[];
  readonly unproven: string | null;
  readonly alarms: AlarmReading[];
}

/**
 * Judges the alarms a gate expects against what CloudWatch returned. An alarm in ALARM is red;
 * one in INSUFFICIENT_DATA, or not found at all, proves nothing, so the gate is "not proven" —
 * never green (a stack deployed without its alarms, or alarms without data, must not pass).
 */
export function judgeAlarms(expected: readonly string[], found: readonly AlarmReading[]): AlarmJudgement {
  const byName = new Map(found.map((a) => [a.name, a]));
  const reasons: string[] = [];
  const missing: string[] = [];
  const noData: string[] = [];
  for (const name of expected) {
    const a = byName.get(name);
    if (!a) missing.push(name);
    else if (a.state === 'ALARM') reasons.push(`alarm ${a.name} is ALARM${a.since ? ` since ${a.since}` : ''}: ${a.reason}`);
    else if (a.state !== 'OK') noData.push(a.name);
  }
  const unproven = [
    missing.length ? `no CloudWatch alarm named ${missing.join(', ')} (deploy the stack: npx cdk deploy)` : '',
    noData.length ? `alarm${noData.length === 1 ? '' : 's'} without data (INSUFFICIENT_DATA): ${noData.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { reasons, unproven: expected.length === 0 ? 'no alarm to read' : unproven || null, alarms: expected.map((n) => byName.get(n)).filter((a): a is AlarmReading => !!a) };
}
