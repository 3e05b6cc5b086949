import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault rollback-after-switch', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('rollback-after-switch');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('the switch happened, then the rollback brought everyone back to blue', () => {
    expect(phase(r.report, 'switch').outcome, brief(r)).toBe('ok');
    expect(phase(r.report, 'rollback').outcome, brief(r)).toBe('ok');
    expect(r.report.rollback.ran).toBe(true);
    expect(r.report.ledger.checkedOn).toBe('blue');
    // green did take writes before the rollback, and reverse replication carried them to blue
    expect(r.report.rollback.greenEraWrites!).toBeGreaterThan(0);
  });

  test('every acknowledged write, including those taken by green, is on blue', () => {
    expect(r.report.ledger.acknowledged).toBeGreaterThan(10);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.code, brief(r)).toBe(0);
  });
});
