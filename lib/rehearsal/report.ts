import type { Forecast } from '../estimate/forecast.ts';
import type { RehearsalFigures } from '../estimate/rehearsal-figures.ts';
import type { FailureRecord } from '../demo/load-generator.ts';
import type { ShadowReport } from '../shadow/shadow-tally.ts';
import type { PhaseFootprint } from './blue-footprint.ts';
import type { StarvationFigures } from './starvation-meter.ts';

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
  /** The rehearsal's own process: the kit (and the business too when it ran in process). */
  readonly peakRssMiB: number;
  /** The demo business's own process (apps, router, load generator), until the load stopped. */
  readonly demoPeakRssMiB?: number;
  /**
   * How much the demo business's process was kept from running while the load ran (it runs apart
   * from the kit's): failures beside a long CPU wait or a late event loop are the machine's load
   * as much as anything the kit did (starvation-meter.ts).
   */
  readonly demoStarvation?: StarvationFigures;
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
     * The first (at most 20) failed requests of each reason, oldest first, attributed to a fault or
     * not: where each burst began (`failuresByReason` has the counts).
     */
    firstFailuresByReason?: Readonly<Record<string, readonly FailureRecord[]>>;
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
  /**
   * The shadow phase: green's answers compared with blue's per route (samples, mismatch and
   * noise rates, accepted and rechecked differences, examples, mismatch rate over time, the
   * gate); null when the phase did not compare (not reached, skipped, not available).
   */
  readonly shadow?: ShadowReport | null;
  /** Blue's throughput, p99 and client failures while the snapshot, the full load and the validation read it, with their pacing. */
  readonly footprint?: readonly PhaseFootprint[];
  readonly verdict: RehearsalVerdict;
}

export interface RehearsalVerdict {
  /** The exit code is 0 only when true. */
  readonly ok: boolean;
  readonly reasons: string[];
  /**
   * A fault scenario whose expected outcome is a gate saying no (`green-differs`: the shadow gate
   * blocks the shift): whether that happened. The rehearsal then still exits 1 (a gate said no),
   * and `met: true` says the fault was caught, as it should be.
   */
  readonly expectedOutcome?: { readonly fault: string; readonly expected: string; readonly met: boolean };
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
export function judge(report: Omit<RehearsalReport, 'verdict'>, expectRollback: boolean, fault: string | null = null): RehearsalVerdict {
  const reasons: string[] = [];
  const caught = fault === 'green-differs' ? shadowGateCaught(report) : null;
  if (report.requests.failed > 0) reasons.push(`${report.requests.failed} client request(s) failed`);
  if (report.ledger.missing > 0) reasons.push(`${report.ledger.missing} acknowledged write(s) missing on ${report.ledger.checkedOn}`);
  if (report.ledger.mismatched > 0) reasons.push(`${report.ledger.mismatched} acknowledged write(s) differ on ${report.ledger.checkedOn}`);
  if (report.requests.total === 0) reasons.push('no client request was sent: nothing shows the cutover kept clients served');
  if (report.ledger.acknowledged === 0) reasons.push('no write was acknowledged: the load generator did not work');
  // a check that compared nothing must fail, never pass
  if (report.validation.equal === null) reasons.push('validation never ran: nothing shows green equal to blue');
  if (!expectRollback && report.validation.equal === false) reasons.push('validation found differences');
  const failed = report.phases.filter((p) => p.outcome === 'failed' && !(caught?.met && p.name === 'shadow'));
  for (const p of failed) reasons.push(`phase ${p.name} failed: ${p.summary}`);
  if (expectRollback && !report.rollback.ran) reasons.push('the fault scenario expected a rollback, none ran');
  if (caught) {
    // the expected outcome is a gate saying no: the run stops there and exits 1, caught or not
    reasons.unshift(caught.met ? `the shadow gate blocked the shift, as expected for --fault ${fault} (the fault was caught; reads stayed on blue): ${caught.detail}` : `--fault ${fault} was NOT caught by the shadow gate: ${caught.detail}`);
    return { ok: false, reasons, expectedOutcome: { fault: fault!, expected: 'the shadow gate blocks the shift, reads stay on blue, the difference is shown', met: caught.met && reasons.length === 1 } };
  }
  return { ok: reasons.length === 0, reasons };
}

/** green-differs: the shadow phase failed its gate on a mismatch it shows, and no read ever went to green. */
function shadowGateCaught(report: Omit<RehearsalReport, 'verdict'>): { met: boolean; detail: string } {
  const shadow = report.phases.find((p) => p.name === 'shadow');
  const shift = report.phases.find((p) => p.name === 'shift');
  const mismatched = (report.shadow?.routes ?? []).filter((r) => r.mismatches > 0 && r.examples.some((e) => e.class === 'mismatch'));
  const readsOnGreen = report.timeline.some((s) => (s.readWeightGreen ?? 0) > 0);
  if (shadow?.outcome !== 'failed') return { met: false, detail: `the shadow phase ended ${shadow?.outcome ?? 'not-run'} (${shadow?.summary ?? ''})` };
  if (!mismatched.length) return { met: false, detail: `the shadow phase failed without showing a mismatch: ${shadow.summary}` };
  if (readsOnGreen || (shift && shift.outcome !== 'not-run')) return { met: false, detail: 'reads moved to green after all' };
  const r = mismatched[0]!;
  const e = r.examples.find((x) => x.class === 'mismatch')!;
  return { met: true, detail: `${r.route} ${r.mismatchPercent} % mismatched (${r.mismatches}/${r.samples}), e.g. ${e.request} differs at ${e.paths.join(', ')}` };
}

export function percentile(values: readonly number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
