import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault green-dies-after-switch', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    // The kill lands 300 ms into the bake and takes effect asynchronously (a signal through the demo
    // business process). With the suite's 1 s bake a starved run ended the bake before any green
    // failure was counted; only a "p99" of ~20 requests (their slowest) used to catch it. 4 s
    // leaves the gates time to see green's refused connections.
    r = await runSmallRehearsal('green-dies-after-switch', 'folder', { bakeSeconds: 4 });
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('the green app was killed -9 during the bake; the bake gates saw it and the rehearsal rolled back to blue', () => {
    expect(r.report.faults?.map((f) => f.name), brief(r)).toEqual(['green-dies-after-switch']);
    expect(r.out.text(), brief(r)).toMatch(/kill -9 \d+ \(the green app\)/);
    expect(phase(r.report, 'switch').outcome, brief(r)).toBe('ok');
    expect(phase(r.report, 'bake').outcome, brief(r)).toBe('rolled-back');
    expect(phase(r.report, 'rollback').outcome, brief(r)).toBe('ok');
    expect(r.report.ledger.checkedOn).toBe('blue');
    // the injection is on the charts' axis, inside the bake
    const bake = phase(r.report, 'bake');
    const at = Date.parse(r.report.startedAt) + r.report.faults![0]!.at;
    expect(at).toBeGreaterThanOrEqual(Date.parse(bake.start!));
  });

  test('no acknowledged write lost; no client failure beyond writes in flight when green died (stated apart)', () => {
    expect(r.report.ledger.acknowledged).toBeGreaterThan(10);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    // The writes cut off are those in flight at the moment green died: how many grows with green's
    // latency, i.e. with the machine's load (0-3 quiet, 24 once at load ~8), so their number is
    // not what is checked. What is: every one was in flight then, sent before the client saw the
    // first of them fail — a write sent to green once its death showed, or a refused connection
    // failed instead of held (the router holds those: nothing reached the app), would break it.
    const apart = r.report.requests.attributedToFault!;
    const cut = r.report.requests.failures ?? []; // the last 100; with failed = 0 all are the fault's
    const why = `${brief(r)}; apart: ${JSON.stringify(apart)}; cut off: ${JSON.stringify(cut.slice(0, 5))}`;
    expect(cut.length, why).toBe(Math.min(apart.failed, 100));
    const firstSeen = Math.min(...cut.map((f) => f.at));
    for (const f of cut) {
      expect(f.method, why).not.toBe('GET');
      expect(f.message ?? '', why).not.toMatch(/ECONNREFUSED/);
      expect(f.startedAt, why).toBeLessThanOrEqual(firstSeen);
    }
    expect(r.code, brief(r)).toBe(0);
  });
});
