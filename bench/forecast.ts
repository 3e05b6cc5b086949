/**
 * Forecast benchmark: do small rehearsals predict a large one? Runs rehearsals at the given
 * sizes (each `npm start -- --orders N --report-json …` in its own folder); the last is the large
 * run, the others calibrate the forecast (one: every phase scaled by size; two or more: per phase a
 * fixed cost plus a cost per row, lib/estimate/calibrated-forecast.ts). Prints, per figure, the
 * forecast range, the measured value and the error of the range's middle (goal ±30 %), with the
 * load average: the machine is shared.
 *
 *   npx tsx bench/forecast.ts                       (20000 and 100000 → 1000000 orders)
 *   npx tsx bench/forecast.ts 5000 20000 50000
 *   npx tsx bench/forecast.ts --reports a.json b.json large.json    (reports already written; the last is the large run)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forecastFrom } from '../lib/estimate/calibrated-forecast.ts';
import type { Range } from '../lib/estimate/forecast.ts';
import type { RehearsalFigures } from '../lib/estimate/rehearsal-figures.ts';
import type { RehearsalReport } from '../lib/rehearsal/report.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function rehearse(orders: number): RehearsalReport {
  const dir = mkdtempSync(path.join(os.tmpdir(), `cutover-forecast-${orders}-`));
  const report = path.join(dir, 'report.json');
  console.log(`rehearsal at ${orders} orders in ${dir} (load average ${os.loadavg()[0]!.toFixed(1)})`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cutover.mjs'), 'rehearse', '--orders', String(orders), '--report-json', report], {
    cwd: ROOT,
    env: { ...process.env, CUTOVER_REHEARSAL_DIR: dir, CI: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) console.log(`  (the rehearsal exited ${r.status}: its figures are used as far as they were measured)`);
  return JSON.parse(readFileSync(report, 'utf8')) as RehearsalReport;
}

const args = process.argv.slice(2);
const reports =
  args[0] === '--reports'
    ? args.slice(1).map((f) => JSON.parse(readFileSync(f, 'utf8')) as RehearsalReport)
    : (args.length ? args.map(Number) : [20_000, 100_000, 1_000_000]).map(rehearse);
if (reports.length < 2) {
  console.error('give at least two sizes (or reports): calibration rehearsal(s), then the large run');
  process.exit(2);
}
const figures = reports.map((r) => r.estimate?.figures);
if (figures.some((f) => !f)) {
  console.error('a report has no estimate section: the rehearsal stopped before anything was measured');
  process.exit(1);
}
const calibration = figures.slice(0, -1) as RehearsalFigures[];
const l = figures[figures.length - 1]!;
const fc = forecastFrom(calibration, {
  tables: l.tables.map((t) => ({ name: t.source, rows: t.rows, bytes: t.bytes })),
  writeChangesPerSec: l.cdc.writeChangesPerSec,
  writeRateFrom: 'rehearsal',
  maxHoldMs: Number.MAX_SAFE_INTEGER,
});
const rows: [string, Range | null, number | null, string][] = [
  ['full load (s)', fc.fullLoadSeconds, l.fullLoad.seconds, 's'],
  ['CDC catch-up (s)', fc.cdcCatchUpSeconds, l.cdc.catchUpSeconds, 's'],
  ['validate (s)', fc.validateSeconds, l.validate.seconds || null, 's'],
  ['write hold (ms)', fc.writeHoldMs, l.hold?.totalMs ?? null, 'ms'],
];
console.log(`\nforecast of ${l.orders} orders from ${calibration.map((c) => c.orders).join(' and ')} orders (load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`);
if (fc.calibration) {
  for (const [name, fit] of Object.entries(fc.calibration.fits)) {
    if (fit) console.log(`  fit ${name}: fixed ${fit.fixed.toFixed(1)} + ${(fit.perRow * 1e6).toFixed(1)} per million rows`);
  }
}
console.log('figure              forecast range          measured    error of the middle');
for (const [name, range, measured] of rows) {
  const mid = range ? (range.low + range.high) / 2 : null;
  const err = mid !== null && measured ? `${(((mid - measured) / measured) * 100).toFixed(0)} %${range && measured >= range.low && measured <= range.high ? ' (inside the range)' : ''}` : 'n/a';
  console.log(`${name.padEnd(20)}${range ? `${range.low.toFixed(1)} – ${range.high.toFixed(1)}`.padEnd(24) : 'none'.padEnd(24)}${measured === null ? 'n/a' : String(Math.round(measured * 10) / 10)}`.padEnd(56) + err);
}
