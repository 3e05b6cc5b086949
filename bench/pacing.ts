/**
 * What pacing the reads on blue buys its customers, and what it costs the cutover: the same
 * rehearsal (blue seeded with `--orders`, the demo load running throughout) with `--pacing off`
 * and `--pacing on`, alternating, `--runs` times each. For each reading phase — snapshot, full load
 * (the `replicate` phase: full load, then CDC catching up), validate — it prints blue's p99 while
 * the phase ran (the median and the highest of the router's per-second p99, from the report's
 * `footprint`), the requests blue answered per second, the phase's wall time, the pauses and the
 * adapted chunk sizes, then these as ratios on/off from the same run. Absolute times on a shared machine mean little; the ratios do.
 *
 *   npx tsx bench/pacing.ts [--orders 100000] [--runs 1] [--rate 200]
 *   npx tsx bench/pacing.ts --orders 1000000            (the production-size figures; a quiet machine)
 *
 * Each run uses the test suite's short settings past validation (one read step at 100 %, 1 s
 * bakes, no shadow comparison): the point is the reading phases.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PhaseFootprint } from '../lib/rehearsal/blue-footprint.ts';
import type { RehearsalReport } from '../lib/rehearsal/report.ts';
import { benchArgs } from './bench-args.ts';
import { rehearseAsChild } from './rehearsal-child.ts';

const args = process.argv.slice(2);
type Mode = 'off' | 'on';
const PHASES = [
  ['snapshot', 'snapshot'],
  ['replicate', 'full load (+CDC catch-up)'],
  ['validate', 'validate'],
] as const;

if (args[0] === '--child') {
  // child mode: one rehearsal with the options given as JSON
  await rehearseAsChild(JSON.parse(args[1]!) as Record<string, unknown>, 15_000);
} else {
  main();
}

function main(): void {
  const { count: num } = benchArgs(args);
  const runs = num('--runs', 1);
  const orders = num('--orders', 100_000);
  const rate = num('--rate', 200);
  const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`pacing: ${runs} run(s) per mode, ${orders} orders, ${rate} req/s; load ${load()}`);
  const rows: Record<Mode, PhaseFootprint[][]> = { off: [], on: [] };
  for (let i = 1; i <= runs; i++) {
    for (const mode of ['off', 'on'] as const) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-pacing-'));
      const reportJson = path.join(dir, 'report.json');
      const options = { orders, rate, seed: 42, reportJson, dir, pacing: mode, shiftBakeSeconds: 1, bakeSeconds: 1, shiftSteps: [100], minRequests: 5, shadowSeconds: 0 };
      const loadBefore = load();
      const started = Date.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify(options)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      const seconds = (Date.now() - started) / 1000;
      let report: RehearsalReport | null = null;
      try {
        report = JSON.parse(readFileSync(reportJson, 'utf8')) as RehearsalReport;
      } catch {
        console.log(`  pacing ${mode} run ${i}: no report (exit ${r.status}); last lines:\n${(r.stdout + r.stderr).split('\n').slice(-15).join('\n')}`);
      }
      rmSync(dir, { recursive: true, force: true });
      if (!report) continue;
      rows[mode].push([...(report.footprint ?? [])]);
      console.log(`  pacing ${mode} run ${i}: exit ${r.status}, ${report.requests.failed} of ${report.requests.total} requests failed, ${seconds.toFixed(0)} s in all; load ${loadBefore} → ${load()}`);
      for (const f of report.footprint ?? []) console.log(`    ${describe(f)}`);
    }
  }
  // the ratios: per phase, the mean over runs of each mode
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const figure = (mode: Mode, phase: string, pick: (f: PhaseFootprint) => number | null) =>
    mean(rows[mode].flatMap((run) => run.filter((f) => f.phase === phase).flatMap((f) => (pick(f) === null ? [] : [pick(f)!]))));
  const ratio = (on: number | null, off: number | null) => (on === null || off === null || off === 0 ? '–' : (on / off).toFixed(2));
  const fmt = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));
  // p99s are the router's bucket bounds: on a saturated machine both modes hit the same bound, and
  // the requests blue still answered per second tell them apart
  const header = ['phase', 'blue p99 median off/on ms', 'ratio', 'blue p99 max off/on ms', 'ratio', 'blue req/s off/on', 'ratio', 'seconds off/on', 'ratio'];
  const table = [header];
  for (const [phase, label] of PHASES) {
    const med = (m: Mode) => figure(m, phase, (f) => f.blueP99Ms.median);
    const max = (m: Mode) => figure(m, phase, (f) => f.blueP99Ms.max);
    const sec = (m: Mode) => figure(m, phase, (f) => f.seconds);
    const rps = (m: Mode) => figure(m, phase, (f) => f.blueRps);
    table.push([
      label,
      `${fmt(med('off'))} / ${fmt(med('on'))}`,
      ratio(med('on'), med('off')),
      `${fmt(max('off'))} / ${fmt(max('on'))}`,
      ratio(max('on'), max('off')),
      `${fmt(rps('off'))} / ${fmt(rps('on'))}`,
      ratio(rps('on'), rps('off')),
      `${fmt(sec('off'), 1)} / ${fmt(sec('on'), 1)}`,
      ratio(sec('on'), sec('off')),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  console.log(`\nblue's p99 while the kit reads it, pacing off vs on (ratio = on / off; ${orders} orders; load ${load()})`);
  for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

function describe(f: PhaseFootprint): string {
  const p = f.pacing;
  const paced = !p?.enabled
    ? 'not paced'
    : `${p.pauses} pause(s), ${(p.pausedMs / 1000).toFixed(1)} s paused` +
      (p.chunkSizing ? `, ${p.chunkSizing.chunks} chunks of ${p.chunkSizing.smallestRows}–${p.chunkSizing.largestRows} rows (last ${p.chunkSizing.lastRows}, target ${p.chunkSizing.targetMs} ms)` : '');
  return `${f.reads.padEnd(10)} ${f.seconds ?? '–'} s, blue ${f.blueRps ?? '–'} req/s, p99 median ${f.blueP99Ms.median ?? '–'} ms, max ${f.blueP99Ms.max ?? '–'} ms; ${paced}`;
}
