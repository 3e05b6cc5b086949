import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault target-restart', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('target-restart');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test("green's PostgreSQL was restarted during CDC before the shift; the shift went on only with lag under the limit", () => {
    const f = r.report.faults?.find((x) => x.name === 'target-restart');
    expect(f, brief(r)).toBeDefined();
    const shift = phase(r.report, 'shift');
    expect(shift.outcome).toBe('ok');
    expect(Date.parse(shift.start!)).toBeGreaterThanOrEqual(Date.parse(r.report.startedAt) + f!.until!);
    // the switch's frozen validation compared every row after the restart: nothing lost or doubled
    expect(phase(r.report, 'switch').outcome, brief(r)).toBe('ok');
    expect(phase(r.report, 'finalize').outcome, brief(r)).toBe('ok');
  });

  test('no client request failed, no acknowledged write lost', () => {
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
    expect(r.code, brief(r)).toBe(0);
  });
});
