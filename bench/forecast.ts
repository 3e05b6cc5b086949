/**
 * Forecast benchmark: does a small rehearsal predict a large one? Runs a rehearsal at SMALL
 * orders and one at LARGE orders (each `npm start -- --orders N --report-json …` in its own
 * folder), forecasts the large run from the small run's recorded figures with the large run's
 * table sizes and write rate, and prints, per figure, the forecast range, the measured value and
 * the error of the range's middle (goal ±30 %). With the load average: the machine is shared.
 *
 *   npx tsx bench/forecast.ts                       (100000 → 1000000 orders)
 *   npx tsx bench/forecast.ts 5000 50000
 *   npx tsx bench/forecast.ts --reports small.json large.json    (two reports already written)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forecast, type Range } from '../lib/estimate/forecast.ts';
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
const [small, large] =
  args[0] === '--reports'
    ? [args[1]!, args[2]!].map((f) => JSON.parse(readFileSync(f, 'utf8')) as RehearsalReport)
    : [rehearse(Number(args[0] ?? 100_000)), rehearse(Number(args[1] ?? 1_000_000))];
const s = small!.estimate?.figures;
const l = large!.estimate?.figures;
if (!s || !l) {
  console.error('a report has no estimate section: the rehearsal stopped before anything was measured');
  process.exit(1);
}
const fc = forecast(s, {
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
console.log(`\nforecast of ${l.orders} orders from ${s.orders} orders (load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`);
console.log('figure              forecast range          measured    error of the middle');
for (const [name, range, measured] of rows) {
  const mid = range ? (range.low + range.high) / 2 : null;
  const err = mid !== null && measured ? `${(((mid - measured) / measured) * 100).toFixed(0)} %${range && measured >= range.low && measured <= range.high ? ' (inside the range)' : ''}` : 'n/a';
  console.log(`${name.padEnd(20)}${range ? `${range.low.toFixed(1)} – ${range.high.toFixed(1)}`.padEnd(24) : 'none'.padEnd(24)}${measured === null ? 'n/a' : String(Math.round(measured * 10) / 10)}`.padEnd(56) + err);
}
