/**
 * What running the demo business in its own process buys: the same rehearsal, with a CPU burner
 * in the kit's process (a synchronous busy loop of `--burn` ms every `--every` ms: the stand-in
 * for the kit's validation hashing, COPY and apply on a busy event loop), once with the blue app,
 * router and load generator in the kit's process (as rehearsals ran before) and once in their own
 * process (as they run now), alternating, `--runs` times each. Prints, per mode and run: failed
 * client requests of the total, the failure reasons, the write hold p99 and the wall time, with
 * the load average; then the ratio of failed requests (in the kit's process / own process).
 *
 *   npx tsx bench/demo-isolation.ts [--runs 2] [--orders 5000] [--rate 100] [--burn 150] [--every 250]
 *
 * Each run uses the test suite's short settings (one read step at 100 %, 1 s bakes, gates proven
 * on 5 requests, no shadow comparison): the point is the client failures, not the runbook.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RehearsalReport } from '../lib/rehearsal/report.ts';
import { benchArgs } from './bench-args.ts';
import { rehearseAsChild } from './rehearsal-child.ts';

const args = process.argv.slice(2);

if (args[0] === '--child') {
  // child mode: one rehearsal with the options given as JSON, burning the CPU of this process
  const { options, burnMs, everyMs } = JSON.parse(args[1]!) as { options: Record<string, unknown>; burnMs: number; everyMs: number };
  const burner = setInterval(() => {
    const until = Date.now() + burnMs;
    while (Date.now() < until) Math.sqrt(Math.random());
  }, everyMs);
  burner.unref();
  await rehearseAsChild(options, 10_000);
  clearInterval(burner);
} else {
  main();
}

function main(): void {
  const { value, count: num } = benchArgs(args);
  const runs = num('--runs', 2);
  const orders = num('--orders', 5000);
  const rate = num('--rate', 100);
  const burnMs = num('--burn', 150);
  const everyMs = num('--every', 250);
  console.log(`demo isolation: ${runs} run(s) per mode, ${orders} orders, ${rate} req/s, the kit's process busy ${burnMs} ms of every ${everyMs} ms; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const failed: Record<'in-process' | 'own-process', number[]> = { 'in-process': [], 'own-process': [] };
  const totals: Record<'in-process' | 'own-process', number[]> = { 'in-process': [], 'own-process': [] };
  for (let i = 1; i <= runs; i++) {
    for (const mode of ['in-process', 'own-process'] as const) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-iso-'));
      const reportJson = path.join(dir, 'report.json');
      const options = {
        orders,
        rate,
        seed: 7 + i,
        reportJson,
        dir,
        shiftBakeSeconds: 1,
        bakeSeconds: 1,
        shiftSteps: [100],
        minRequests: 5,
        shadowSeconds: 0,
        demoInProcess: mode === 'in-process',
      };
      const loadBefore = os.loadavg()[0]!;
      const started = Date.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify({ options, burnMs, everyMs })], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const seconds = (Date.now() - started) / 1000;
      let report: RehearsalReport | null = null;
      try {
        report = JSON.parse(readFileSync(reportJson, 'utf8')) as RehearsalReport;
      } catch {
        console.log(`  ${mode.padEnd(11)} run ${i}: no report (exit ${r.status}); last lines:\n${(r.stdout + r.stderr).split('\n').slice(-15).join('\n')}`);
      }
      rmSync(dir, { recursive: true, force: true });
      if (!report) continue;
      failed[mode].push(report.requests.failed);
      totals[mode].push(report.requests.total);
      console.log(
        `  ${mode.padEnd(11)} run ${i}: exit ${r.status}, ${report.requests.failed} of ${report.requests.total} requests failed ${JSON.stringify(report.requests.failuresByReason)}, ` +
          `hold p99 ${report.switch.writePauseMs.p99 ?? '–'} ms, ${seconds.toFixed(0)} s; load ${loadBefore.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const inFailed = sum(failed['in-process']);
  const ownFailed = sum(failed['own-process']);
  console.log(`failed requests: in the kit's process ${inFailed} of ${sum(totals['in-process'])}, own process ${ownFailed} of ${sum(totals['own-process'])}; ratio ${ownFailed ? (inFailed / ownFailed).toFixed(1) : inFailed ? '∞' : '–'}`);
}
