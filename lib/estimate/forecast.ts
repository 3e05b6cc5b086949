import type { RehearsalFigures } from './rehearsal-figures.ts';

/**
 * The forecast of a cutover night from a rehearsal's measured figures and the target
 * environment's table sizes and write rate. Pure arithmetic, no I/O.
 *
 * - full load: each table's measured load time scaled by its size ratio (rows, and bytes: the
 *   range spans both), keeping the rehearsal's overlap of parallel lanes; a table the rehearsal
 *   did not have is loaded at the rehearsal's overall rows/s;
 * - CDC catch-up: the changes written during the full load (write rate × its forecast time),
 *   drained at the rate apply sustained on the rehearsal's own backlog less the write rate, plus
 *   the rest of the rehearsal's catch-up as measured (worker start, the lag gate: no changes drive
 *   it) — a no-go when apply's steady capacity is not above the write rate (the lag only grows);
 * - validate: the measured validation scaled by rows (and bytes);
 * - write hold: the switch's fixed steps as measured, plus the frozen validation: its
 *   reconciliation (whole-table aggregates) scaled like validate, its changed rows (seconds of
 *   writes) by the write rate — a no-go when it would outlast `switch.maxHoldMs` (held writes
 *   would be let go). A rehearsal that did not time its reconciliation scales all of it by size.
 *
 * A figure is `measured` when every size is within ±25 % of the rehearsal's (the rehearsal ran
 * it), else `extrapolated`; extrapolated ranges are wider.
 */
export interface EnvironmentSizes {
  readonly tables: readonly { readonly name: string; readonly rows: number; readonly bytes: number }[];
  /** Row changes per second on the source. */
  readonly writeChangesPerSec: number;
  readonly writeRateFrom: 'source statistics' | '--write-rate' | 'rehearsal';
  /** `switch.maxHoldMs` of the environment. */
  readonly maxHoldMs: number;
}

export type Basis = 'measured' | 'extrapolated';

export interface Range {
  readonly low: number;
  readonly high: number;
  readonly basis: Basis;
}

export interface Forecast {
  readonly from: { readonly recordedAt: string; readonly orders: number; readonly rows: number };
  readonly rows: number;
  readonly bytes: number;
  readonly writeChangesPerSec: number;
  readonly writeRateFrom: EnvironmentSizes['writeRateFrom'];
  readonly fullLoadSeconds: Range;
  /** null when the rehearsal measured no apply capacity. */
  readonly cdcCatchUpSeconds: Range | null;
  readonly applyChangesPerSec: number | null;
  readonly validateSeconds: Range;
  /** null when the rehearsal did not reach the write switch. */
  readonly writeHoldMs: (Range & { readonly partsMs: Readonly<Record<string, number>> }) | null;
  readonly go: boolean;
  readonly noGo: string[];
  /** Tables of the environment the rehearsal did not have (loaded at its overall rate). */
  readonly unmatchedTables: string[];
}

/** Spread added around a point forecast: the rehearsal's machine is not the night's. */
const SPREAD: Record<Basis, { low: number; high: number }> = { measured: { low: 0.85, high: 1.2 }, extrapolated: { low: 0.75, high: 1.4 } };

