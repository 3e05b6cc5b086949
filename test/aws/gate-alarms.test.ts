import { describe, expect, test } from 'vitest';
import { judgeAlarms, type AlarmReading } from '../../lib/platform/gate-alarms.ts';

/**
 * judgeAlarms on its own, from the mutation pass (issue 18): ALARM is red with CloudWatch's words,
 * a missing alarm or one without data is "not proven" (each named), all OK is green, and the
 * readings it returns are the expected alarms found, in the gate's order.
 */
const reading = (name: string, state: AlarmReading['state'], since: string | null = null): AlarmReading => ({ name, state, reason: `${state} reason`, since });

describe('judgeAlarms', () => {
  test('all expected alarms OK: green, with the readings of the expected alarms in the gate\'s order', () => {
    const found = [reading('b', 'OK'), reading('other', 'ALARM'), reading('a', 'OK')];
    expect(judgeAlarms(['a', 'b'], found)).toEqual({ reasons: [], unproven: null, alarms: [found[2], found[0]] });
  });

  test('fails if an alarm is ALARM: its reason, with since when CloudWatch gives it', () => {
    const j = judgeAlarms(['a', 'b'], [reading('a', 'ALARM', '2026-03-01T10:01:30.000Z'), reading('b', 'ALARM')]);
    expect(j.reasons).toEqual(['alarm a is ALARM since 2026-03-01T10:01:30.000Z: ALARM reason', 'alarm b is ALARM: ALARM reason']);
    expect(j.unproven).toBeNull();
  });

  test('fails to prove with missing alarms and alarms without data, each named, singular and plural', () => {
    expect(judgeAlarms(['a', 'b'], [reading('a', 'OK'), reading('b', 'INSUFFICIENT_DATA')]).unproven).toBe('alarm without data (INSUFFICIENT_DATA): b');
    const j = judgeAlarms(['a', 'b', 'c', 'd'], [reading('b', 'INSUFFICIENT_DATA'), reading('d', 'INSUFFICIENT_DATA')]);
    expect(j.unproven).toBe('no CloudWatch alarm named a, c (deploy the stack: npx cdk deploy); alarms without data (INSUFFICIENT_DATA): b, d');
    expect(j.reasons).toEqual([]);
    expect(j.alarms.map((a) => a.name)).toEqual(['b', 'd']);
    expect(judgeAlarms(['a'], []).unproven).toBe('no CloudWatch alarm named a (deploy the stack: npx cdk deploy)');
  });
});
