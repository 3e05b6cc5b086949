import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault green-errors', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('green-errors');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('the shift gates send reads back to blue automatically, and a rollback phase is reported', () => {
    const shift = phase(r.report, 'shift');
    expect(shift.outcome, brief(r)).toBe('rolled-back');
    // the shift's own gate moved reads back: the router read 0 % green before the rollback ran
    expect(shift.summary).toMatch(/gate failed at \d+ % green: green error ratio .*reads rolled back to 0 %/);
    expect(shift.figures).toMatchObject({ readWeightGreenBeforeRollback: 0 });
    expect(phase(r.report, 'switch').outcome, brief(r)).toBe('not-run');
    expect(phase(r.report, 'rollback').outcome, brief(r)).toBe('ok');
    const last = r.report.timeline[r.report.timeline.length - 1]!;
    expect(last.readWeightGreen).toBe(0);
    expect(last.writeTarget).toBe('blue');
  });

  test('green failed, yet no client saw it and no acknowledged write was lost', () => {
    const greenErrors = r.report.timeline.reduce((a, s) => a + s.errorsPerSec.green, 0);
    expect(greenErrors).toBeGreaterThan(0);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
    expect(r.code, brief(r)).toBe(0);
  });
});
