import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault kill-replicator', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('kill-replicator');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('the worker was killed -9 and replication resumed to an equal target', () => {
    expect(r.out.text()).toMatch(/kill -9 \d+/);
    expect(phase(r.report, 'replicate').outcome, r.out.text()).toBe('ok');
    expect(r.report.validation.equal).toBe(true);
    expect(r.report.ledger.missing).toBe(0);
    expect(r.report.requests.failed).toBe(0);
    expect(r.code, r.report.verdict.reasons.join('; ')).toBe(0);
  });
});
