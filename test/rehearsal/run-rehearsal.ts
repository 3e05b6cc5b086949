import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingOutput } from '../../lib/output/output.ts';
import { rehearse } from '../../lib/rehearsal/rehearse.ts';
import type { RehearsalReport } from '../../lib/rehearsal/report.ts';
import type { RehearseOptions } from '../../lib/rehearsal/rehearse-options.ts';
import { starvationLine } from '../../lib/rehearsal/starvation-meter.ts';
import { testPostgresTemplate } from '../_helpers/pg.ts';

/**
 * Runs a small, fast rehearsal in its own folder: few orders, 50 req/s, 1 s bakes, gates proven
 * on 5 green requests, and — what a fault scenario needs, not more — one read step (100 %) and no
 * shadow comparison (skipped, with the reason). The runs about the read steps or the shadow
 * comparison (clean-run, green-differs) pass SHADOW / their own `shiftSteps`: 5 s of 60 % of the
 * reads (about 100 samples; the gate needs 20, and on a starved machine green's first answers
 * take seconds). The full size, with the 1 % step, runs with `npm start`.
 */
/** The shadow comparison of the runs that are about it. */
export const SHADOW = { shadowSeconds: 5, shadowPercent: 60 } as const;

export async function runSmallRehearsal(
  fault: string | null,
  backupStore: 'folder' | 's3' = 'folder',
  overrides: Partial<RehearseOptions> = {},
): Promise<{ code: number; report: RehearsalReport; out: RecordingOutput; dir: string; cleanup(): void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-'));
  const out = new RecordingOutput();
  const reportJson = path.join(dir, 'report.json');
  // both servers copy the suite's initialised data folder instead of running initdb
  const serverTemplate = await testPostgresTemplate();
  // A 1 s bake at 50 req/s sees 15–35 green requests: the gate judges their p90 (a p99 of so few
  // is the slowest one alone) against blue's p90, at the rehearsal's 5x (lib/traffic/gates.ts).
  const code = await rehearse({ orders: 400, rate: 50, seed: 7, fault, reportJson, dir, shiftBakeSeconds: 1, bakeSeconds: 1, shiftSteps: [100], minRequests: 5, shadowSeconds: 0, backupStore, serverTemplate, ...overrides }, out);
  if (code !== 0) {
    const { failures, firstFailuresByReason, ...counts } = JSON.parse(readFileSync(reportJson, 'utf8')).requests as RehearsalReport['requests'];
    // where each reason's burst began, one line each (the report keeps the first 20 of each)
    const began = Object.entries(firstFailuresByReason ?? {}).map(([reason, list]) => `${reason} first: ${JSON.stringify(list[0])}`);
    // the log's tail first, the figures last: CI shows only the end of its output
    console.error(`rehearsal ${fault ?? 'without faults'} exited ${code}; its log's last 40 lines:\n${out.text().split('\n').slice(-40).join('\n')}`);
    console.error(`rehearsal failed: ${JSON.stringify(counts)}; last failures: ${JSON.stringify((failures ?? []).slice(-5))}\n${began.join('\n')}`);
  }
  let report: RehearsalReport;
  try {
    report = JSON.parse(readFileSync(reportJson, 'utf8')) as RehearsalReport;
  } catch {
    throw new Error(`rehearsal wrote no report (exit ${code}):\n${out.text()}`);
  }
  return { code, report, out, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One line for assertion messages (CI shows only the tail of its output, and vitest the message's
 * first line): exit code, the verdict's reasons, failures by reason, the first failure, the phases
 * that did not pass.
 */
export function brief(r: { code: number; report: RehearsalReport }): string {
  const { report } = r;
  const f = report.requests.failures?.[0];
  const first = f ? `${f.method} ${f.path} ${f.reason}${f.error ? ` ${f.error}` : ''}${f.message ? ` (${f.message.slice(0, 80)})` : ''}` : 'none';
  const phases = report.phases.filter((p) => p.outcome !== 'ok' && p.outcome !== 'not-run').map((p) => `${p.name} ${p.outcome}: ${p.summary.slice(0, 160)}`);
  return [
    `exit ${r.code}; verdict: ${report.verdict.reasons.join('; ') || 'ok'}`,
    `failed ${report.requests.failed} ${JSON.stringify(report.requests.failuresByReason)}, first: ${first}`,
    ...(phases.length ? [`phases: ${phases.join(' | ')}`] : []),
    // was the machine starving the business? (its apps time out on their own then)
    ...(report.demoStarvation ? [`demo business ${starvationLine(report.demoStarvation)}`] : []),
  ].join(' — ');
}

export function phase(report: RehearsalReport, name: string) {
  const p = report.phases.find((x) => x.name === name);
  if (!p) throw new Error(`no phase ${name} in the report: ${report.phases.map((x) => x.name).join(', ')}`);
  return p;
}
