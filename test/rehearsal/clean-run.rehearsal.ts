import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, SHADOW, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal without faults', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal(null, 'folder', { shiftSteps: [10, 50, 100], ...SHADOW });
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('every phase runs and passes under live load', () => {
    const names = r.report.phases.map((p) => p.name);
    expect(names.slice(0, 9)).toEqual(['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch', 'bake', 'finalize']);
    for (const p of r.report.phases.slice(0, 9)) {
      expect(p.outcome, `${p.name}: ${p.summary} — ${brief(r)}`).toBe('ok');
      expect(Date.parse(p.end!)).toBeGreaterThanOrEqual(Date.parse(p.start!));
    }
    expect(r.code, brief(r)).toBe(0);
  });

  test('the shadow phase compared green\'s answers with blue\'s per route before the shift, and found them alike', () => {
    const s = r.report.shadow!;
    expect(s.compared).toBeGreaterThanOrEqual(s.gate.minSamples);
    expect(s.gate.ok).toBe(true);
    expect(s.routes.map((x) => x.route)).toContain('/orders/:id');
    expect(s.routes.reduce((n, x) => n + x.mismatches, 0)).toBe(0);
    expect(Date.parse(r.report.phases.find((p) => p.name === 'shadow')!.end!)).toBeLessThanOrEqual(Date.parse(r.report.phases.find((p) => p.name === 'shift')!.start!));
  });

  test('no client request failed and every acknowledged write is on green with its content', () => {
    expect(r.report.requests.total).toBeGreaterThan(100);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger.acknowledged).toBeGreaterThan(10);
    expect(r.report.ledger.checkedOn).toBe('green');
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
  });

  test("the report says how long the demo business's process waited for a CPU while the load ran (brief() prints it beside failures)", () => {
    const s = r.report.demoStarvation!;
    expect(s, 'no demoStarvation in the report').toBeDefined();
    expect(s.seconds).toBeGreaterThan(5);
    // Linux: the main thread ran, and was runnable (ran or waited) for part of the load
    if (s.cpuSeconds !== null) expect(s.cpuSeconds).toBeGreaterThan(0);
    expect(s.eventLoopDelayMs.max).toBeGreaterThanOrEqual(s.eventLoopDelayMs.p99);
  });

  test('validation was equal and the write pause was measured', () => {
    expect(r.report.validation.equal).toBe(true);
    expect(r.report.validation.tables.length).toBe(5);
    expect(r.report.switch.writePauseMs.p50).not.toBeNull();
    expect(r.report.switch.writePauseMs.p99!).toBeGreaterThanOrEqual(r.report.switch.writePauseMs.p50!);
  });

  test('the report has an estimate: the figures it measured, recorded for `cutover estimate`, and a measured forecast of itself', () => {
    const e = r.report.estimate!;
    expect(e.figuresFile).toBe(path.join(r.dir, 'state', 'rehearsal-figures.json'));
    expect(JSON.parse(readFileSync(e.figuresFile, 'utf8'))).toEqual(e.figures);
    expect(e.figures.tables.map((t) => t.source).sort()).toEqual(['public.t_customer', 'public.t_inventory', 'public.t_order', 'public.t_order_item', 'public.t_product']);
    expect(e.figures.tables.every((t) => t.rows > 0 && t.bytes > 0 && t.loadSeconds !== null)).toBe(true);
    expect(e.figures.fullLoad.seconds).toBeGreaterThan(0);
    expect(e.figures.cdc.applyChangesPerSec).toBeGreaterThan(e.figures.cdc.writeChangesPerSec);
    expect(e.figures.validate.rowsCompared).toBeGreaterThan(0);
    expect(e.figures.hold!.frozenValidateMs).toBeGreaterThan(0);
    expect(e.figures.hold!.totalMs).toBeGreaterThanOrEqual(e.figures.hold!.frozenValidateMs);
    expect(e.forecast.fullLoadSeconds.basis).toBe('measured');
  });

  test('the HTML report is written, self-contained, with the charts', () => {
    const html = readFileSync(path.join(r.dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const id of ['weights', 'rps', 'errors', 'latency', 'lag', 'phases', 'validation-tables']) expect(html).toContain(`id="${id}"`);
    expect(existsSync(path.join(r.dir, 'state', 'journal.jsonl'))).toBe(true);
  });
});
