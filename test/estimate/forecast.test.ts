import { describe, expect, test } from 'vitest';
import type { JournalRecord } from '../../lib/engine/journal-store.ts';
import { figuresFromRun, holdFromJournal } from '../../lib/estimate/figures-from-run.ts';
import { fitLine, forecastFrom } from '../../lib/estimate/calibrated-forecast.ts';
import { backlogDrainSeconds, catchUpOverheadSeconds, forecast, formatForecast } from '../../lib/estimate/forecast.ts';
import type { RehearsalFigures } from '../../lib/estimate/rehearsal-figures.ts';

const figures: RehearsalFigures = {
  version: 1,
  recordedAt: '2026-12-06T10:00:00.000Z',
  orders: 100_000,
  parallelTables: 2,
  tables: [
    { source: 'public.t_order', rows: 100_000, bytes: 20_000_000, loadSeconds: 4 },
    { source: 'public.t_order_item', rows: 250_000, bytes: 30_000_000, loadSeconds: 6 },
  ],
  fullLoad: { seconds: 6 },
  cdc: { applyChangesPerSec: 2000, writeChangesPerSec: 100, catchUpSeconds: 1 },
  validate: { seconds: 5, rowsCompared: 700_000 },
  hold: { partsMs: { 'router.holdWrites': 2, 'validator.validate(frozen)': 800, 'switch.flip': 3 }, frozenValidateMs: 800, totalMs: 1000 },
};
const tenTimes = [
  { name: 'public.t_order', rows: 1_000_000, bytes: 200_000_000 },
  { name: 'public.t_order_item', rows: 2_500_000, bytes: 300_000_000 },
];

