import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, SHADOW, phase, runSmallRehearsal } from './run-rehearsal.ts';

/** green answers GET /orders/:id one cent off (status 200): only the shadow comparison can see it. */
describe('rehearsal --fault green-differs', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('green-differs', 'folder', SHADOW);
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('the shadow gate blocks the shift: reads never leave blue, nothing moves, exit 1 with the fault marked caught', () => {
    const shadow = phase(r.report, 'shadow');
    expect(shadow.outcome, brief(r)).toBe('failed');
    expect(shadow.summary).toContain('/orders/:id');
    for (const name of ['shift', 'switch', 'bake', 'finalize']) expect(phase(r.report, name).outcome).toBe('not-run');
    expect(r.report.phases.some((p) => p.name === 'rollback')).toBe(false); // nothing moved: nothing to roll back
    expect(r.report.timeline.every((s) => (s.readWeightGreen ?? 0) === 0 && s.writeTarget !== 'green')).toBe(true);
    expect(r.code, brief(r)).toBe(1);
    expect(r.report.verdict).toMatchObject({ ok: false, expectedOutcome: { fault: 'green-differs', met: true } });
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
  });

  test('the report shows the difference: the route, its rate, and an example with both answers and the differing path', () => {
    const route = r.report.shadow!.routes.find((x) => x.route === '/orders/:id')!;
    expect(route.judged).toBe(true);
    expect(route.mismatchPercent).toBeGreaterThan(r.report.shadow!.gate.maxMismatchPercent);
    const e = route.examples.find((x) => x.class === 'mismatch')!;
    expect(e.paths).toEqual(['$.totalAmount']);
    const cents = (body: string) => Math.round(Number((JSON.parse(body) as { totalAmount: string }).totalAmount) * 100);
    expect(cents(e.green.body) - cents(e.blue.body)).toBe(1);
    const html = readFileSync(path.join(r.dir, 'report.html'), 'utf8');
    expect(html).toContain('id="shadow"');
    expect(html).toContain('$.totalAmount');
  });
});
