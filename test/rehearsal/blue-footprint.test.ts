import { describe, expect, test } from 'vitest';
import { blueFootprint, footprintLines } from '../../lib/rehearsal/blue-footprint.ts';
import type { PhaseRecord, TimelineSample } from '../../lib/rehearsal/report.ts';

const t0 = Date.parse('2026-12-06T10:00:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();
const sample = (s: number, rps: number, p99: number | null, failures = 0): TimelineSample => ({
  t: s * 1000,
  readWeightGreen: 0,
  writeTarget: 'blue',
  writesHeld: false,
  rps: { blue: rps, green: 0 },
  errorsPerSec: { blue: 0, green: 0 },
  p99Ms: { blue: p99, green: null },
  clientFailuresPerSec: failures,
  lagMs: null,
});
const phase = (name: string, from: number, to: number, figures?: Record<string, unknown>): PhaseRecord => ({ name, start: at(from), end: at(to), outcome: 'ok', summary: '', ...(figures ? { figures } : {}) });

describe('blueFootprint', () => {
  test("each reading phase gets blue's throughput, median and highest p99 and failures of its own seconds, with its pacing figures", () => {
    const pacing = { enabled: true, chunks: 40, pauses: 2, pausedMs: 12_500, restedMs: 0, forcedResumes: 1, reasons: { 'blue-p99': 2 }, maxBlueP99Ms: 2500 };
    const rows = blueFootprint(
      [phase('assess', 0, 2), phase('snapshot', 2, 5, { pacing }), phase('replicate', 5, 7), phase('shift', 7, 9)],
      [sample(1, 500, 10), sample(2, 100, 250), sample(3, 50, 2500, 2), sample(4, 90, 500), sample(5, 120, 100), sample(6, 200, 50, 1), sample(8, 1, 30000)],
      t0,
    );
    expect(rows).toEqual([
      { phase: 'snapshot', reads: 'snapshot', seconds: 3, blueRps: 80, blueP99Ms: { median: 500, max: 2500 }, routerFailures: 2, pacing },
      { phase: 'replicate', reads: 'full load', seconds: 2, blueRps: 160, blueP99Ms: { median: 50, max: 100 }, routerFailures: 1, pacing: null },
    ]);
    const lines = footprintLines(rows);
    expect(lines[1]).toMatch(/snapshot .* 3 s {2}blue 80 req\/s, p99 median 500 ms, max 2500 ms, 2 failed at the router; paced: 12\.5 s paused in 2 pause\(s\), 1 ended by pacing\.maxPauseMs/);
    expect(lines[2]).toMatch(/full load .*not paced/);
  });

  test('a phase not reached is left out; nothing reached, no lines', () => {
    expect(blueFootprint([{ name: 'validate', start: null, end: null, outcome: 'not-run', summary: '' }], [], t0)).toEqual([]);
    expect(footprintLines([])).toEqual([]);
  });
});