describe('forecast', () => {
  test('scales each figure with the sizes, keeps the lanes overlap, and calls it extrapolated', () => {
    const fc = forecast(figures, { tables: tenTimes, writeChangesPerSec: 100, writeRateFrom: '--write-rate', maxHoldMs: 60_000 });
    // 6 s of full load at 1/10 of the size: 60 s, widened for an extrapolation
    expect(fc.fullLoadSeconds.basis).toBe('extrapolated');
    expect(fc.fullLoadSeconds.low).toBeCloseTo(60 * 0.75);
    expect(fc.fullLoadSeconds.high).toBeCloseTo(60 * 1.4);
    expect(fc.validateSeconds.low).toBeCloseTo(50 * 0.75);
    // 100 changes/s during ~60 s of full load, drained at 2000 - 100 changes/s, plus the rehearsal's
    // catch-up less its own drain (1 s - 600 / 1900 s: worker start and the gate, no change drives it)
    expect(fc.cdcCatchUpSeconds!.low).toBeCloseTo((1 - 600 / 1900 + 6000 / 1900) * 0.75);
    // fixed steps 200 ms + the frozen validation ×10
    expect(fc.writeHoldMs!.low).toBeCloseTo((200 + 8000) * 0.75);
    expect(fc.go).toBe(true);
    expect(formatForecast(fc).join('\n')).toMatch(/full load .*extrapolated[\s\S]*verdict +go/);
  });

  test('CDC catch-up grows with the changes the full load leaves behind, not with the rows', () => {
    const measured = { ...figures, cdc: { ...figures.cdc, catchUpApplyChangesPerSec: 20_000 } };
    const at = (writeChangesPerSec: number) => forecast(measured, { tables: tenTimes, writeChangesPerSec, writeRateFrom: '--write-rate', maxHoldMs: 60_000 }).cdcCatchUpSeconds!;
    // the rehearsal: 1 s of catch-up, of which 600 changes drained at 20,000 - 100 changes/s
    const overhead = 1 - 600 / 19_900;
    expect(catchUpOverheadSeconds(measured)).toBeCloseTo(overhead, 9);
    // no writes: ten times the rows leave nothing to drain; the catch-up is the rehearsal's rest, not 10x it
    expect(at(0).low).toBeCloseTo(overhead * 0.75, 9);
    expect(at(0).high).toBeCloseTo(overhead * 1.4, 9);
    // 100 changes/s over the ~60 s load (6 s x 10): 6,000 changes at the backlog rate, not the trickle's 2,000/s
    expect(at(100).low).toBeCloseTo((overhead + 6000 / 19_900) * 0.75, 9);
    // twice the writes: twice the backlog, drained against twice the writes
    expect(at(200).low).toBeCloseTo((overhead + 12_000 / 19_800) * 0.75, 9);
    // a rehearsal recorded before the backlog rate was measured drains at its steady capacity
    expect(backlogDrainSeconds(figures, 100, 60)).toBeCloseTo(6000 / 1900, 9);
    expect(backlogDrainSeconds(measured, 100, 60)).toBeCloseTo(6000 / 19_900, 9);
  });

  test("write hold: the frozen check's reconciliation grows with the data, its changed rows with the write rate", () => {
    const timed = { ...figures, hold: { ...figures.hold!, frozenReconciliationMs: 600 } };
    const hold = (f: RehearsalFigures, writeChangesPerSec: number) => forecast(f, { tables: tenTimes, writeChangesPerSec, writeRateFrom: '--write-rate', maxHoldMs: 60_000 }).writeHoldMs!;
    // fixed steps 200 ms + changed rows 200 ms (same write rate) + the reconciliation 600 ms x 10
    expect(hold(timed, 100).low).toBeCloseTo((200 + 200 + 6000) * 0.75);
    // twice the writes: twice the changed rows in the hold
    expect(hold(timed, 200).low).toBeCloseTo((200 + 400 + 6000) * 0.75);
    // not timed: the whole frozen check by size, as before
    expect(hold(figures, 200).low).toBeCloseTo((200 + 8000) * 0.75);
  });

  test('the same sizes as the rehearsal are a measured forecast around the measured figures', () => {
    const same = figures.tables.map((t) => ({ name: t.source, rows: t.rows, bytes: t.bytes }));
    const fc = forecast(figures, { tables: same, writeChangesPerSec: 100, writeRateFrom: 'rehearsal', maxHoldMs: 15_000 });
    expect(fc.fullLoadSeconds).toEqual({ low: 6 * 0.85, high: 6 * 1.2, basis: 'measured' });
    expect(fc.validateSeconds.basis).toBe('measured');
    expect(fc.cdcCatchUpSeconds!.basis).toBe('measured');
  });

  test('is a no-go when apply is not faster than the writes (the lag would only grow)', () => {
    const fc = forecast(figures, { tables: tenTimes, writeChangesPerSec: 2500, writeRateFrom: 'source statistics', maxHoldMs: 60_000 });
    expect(fc.go).toBe(false);
    expect(fc.cdcCatchUpSeconds).toBeNull();
    expect(fc.noGo.join()).toMatch(/apply capacity 2000 changes\/s is not above the write rate 2500/);
  });

  test('is a no-go when the write hold may outlast switch.maxHoldMs', () => {
    const fc = forecast(figures, { tables: tenTimes, writeChangesPerSec: 10, writeRateFrom: '--write-rate', maxHoldMs: 5_000 });
    expect(fc.go).toBe(false);
    expect(fc.noGo.join()).toMatch(/write hold may reach \d+ ms, above switch.maxHoldMs 5000 ms/);
  });

  test('a table the rehearsal did not have is loaded at its overall rate, and named', () => {
    const fc = forecast(figures, { tables: [...tenTimes, { name: 'public.audit', rows: 350_000, bytes: 1 }], writeChangesPerSec: 0, writeRateFrom: '--write-rate', maxHoldMs: 60_000 });
    expect(fc.unmatchedTables).toEqual(['public.audit']);
    // 350,000 rows at 350,000 rows / 6 s: 6 s more than the 60 s of the known tables
    expect(fc.fullLoadSeconds.low).toBeCloseTo(66 * 0.75);
  });
});