export function forecast(f: RehearsalFigures, env: EnvironmentSizes): Forecast {
  const byName = new Map(f.tables.map((t) => [t.source, t]));
  const rehearsalRows = f.tables.reduce((n, t) => n + t.rows, 0);
  const rehearsalBytes = f.tables.reduce((n, t) => n + t.bytes, 0);
  const rows = env.tables.reduce((n, t) => n + t.rows, 0);
  const bytes = env.tables.reduce((n, t) => n + t.bytes, 0);
  const unmatched = env.tables.filter((t) => !byName.has(t.name)).map((t) => t.name);
  const ratios = env.tables.flatMap((t) => {
    const r = byName.get(t.name);
    return r ? [ratio(t.rows, r.rows), ratio(t.bytes, r.bytes)] : [];
  });
  const basis: Basis = !unmatched.length && ratios.every((x) => x >= 0.8 && x <= 1.25) && env.tables.length === f.tables.length ? 'measured' : 'extrapolated';

  // ---- full load: Σ measured table time × size ratio, mapped onto the measured wall time
  const measuredTableSeconds = f.tables.reduce((n, t) => n + (t.loadSeconds ?? 0), 0);
  const overallRowsPerSec = rehearsalRows / Math.max(f.fullLoad.seconds, 0.001);
  let byRows = 0;
  let byBytes = 0;
  for (const t of env.tables) {
    const r = byName.get(t.name);
    if (r && r.loadSeconds !== null && measuredTableSeconds > 0) {
      const wallShare = (r.loadSeconds / measuredTableSeconds) * f.fullLoad.seconds;
      byRows += wallShare * ratio(t.rows, r.rows);
      byBytes += wallShare * ratio(t.bytes, r.bytes);
    } else {
      byRows += t.rows / overallRowsPerSec;
      byBytes += t.rows / overallRowsPerSec;
    }
  }
  const fullLoadSeconds = range(byRows, byBytes, basis);

  // ---- CDC catch-up after the full load: the load's backlog drained, plus what no change drives
  const noGo: string[] = [];
  const capacity = f.cdc.applyChangesPerSec;
  let cdcCatchUpSeconds: Range | null = null;
  if (capacity !== null) {
    if (capacity <= env.writeChangesPerSec) {
      noGo.push(`apply capacity ${Math.round(capacity)} changes/s is not above the write rate ${Math.round(env.writeChangesPerSec)} changes/s: replication would never catch up`);
    } else {
      // a write rate far above the rehearsal's is beyond what was measured
      const cdcBasis: Basis = basis === 'measured' && env.writeChangesPerSec <= Math.max(1, f.cdc.writeChangesPerSec) * 1.25 ? 'measured' : 'extrapolated';
      const fixed = catchUpOverheadSeconds(f);
      cdcCatchUpSeconds = range(fixed + backlogDrainSeconds(f, env.writeChangesPerSec, byRows), fixed + backlogDrainSeconds(f, env.writeChangesPerSec, byBytes), cdcBasis);
    }
  }

  // ---- validate
  const rowRatio = ratio(rows, rehearsalRows);
  const byteRatio = ratio(bytes, rehearsalBytes);
  const validateSeconds = range(f.validate.seconds * rowRatio, f.validate.seconds * byteRatio, basis);

  // ---- write hold: fixed steps as measured, the frozen validation's parts each scaled by what drives it
  let writeHoldMs: Forecast['writeHoldMs'] = null;
  if (f.hold) {
    const fixedMs = f.hold.totalMs - f.hold.frozenValidateMs;
    const partsMs: Record<string, number> = {};
    for (const [k, v] of Object.entries(f.hold.partsMs)) partsMs[k] = Math.round(v);
    const { bySizeMs, byChangesMs } = frozenParts(f.hold);
    const changesMs = byChangesMs * writeRatio(f, env.writeChangesPerSec);
    const validateLow = changesMs + bySizeMs * Math.min(rowRatio, byteRatio);
    const validateHigh = changesMs + bySizeMs * Math.max(rowRatio, byteRatio);
    const hold = range(fixedMs + validateLow, fixedMs + validateHigh, basis);
    writeHoldMs = { ...hold, partsMs };
    if (hold.high > env.maxHoldMs) {
      noGo.push(
        `the write hold may reach ${Math.round(hold.high)} ms, above switch.maxHoldMs ${env.maxHoldMs} ms (the frozen validation alone ≈ ${Math.round(validateHigh)} ms): raise switch.maxHoldMs and catchUpTimeoutMs, or switch in waves`,
      );
    }
  }
  return {
    from: { recordedAt: f.recordedAt, orders: f.orders, rows: rehearsalRows },
    rows,
    bytes,
    writeChangesPerSec: env.writeChangesPerSec,
    writeRateFrom: env.writeRateFrom,
    fullLoadSeconds,
    cdcCatchUpSeconds,
    applyChangesPerSec: capacity,
    validateSeconds,
    writeHoldMs,
    go: noGo.length === 0,
    noGo,
    unmatchedTables: unmatched,
  };
}

/**
 * Seconds to drain what a full load of `loadSeconds` leaves behind at `writeChangesPerSec`: apply
 * works through it at the rate it sustained on the rehearsal's own backlog (big batches; the
 * steady capacity, a trickle of small transactions, is far lower and drained 10,000 changes in
 * under a second of a 1M-order rehearsal that it forecast at 11 s) while the writes go on.
 */
