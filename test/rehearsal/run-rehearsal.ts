import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingOutput } from '../../lib/output/output.ts';
import { rehearse } from '../../lib/rehearsal/rehearse.ts';
import type { RehearsalReport } from '../../lib/rehearsal/report.ts';
import type { RehearseOptions } from '../../lib/rehearsal/rehearse-options.ts';

/**
 * Runs a small, fast rehearsal in its own folder: few orders, 50 req/s, 1 s bakes, and read
 * steps from 10 % with gates proven on 5 green requests (at 1 % of 50 req/s, the default 10
 * take half a minute to arrive). The full size, with the 1 % step, runs with `npm start`.
 */
export async function runSmallRehearsal(
  fault: string | null,
  backupStore: 'folder' | 's3' = 'folder',
  overrides: Partial<RehearseOptions> = {},
): Promise<{ code: number; report: RehearsalReport; out: RecordingOutput; dir: string; cleanup(): void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-'));
  const out = new RecordingOutput();
  const reportJson = path.join(dir, 'report.json');
  const code = await rehearse({ orders: 400, rate: 50, seed: 7, fault, reportJson, dir, shiftBakeSeconds: 1, bakeSeconds: 1, shiftSteps: [10, 50, 100], minRequests: 5, shadowSeconds: 5, shadowPercent: 60, backupStore, ...overrides }, out);
  if (code !== 0) {
    const { failures, ...counts } = JSON.parse(readFileSync(reportJson, 'utf8')).requests as RehearsalReport['requests'];
    console.error(`rehearsal failed: ${JSON.stringify(counts)}; first failures: ${JSON.stringify((failures ?? []).slice(0, 5))}`);
  }
  let report: RehearsalReport;
  try {
    report = JSON.parse(readFileSync(reportJson, 'utf8')) as RehearsalReport;
  } catch {
    throw new Error(`rehearsal wrote no report (exit ${code}):\n${out.text()}`);
  }
  return { code, report, out, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function phase(report: RehearsalReport, name: string) {
  const p = report.phases.find((x) => x.name === name);
  if (!p) throw new Error(`no phase ${name} in the report: ${report.phases.map((x) => x.name).join(', ')}`);
  return p;
}
