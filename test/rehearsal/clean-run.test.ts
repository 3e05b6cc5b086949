import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal without faults', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal(null);
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('every phase runs and passes under live load', () => {
    const names = r.report.phases.map((p) => p.name);
    expect(names.slice(0, 8)).toEqual(['assess', 'snapshot', 'replicate', 'validate', 'shift', 'switch', 'bake', 'finalize']);
    for (const p of r.report.phases.slice(0, 8)) {
      expect(p.outcome, `${p.name}: ${p.summary}\n${r.out.text()}`).toBe('ok');
      expect(Date.parse(p.end!)).toBeGreaterThanOrEqual(Date.parse(p.start!));
    }
    expect(r.code, r.report.verdict.reasons.join('; ')).toBe(0);
  });

  test('no client request failed and every acknowledged write is on green with its content', () => {
    expect(r.report.requests.total).toBeGreaterThan(100);
    expect(r.report.requests.failed).toBe(0);
    expect(r.report.ledger.acknowledged).toBeGreaterThan(10);
    expect(r.report.ledger.checkedOn).toBe('green');
    expect(r.report.ledger.missing).toBe(0);
    expect(r.report.ledger.mismatched).toBe(0);
  });

  test('validation was equal and the write pause was measured', () => {
    expect(r.report.validation.equal).toBe(true);
    expect(r.report.validation.tables.length).toBe(5);
    expect(r.report.switch.writePauseMs.p50).not.toBeNull();
    expect(r.report.switch.writePauseMs.p99!).toBeGreaterThanOrEqual(r.report.switch.writePauseMs.p50!);
  });

  test('the HTML report is written, self-contained, with the charts', () => {
    const html = readFileSync(path.join(r.dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const id of ['weights', 'rps', 'errors', 'latency', 'lag', 'phases', 'validation-tables']) expect(html).toContain(`id="${id}"`);
    expect(existsSync(path.join(r.dir, 'state', 'journal.jsonl'))).toBe(true);
  });
});