describe('rehearsal figures', () => {
  const rec = (seq: number, time: string, action: string, status: JournalRecord['status'], durationMs?: number): JournalRecord => ({
    seq,
    time,
    operator: 'o',
    host: 'h',
    pid: 1,
    env: 'rehearsal',
    phase: 'switch',
    action,
    status,
    ...(durationMs !== undefined ? { figures: { durationMs } } : {}),
  });

  test('the write hold runs from holding writes to releasing them, with each step journaled', () => {
    const journal = [
      rec(1, '2026-12-06T10:00:00.000Z', 'reverse.start', 'ok', 900),
      rec(2, '2026-12-06T10:00:01.000Z', 'router.holdWrites', 'started'),
      rec(3, '2026-12-06T10:00:01.005Z', 'router.holdWrites', 'ok', 5),
      rec(4, '2026-12-06T10:00:01.100Z', 'validator.validate(frozen)', 'ok', 700),
      rec(5, '2026-12-06T10:00:02.200Z', 'router.releaseWrites', 'ok', 4),
    ];
    expect(holdFromJournal(journal)).toEqual({ partsMs: { 'router.holdWrites': 5, 'validator.validate(frozen)': 700, 'router.releaseWrites': 4 }, frozenValidateMs: 700, totalMs: 1200 });
    expect(holdFromJournal(journal.slice(0, 4))).toBeNull(); // never released: no hold measured
  });

  test("the frozen validation's reconciliation time is kept apart from the rest of it", () => {
    const journal = [
      rec(1, '2026-12-06T10:00:01.000Z', 'router.holdWrites', 'started'),
      { ...rec(2, '2026-12-06T10:00:01.800Z', 'validator.validate(frozen)', 'ok'), figures: { durationMs: 700, reconciliationMs: 550, changedRows: 90 } },
      rec(3, '2026-12-06T10:00:02.000Z', 'router.releaseWrites', 'ok', 4),
    ];
    expect(holdFromJournal(journal)).toEqual({ partsMs: { 'validator.validate(frozen)': 700, 'router.releaseWrites': 4 }, frozenValidateMs: 700, totalMs: 1000, frozenReconciliationMs: 550 });
  });

  test("apply capacity is the worker's changes over its busy time, the write rate over its CDC time", () => {
    const run = {
      orders: 10,
      parallelTables: 2,
      tables: [{ name: 'public.t', rows: 10, bytes: 100 }],
      replication: {
        phase: 'cdc',
        direction: 'forward',
        lagMs: 0,
        lagBytes: 0,
        appliedRowsPerSec: 0,
        deadLetters: 0,
        tables: [{ source: 'public.t', target: 'public.t', rows: 10, totalRows: 10, state: 'cdc', loadSeconds: 2 }],
        applyCapacity: { changes: 600, busyMs: 300, cdcMs: 60_000 },
        fullLoadSeconds: 2.5,
      },
      replicateSeconds: 4,
      validate: { seconds: 1, rowsCompared: 20 },
      journal: [],
    } satisfies Parameters<typeof figuresFromRun>[0];
    const f = figuresFromRun(run);
    expect(f.cdc).toEqual({ applyChangesPerSec: 2000, writeChangesPerSec: 10, catchUpSeconds: 1.5 });
    // read again as the lag gate passed: the rate apply drained the load's backlog at
    const atCatchUp = figuresFromRun({ ...run, replicationAtCatchUp: { ...run.replication, applyCapacity: { changes: 500, busyMs: 50, cdcMs: 900 } } });
    expect(atCatchUp.cdc).toEqual({ applyChangesPerSec: 2000, writeChangesPerSec: 10, catchUpSeconds: 1.5, catchUpApplyChangesPerSec: 10_000 });
    expect(figuresFromRun({ ...run, replicationAtCatchUp: null }).cdc.catchUpApplyChangesPerSec).toBeNull();
    expect(f.tables).toEqual([{ source: 'public.t', rows: 10, bytes: 100, loadSeconds: 2 }]);
    expect(f.fullLoad.seconds).toBe(2.5);
    expect(f.hold).toBeNull();
  });
});

