import type { Forecast } from '../estimate/forecast.ts';
import type { RehearsalFigures } from '../estimate/rehearsal-figures.ts';
import type { FailureRecord } from '../demo/load-generator.ts';

/**
 * The rehearsal report: what `--report-json` writes and the HTML report renders. Field names
 * marked "contract" are relied on by outside tests (shared/CONTRACTS.md).
 */
export type PhaseOutcomeName = 'ok' | 'failed' | 'rolled-back' | 'not-run';

export interface PhaseRecord {
  readonly name: string;
  readonly start: string | null;
  readonly end: string | null;
  readonly outcome: PhaseOutcomeName;
  readonly summary: string;
  readonly figures?: Readonly<Record<string, unknown>>;
}

export interface FaultInjection {
  readonly name: string;
  /** ms since the rehearsal started (the charts' x axis) */
  readonly at: number;
  /** ms since the start when the fault ended (a server back up), when it has an end */
  readonly until?: number;
  readonly detail: string;
}

export interface TimelineSample {
  /** ms since the rehearsal started */
  readonly t: number;
  readonly readWeightGreen: number | null;
  readonly writeTarget: 'blue' | 'green' | null;
  readonly writesHeld: boolean;
  readonly rps: { blue: number; green: number };
  readonly errorsPerSec: { blue: number; green: number };
  readonly p99Ms: { blue: number | null; green: number | null };
  readonly clientFailuresPerSec: number;
  readonly lagMs: number | null;
}

export interface RehearsalReport {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly options: { seed: number; orders: number; rate: number; fault: string | null; /** The legacy engine when not PostgreSQL (`--legacy mariadb`). */ legacy?: string };
  /** contract: requests.total, requests.failed */
  readonly requests: {
    total: number;
    failed: number;
    reads: number;
    writes: number;
    failuresByReason: Record<string, number>;
    /** The last (at most 100) failed requests: when, what, why, and which app answered. */
    failures?: readonly FailureRecord[];
    /**
     * Failures the injected fault itself caused by a rule stated in `rule` (e.g. the blue app's
     * own answers while its database was down): counted here, NOT in `failed` (the kit's).
     */
    attributedToFault?: { failed: number; byReason: Record<string, number>; rule: string };
  };
  /** Each fault injected: when (ms since the start, as `timeline[].t`), what, and a line for people. */
  readonly faults?: readonly FaultInjection[];
  /** contract: ledger.acknowledged, ledger.missing, ledger.mismatched */
  readonly ledger: { acknowledged: number; missing: number; mismatched: number; checkedOn: 'blue' | 'green'; missingIds: string[]; mismatchedIds: string[] };
  /** contract: validation.equal */
  readonly validation: { equal: boolean | null; tables: { source: string; target: string; sourceRows: number; targetRows: number; missing: number; extra: number; different: number; deadLetter: number }[] };
  /** contract: switch.writePauseMs.p50/p99 */
  readonly switch: { writePauseMs: { p50: number | null; p99: number | null; max: number | null }; heldRequests: number };
  readonly rollback: { ran: boolean; seconds: number | null; greenEraWrites: number | null };
  /** contract: phases[] of { name, start, end, outcome } */
  readonly phases: PhaseRecord[];
  readonly assess: { findings: { id: string; count: number; severity: string; handling: string }[] } | null;
  readonly timeline: TimelineSample[];
  /**
   * contract: `estimate` (the forecast). What this rehearsal measured (also written to
   * `figuresFile` for `cutover estimate --env NAME`), and the forecast of its own environment
   * from those figures; null when the run stopped before anything could be measured.
   */
  readonly estimate?: RehearsalEstimate | null;
  readonly verdict: { ok: boolean; reasons: string[] };
}

export interface RehearsalEstimate {
  readonly figuresFile: string;
  readonly figures: RehearsalFigures;
  readonly forecast: Forecast;
}

/**
 * The verdict the rehearsal exits with: requests sent and none failed, writes acknowledged and
 * none lost or changed, validation run and equal (differences are tolerated only in a scenario
 * that rolls back), no failed phase.
 */
export function judge(report: Omit<RehearsalReport, 'verdict'>, expectRollback: boolean): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (report.requests.failed > 0) reasons.push(`${report.requests.failed} client request(s) failed`);
  if (report.ledger.missing > 0) reasons.push(`${report.ledger.missing} acknowledged write(s) missing on ${report.ledger.checkedOn}`);
  if (report.ledger.mismatched > 0) reasons.push(`${report.ledger.mismatched} acknowledged write(s) differ on ${report.ledger.checkedOn}`);
  if (report.requests.total === 0) reasons.push('no client request was sent: nothing shows the cutover kept clients served');
  if (report.ledger.acknowledged === 0) reasons.push('no write was acknowledged: the load generator did not work');
  // a check that compared nothing must fail, never pass
  if (report.validation.equal === null) reasons.push('validation never ran: nothing shows green equal to blue');
  if (!expectRollback && report.validation.equal === false) reasons.push('validation found differences');
  const failed = report.phases.filter((p) => p.outcome === 'failed');
  for (const p of failed) reasons.push(`phase ${p.name} failed: ${p.summary}`);
  if (expectRollback && !report.rollback.ran) reasons.push('the fault scenario expected a rollback, none ran');
  return { ok: reasons.length === 0, reasons };
}

export function percentile(values: readonly number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
