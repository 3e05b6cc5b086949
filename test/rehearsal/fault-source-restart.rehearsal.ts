import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault source-restart', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('source-restart');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test("blue's PostgreSQL was restarted during CDC; the worker reconnected and validation is equal", () => {
    const f = r.report.faults?.find((x) => x.name === 'source-restart');
    expect(f, brief(r)).toBeDefined();
    expect(f!.until! - f!.at).toBeGreaterThanOrEqual(1500);
    expect(r.out.text(), brief(r)).toMatch(/forward replication streams again/);
    expect(phase(r.report, 'validate').outcome, brief(r)).toBe('ok');
    expect(r.report.validation.equal).toBe(true);
    expect(phase(r.report, 'finalize').outcome, brief(r)).toBe('ok');
  });

  test("the blue app's own failures while its database was down are counted apart; the kit added none; nothing lost", () => {
    const apart = r.report.requests.attributedToFault!;
    expect(apart.rule).toMatch(/blue app, sent while blue's database was down/);
    expect(apart.failed, brief(r)).toBeGreaterThan(0);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
    expect(r.code, brief(r)).toBe(0);
  });
});