describe('forecast calibrated on two rehearsals: a fixed cost plus a cost per row per phase', () => {
  const sized = (orders: number, scale: number, seconds: { load: number; catchUp: number; validate: number; holdMs: number }): RehearsalFigures => ({
    ...figures,
    orders,
    tables: figures.tables.map((t) => ({ ...t, rows: t.rows * scale, bytes: t.bytes * scale })),
    fullLoad: { seconds: seconds.load },
    cdc: { ...figures.cdc, catchUpSeconds: seconds.catchUp },
    validate: { seconds: seconds.validate, rowsCompared: 0 },
    hold: { ...figures.hold!, totalMs: seconds.holdMs },
  });

  test('fitLine: through two points; never a negative cost per row or fixed cost', () => {
    expect(fitLine([{ x: 100, y: 12 }, { x: 300, y: 16 }])).toEqual({ fixed: 10, perRow: 0.02 });
    expect(fitLine([{ x: 100, y: 12 }, { x: 300, y: 10 }])).toEqual({ fixed: 11, perRow: 0 });
    expect(fitLine([{ x: 100, y: 1 }, { x: 200, y: 5 }])!.fixed).toBe(0);
    expect(fitLine([{ x: 100, y: 1 }])).toBeNull();
  });

  test('a fixed cost is not scaled with the data: 10 s fixed + 90 s per 315,000 rows predicts 10x the larger rehearsal as 10 + 1000 s, where scaling by size said 1100 s', () => {
    // 35,000 rows: 20 s of full load (10 fixed + 10); 350,000 rows: 110 s (10 fixed + 100)
    const small = sized(10_000, 0.1, { load: 20, catchUp: 5, validate: 8, holdMs: 900 });
    const mid = sized(100_000, 1, { load: 110, catchUp: 5, validate: 44, holdMs: 1100 });
    const fc = forecastFrom([small, mid], { tables: tenTimes, writeChangesPerSec: 100, writeRateFrom: 'rehearsal', maxHoldMs: 60_000 });
    const middle = (r: { low: number; high: number }) => (r.low + r.high) / 2 / 1.075; // SPREAD extrapolated: 0.75..1.4
    expect(middle(fc.fullLoadSeconds)).toBeCloseTo(1010, 0);
    expect(middle(fc.validateSeconds)).toBeCloseTo(404, 0);
    // catch-up: the fitted rest (each rehearsal's catch-up less its own drain at 2,000 - 100
    // changes/s, clamped at 0), plus the 1010 s load's 101,000 changes drained at that rate
    const rest = fitLine([{ x: 35_000, y: 5 - (100 * 20) / 1900 }, { x: 350_000, y: 0 }])!;
    expect(middle(fc.cdcCatchUpSeconds!)).toBeCloseTo(rest.fixed + rest.perRow * 3_500_000 + (100 * 1010) / 1900, 1);
    expect(fc.fullLoadSeconds.basis).toBe('extrapolated');
    expect(fc.calibration!.sizes.map((s) => s.orders)).toEqual([10_000, 100_000]);
    expect(formatForecast(fc).join('\n')).toContain('calibrated on 2 rehearsals');
    // the one-rehearsal forecast scales everything: 10 x the large rehearsal's 110 s
    expect(forecast(mid, { tables: tenTimes, writeChangesPerSec: 100, writeRateFrom: 'rehearsal', maxHoldMs: 60_000 }).fullLoadSeconds.low).toBeCloseTo(1100 * 0.75, 0);
    // inside the calibrated sizes it is measured
    const inside = forecastFrom([small, mid], { tables: figures.tables.map((t) => ({ name: t.source, rows: t.rows / 2, bytes: t.bytes / 2 })), writeChangesPerSec: 100, writeRateFrom: 'rehearsal', maxHoldMs: 60_000 });
    expect(inside.validateSeconds.basis).toBe('measured');
  });
});
