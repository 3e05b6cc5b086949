import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { judge, type RehearsalReport } from '../../lib/rehearsal/report.ts';
import { renderHtmlReport } from '../../lib/rehearsal/report-html.ts';

function sampleReport(overrides: Partial<RehearsalReport> = {}): RehearsalReport {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const base: Omit<RehearsalReport, 'verdict'> = {
    version: 1,
    startedAt: at(0),
    finishedAt: at(60),
    wallSeconds: 60,
    peakRssMiB: 200,
    options: { seed: 1, orders: 100, rate: 200, fault: null },
    requests: { total: 1000, failed: 0, reads: 700, writes: 300, failuresByReason: {} },
    ledger: { acknowledged: 300, missing: 0, mismatched: 0, checkedOn: 'green', missingIds: [], mismatchedIds: [] },
    validation: { equal: true, tables: [{ source: 'public.t_order', target: 'public.orders', sourceRows: 10, targetRows: 10, missing: 0, extra: 0, different: 0, deadLetter: 0 }] },
    switch: { writePauseMs: { p50: 120, p99: 300, max: 310 }, heldRequests: 12 },
    rollback: { ran: false, seconds: null, greenEraWrites: null },
    phases: [
      { name: 'assess', start: at(1), end: at(3), outcome: 'ok', summary: 'no blockers <b>' },
      { name: 'shift', start: at(10), end: at(40), outcome: 'ok', summary: 'reads at 100%' },
      { name: 'finalize', start: null, end: null, outcome: 'not-run', summary: 'not run' },
    ],
    assess: { findings: [{ id: 'duplicate-customers', count: 12, severity: 'warning', handling: 'reported' }] },
    timeline: Array.from({ length: 60 }, (_, i) => ({
      t: i * 1000,
      readWeightGreen: i < 10 ? 0 : i < 40 ? 50 : 100,
      writeTarget: i < 45 ? ('blue' as const) : ('green' as const),
      writesHeld: i === 45,
      rps: { blue: 100, green: i < 10 ? 0 : 100 },
      errorsPerSec: { blue: 0, green: 0 },
      p99Ms: { blue: 12, green: i < 10 ? null : 15 },
      clientFailuresPerSec: 0,
      lagMs: 20,
    })),
  };
  const merged = { ...base, ...overrides };
  return { ...merged, verdict: judge(merged, false) };
}

describe('rehearsal report', () => {
  test('the verdict fails on failed requests, lost or changed writes and unequal validation', () => {
    expect(sampleReport().verdict).toEqual({ ok: true, reasons: [] });
    const bad = sampleReport({
      requests: { total: 10, failed: 2, reads: 5, writes: 5, failuresByReason: { 'http-503': 2 } },
      ledger: { acknowledged: 5, missing: 1, mismatched: 1, checkedOn: 'blue', missingIds: ['9'], mismatchedIds: ['8'] },
      validation: { equal: false, tables: [] },
    });
    expect(bad.verdict.ok).toBe(false);
    expect(bad.verdict.reasons.join('\n')).toMatch(/2 client request\(s\) failed[\s\S]*1 acknowledged write\(s\) missing on blue[\s\S]*differ[\s\S]*validation found differences/);
  });

  test('fails if validation never ran: a check that compared nothing is not a pass', () => {
    const v = sampleReport({ validation: { equal: null, tables: [] } }).verdict;
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(['validation never ran: nothing shows green equal to blue']);
  });

  test('fails if no request was sent, even with writes acknowledged and nothing failed', () => {
    const v = sampleReport({ requests: { total: 0, failed: 0, reads: 0, writes: 0, failuresByReason: {} } }).verdict;
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(['no client request was sent: nothing shows the cutover kept clients served']);
  });

  test('fails if no write was acknowledged, even with requests answered and nothing lost', () => {
    // no acknowledged write: the ledger has nothing to check, so "0 missing" proves nothing
    const v = sampleReport({ ledger: { acknowledged: 0, missing: 0, mismatched: 0, checkedOn: 'green', missingIds: [], mismatchedIds: [] } }).verdict;
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(['no write was acknowledged: the load generator did not work']);
  });

  test('fails if a phase failed, and if a rollback scenario ran no rollback', () => {
    const failedPhase = sampleReport({ phases: [{ name: 'switch', start: null, end: null, outcome: 'failed', summary: 'fence refused' }] }).verdict;
    expect(failedPhase.reasons).toEqual(['phase switch failed: fence refused']);
    const { verdict: _v, ...report } = sampleReport();
    expect(judge(report, true).reasons).toEqual(['the fault scenario expected a rollback, none ran']);
    // differences are tolerated only where a rollback is expected (and ran)
    const differing = { ...report, validation: { equal: false, tables: [] }, rollback: { ran: true, seconds: 3, greenEraWrites: 0 } };
    expect(judge(differing, true).ok).toBe(true);
    expect(judge(differing, false).reasons).toEqual(['validation found differences']);
  });

  test('the HTML is self-contained and escapes text', () => {
    const html = renderHtmlReport(sampleReport());
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html).toContain('no blockers &lt;b&gt;');
    expect((html.match(/<svg/g) ?? []).length).toBe(5);
  });

  test("marks each fault's injection on every chart, and gives the fault's own failures apart", () => {
    const html = renderHtmlReport(
      sampleReport({
        options: { seed: 1, orders: 100, rate: 200, fault: 'source-restart' },
        faults: [{ name: 'source-restart', at: 20_000, until: 21_500, detail: "blue's PostgreSQL restarted <fast>" }],
        requests: {
          total: 1000,
          failed: 0,
          reads: 700,
          writes: 300,
          failuresByReason: { 'http-503': 7 },
          attributedToFault: { failed: 7, byReason: { 'http-503': 7 }, rule: 'answered 5xx by the blue app while its database was down' },
        },
      }),
    );
    // one mark per chart, at 20 s of 60 s on the x axis (48 + 20/60 * 700 = 281.3)
    expect((html.match(/<g class="fault" data-fault="source-restart">/g) ?? []).length).toBe(5);
    expect(html).toContain('x1="281.3"');
    expect(html).toContain('class="fault-span" x="281.3"');
    expect(html).toMatch(/<table id="faults">.*source-restart.*20\.0 s.*21\.5 s.*restarted &lt;fast&gt;/s);
    expect(html).toMatch(/id="fault-failures">7 more failed request\(s\), not counted above: answered 5xx by the blue app/);
    expect(renderHtmlReport(sampleReport())).not.toContain('class="fault"');
  });

  test('renders in a real headless browser', async (ctx) => {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
    if (!chromium) {
      ctx.skip(true, 'Debian chromium is not installed (apt-get install chromium): browser check skipped');
      return;
    }
    const { chromium: pw } = await import('playwright-core');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-report-'));
    // it runs beside other test files: generous limits for a busy machine (playwright's default is 30 s)
    const browser = await pw.launch({
      timeout: 60_000,
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const file = path.join(dir, 'report.html');
      writeFileSync(file, renderHtmlReport(sampleReport()));
      const page = await browser.newPage();
      page.setDefaultTimeout(45_000);
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      expect(await page.locator('svg').count()).toBe(5);
      expect(await page.locator('#phases tr').count()).toBe(4);
      expect(await page.locator('.verdict.ok').textContent()).toMatch(/PASS/);
      const box = await page.locator('#weights svg').boundingBox();
      expect(box!.width).toBeGreaterThan(300);
      await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
