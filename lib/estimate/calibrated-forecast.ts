import { backlogDrainSeconds, catchUpOverheadSeconds, forecast, frozenParts, range, writeRatio, type Basis, type EnvironmentSizes, type Forecast, type Range } from './forecast.ts';
import type { RehearsalFigures } from './rehearsal-figures.ts';

/** `seconds = fixed + perRow × rows`: a phase's start-up and tail cost, and its cost per row. */
export interface LinearFit {
  readonly fixed: number;
  readonly perRow: number;
}

/**
 * Least squares over (rows, duration) points of at least two sizes; null with fewer. Neither part
 * may be negative (noise on a shared machine can tilt a line through two points): a falling line
 * becomes flat at the mean, a negative fixed cost a line through the origin.
 */
export function fitLine(points: readonly { readonly x: number; readonly y: number }[]): LinearFit | null {
  if (new Set(points.map((p) => p.x)).size < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const perRow = sxy / sxx;
  if (perRow < 0) return { fixed: my, perRow: 0 };
  const fixed = my - perRow * mx;
  if (fixed >= 0) return { fixed, perRow };
  return { fixed: 0, perRow: points.reduce((s, p) => s + p.x * p.y, 0) / points.reduce((s, p) => s + p.x * p.x, 0) };
}

export interface CalibratedForecast extends Forecast {
  /** The rehearsals the phases were fitted on, and the fits (seconds; the hold in ms). */
  readonly calibration?: {
    readonly sizes: readonly { readonly orders: number; readonly rows: number }[];
    readonly fits: Readonly<Record<'fullLoad' | 'cdcCatchUp' | 'validate' | 'writeHold', LinearFit | null>>;
  };
}

const rowsOf = (f: RehearsalFigures) => f.tables.reduce((n, t) => n + t.rows, 0);

/**
 * The forecast from one rehearsal (`forecast`: every phase scaled by size) or, from two or more of
 * different sizes, per phase a fixed cost plus a cost per row fitted on them: a phase's start-up,
 * its final wait and its gate do not grow with the data, and scaling them with it was what put a
 * 100k-order rehearsal's forecast of a 1M-order one off by +104 % (full load) to +404 % (validate).
 * Parts that changes drive, not size, are kept out of the fits and added by the changes: CDC
 * catch-up is the fitted rest (worker start, chunk planning, the lag gate) plus the drain of the
 * full load's backlog (write rate × the forecast load time, at the rate apply sustained on the
 * largest rehearsal's backlog); the write hold is the fitted steps and reconciliation plus the
 * frozen check's changed rows by the write rate (when the rehearsals timed their reconciliation).
 * Measured when the environment's size lies within the calibration sizes (−20 % / +25 %), else
 * extrapolated.
 */
export function forecastFrom(list: readonly RehearsalFigures[], env: EnvironmentSizes): CalibratedForecast {
  const sorted = [...list].sort((a, b) => rowsOf(a) - rowsOf(b));
  if (new Set(sorted.map(rowsOf)).size < 2) return forecast(sorted[sorted.length - 1]!, env);
  const largest = sorted[sorted.length - 1]!;
  const base = forecast(largest, env);
  const rows = base.rows;
  const sizes = sorted.map(rowsOf);
  const names = new Set(largest.tables.map((t) => t.source));
  const basis: Basis = rows >= sizes[0]! * 0.8 && rows <= sizes[sizes.length - 1]! * 1.25 && env.tables.every((t) => names.has(t.name)) ? 'measured' : 'extrapolated';
  const at = (fit: LinearFit | null) => (fit ? fit.fixed + fit.perRow * rows : null);
  const around = (point: number, b: Basis = basis): Range => range(point, point, b);
  const splitHold = sorted.filter((f) => f.hold).every((f) => f.hold!.frozenReconciliationMs !== undefined);

  const fits = {
    fullLoad: fitLine(sorted.map((f) => ({ x: rowsOf(f), y: f.fullLoad.seconds }))),
    // the catch-up without its backlog's drain, which the changes drive
    cdcCatchUp: fitLine(sorted.filter((f) => f.cdc.catchUpSeconds !== null).map((f) => ({ x: rowsOf(f), y: catchUpOverheadSeconds(f) }))),
    validate: fitLine(sorted.filter((f) => f.validate.seconds > 0).map((f) => ({ x: rowsOf(f), y: f.validate.seconds }))),
    // the hold without the frozen check's changed rows when every rehearsal timed its reconciliation
    writeHold: fitLine(sorted.filter((f) => f.hold).map((f) => ({ x: rowsOf(f), y: f.hold!.totalMs - (splitHold ? frozenParts(f.hold!).byChangesMs : 0) }))),
  };

  const fullLoadSeconds = fits.fullLoad ? around(at(fits.fullLoad)!) : base.fullLoadSeconds;
  const validateSeconds = fits.validate ? around(at(fits.validate)!) : base.validateSeconds;

  // catch-up: the fitted rest, plus the backlog of the forecast load time drained at the largest rehearsal's backlog rate
  let cdcCatchUpSeconds = base.cdcCatchUpSeconds;
  const capacity = largest.cdc.applyChangesPerSec;
  if (fits.cdcCatchUp && fits.fullLoad && capacity !== null && capacity > env.writeChangesPerSec) {
    const w = largest.cdc.writeChangesPerSec;
    const cdcBasis: Basis = basis === 'measured' && env.writeChangesPerSec <= Math.max(1, w) * 1.25 ? 'measured' : 'extrapolated';
    cdcCatchUpSeconds = around(at(fits.cdcCatchUp)! + backlogDrainSeconds(largest, env.writeChangesPerSec, at(fits.fullLoad)!), cdcBasis);
  }

  let writeHoldMs = base.writeHoldMs;
  const noGo = base.noGo.filter((r) => !r.startsWith('the write hold'));
  if (fits.writeHold && base.writeHoldMs) {
    const changesMs = splitHold && largest.hold ? frozenParts(largest.hold).byChangesMs * writeRatio(largest, env.writeChangesPerSec) : 0;
    const hold = around(at(fits.writeHold)! + changesMs);
    writeHoldMs = { ...hold, partsMs: base.writeHoldMs.partsMs };
    if (hold.high > env.maxHoldMs) {
      noGo.push(`the write hold may reach ${Math.round(hold.high)} ms, above switch.maxHoldMs ${env.maxHoldMs} ms: raise switch.maxHoldMs and catchUpTimeoutMs, or switch in waves`);
    }
  } else if (base.writeHoldMs) noGo.push(...base.noGo.filter((r) => r.startsWith('the write hold')));

  return {
    ...base,
    fullLoadSeconds,
    cdcCatchUpSeconds,
    validateSeconds,
    writeHoldMs,
    go: noGo.length === 0,
    noGo,
    calibration: { sizes: sorted.map((f) => ({ orders: f.orders, rows: rowsOf(f) })), fits },
  };
}