export function backlogDrainSeconds(f: RehearsalFigures, writeChangesPerSec: number, loadSeconds: number): number {
  const rate = Math.max(f.cdc.catchUpApplyChangesPerSec ?? 0, f.cdc.applyChangesPerSec ?? 0);
  if (rate <= writeChangesPerSec) return Infinity;
  return (writeChangesPerSec * loadSeconds) / (rate - writeChangesPerSec);
}

/** The rehearsal's catch-up less the drain of its own backlog: worker start, the lag gate's polls — no change drives it. */
export function catchUpOverheadSeconds(f: RehearsalFigures): number {
  if (f.cdc.catchUpSeconds === null) return 0;
  const drain = backlogDrainSeconds(f, f.cdc.writeChangesPerSec, f.fullLoad.seconds);
  return Math.max(0, f.cdc.catchUpSeconds - (Number.isFinite(drain) ? drain : 0));
}

/**
 * The frozen validation split by what drives it: the reconciliation's whole-table aggregates grow
 * with the data; the rest (the rows changed since the baseline refreshed just before the hold,
 * a few seconds of writes) with the write rate. Not timed: all of it by size, as before.
 */
export function frozenParts(hold: NonNullable<RehearsalFigures['hold']>): { bySizeMs: number; byChangesMs: number } {
  if (hold.frozenReconciliationMs === undefined) return { bySizeMs: hold.frozenValidateMs, byChangesMs: 0 };
  const bySizeMs = Math.min(hold.frozenReconciliationMs, hold.frozenValidateMs);
  return { bySizeMs, byChangesMs: hold.frozenValidateMs - bySizeMs };
}

/** The environment's write rate over the rehearsal's (1 when the rehearsal measured none). */
export function writeRatio(f: RehearsalFigures, writeChangesPerSec: number): number {
  return f.cdc.writeChangesPerSec > 0 ? writeChangesPerSec / f.cdc.writeChangesPerSec : 1;
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : a > 0 ? Infinity : 1;
}

/** A point forecast (or two: by rows and by bytes) widened by the basis's spread. */
export function range(a: number, b: number, basis: Basis): Range {
  const s = SPREAD[basis];
  return { low: Math.min(a, b) * s.low, high: Math.max(a, b) * s.high, basis };
}

/** Human lines for `cutover estimate` and the rehearsal summary. */
export function formatForecast(fc: Forecast & { readonly calibration?: { readonly sizes: readonly { readonly orders: number; readonly rows: number }[] } }): string[] {
  const secs = (r: Range) => `${fmtSeconds(r.low)} – ${fmtSeconds(r.high)} (${r.basis})`;
  const lines = [
    `forecast from the rehearsal of ${fc.from.recordedAt} (${fc.from.rows} rows) for ${fc.rows} rows, ${(fc.bytes / 1024 / 1024).toFixed(0)} MiB, ${Math.round(fc.writeChangesPerSec)} changes/s written (${fc.writeRateFrom})`,
    `  full load       ${secs(fc.fullLoadSeconds)}`,
    `  CDC catch-up    ${fc.cdcCatchUpSeconds ? secs(fc.cdcCatchUpSeconds) : 'no estimate'}${fc.applyChangesPerSec !== null ? ` — apply capacity ${Math.round(fc.applyChangesPerSec)} changes/s` : ''}`,
    `  validate        ${secs(fc.validateSeconds)}`,
    `  write hold      ${fc.writeHoldMs ? `${Math.round(fc.writeHoldMs.low)} – ${Math.round(fc.writeHoldMs.high)} ms (${fc.writeHoldMs.basis}); measured parts ${Object.entries(fc.writeHoldMs.partsMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}` : 'no estimate (the rehearsal did not switch)'}`,
    ...(fc.calibration ? [`  calibrated on ${fc.calibration.sizes.length} rehearsals (${fc.calibration.sizes.map((c) => `${c.rows} rows`).join(', ')}): per phase a fixed cost plus a cost per row`] : []),
    ...(fc.unmatchedTables.length ? [`  tables the rehearsal did not have (loaded at its overall rate): ${fc.unmatchedTables.join(', ')}`] : []),
    fc.go ? '  verdict         go' : '  verdict         NO-GO',
    ...fc.noGo.map((r) => `  ! ${r}`),
  ];
  return lines;
}

function fmtSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
