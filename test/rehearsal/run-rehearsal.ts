import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingOutput } from '../../lib/output/output.ts';
import { rehearse } from '../../lib/rehearsal/rehearse.ts';
import type { RehearsalReport } from '../../lib/rehearsal/report.ts';

/**
 * Runs a small, fast rehearsal in its own folder: few orders, 100 req/s, 1 s bakes. The full
 * size runs with `npm start` and in bench/.
 */
export async function runSmallRehearsal(fault: string | null): Promise<{ code: number; report: RehearsalReport; out: RecordingOutput; dir: string; cleanup(): void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-'));
  const out = new RecordingOutput();
  const reportJson = path.join(dir, 'report.json');
  const code = await rehearse({ orders: 400, rate: 50, seed: 7, fault, reportJson, dir, shiftBakeSeconds: 1, bakeSeconds: 1 }, out);
  if (code !== 0) console.error(`rehearsal failed: ${JSON.stringify(JSON.parse(readFileSync(reportJson, 'utf8')).requests)}`);
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
