import type { JournalRecord } from './journal-store.ts';
import { PHASE_ORDER, type PhaseName } from './phase.ts';

/**
 * Reading the journal back. The engine writes, per phase run:
 *   { phase, action: 'run',    status: 'started' }            inputs = command options
 *   { phase, action: 'plan',   status: 'info' }               result = the plan steps
 *   { phase, action: 'apply',  status: 'started' | 'ok' | 'failed' }
 *   { phase, action: <step>,   status: 'started' | 'ok' | 'failed' }   from StepJournal.step()
 *   { phase, action: 'resume', status: 'info' }               a re-run picked up an interrupted run
 *   { phase, action: 'verify', status: 'started' | 'ok' | 'failed' }   figures = the gate's figures
 *   { phase, action: 'run',    status: 'ok' | 'failed' }
 * and `{ phase: 'rollback', action: 'run', … }` around a rollback. A run whose last `run` record
 * is `started` was interrupted (kill -9, power loss): re-running it resumes.
 */

/** Actions that frame a run rather than being one of its steps. */
const FRAME_ACTIONS = new Set(['run', 'plan', 'apply', 'verify', 'resume']);

/** Phases whose verification a completed rollback takes back (traffic is on blue again). */
const UNDONE_BY_ROLLBACK: readonly PhaseName[] = ['shift', 'switch', 'bake', 'finalize'];

/** Last passing verification of each phase still standing (a later failed verify or a rollback takes it back). */
export function verifiedPhases(records: readonly JournalRecord[]): Map<PhaseName, JournalRecord> {
  const verified = new Map<PhaseName, JournalRecord>();
  for (const r of records) {
    if (r.phase === 'rollback' && r.action === 'run' && r.status === 'ok') {
      for (const p of UNDONE_BY_ROLLBACK) verified.delete(p);
      continue;
    }
    if (r.action !== 'verify' || !isPhaseName(r.phase)) continue;
    if (r.status === 'ok') verified.set(r.phase, r);
    else if (r.status === 'failed') verified.delete(r.phase);
  }
  return verified;
}

export interface UnfinishedRun {
  /** The `run started` record of the interrupted run. */
  readonly started: JournalRecord;
  /** Steps recorded ok since then, in order (what `StepJournal.completedSteps()` returns). */
  readonly completedSteps: string[];
}

/** The interrupted run of `phase` (last `run` record is `started`), or null. */
export function unfinishedRun(records: readonly JournalRecord[], phase: string): UnfinishedRun | null {
  let started: JournalRecord | null = null;
  for (const r of records) {
    if (r.phase !== phase || r.action !== 'run') continue;
    if (r.status === 'started') started ??= r; // a resumed run keeps the first start
    else started = null;
  }
  if (!started) return null;
  const completedSteps: string[] = [];
  for (const r of records) {
    if (r.seq <= started.seq || r.phase !== phase || FRAME_ACTIONS.has(r.action) || r.status !== 'ok') continue;
    if (!completedSteps.includes(r.action)) completedSteps.push(r.action);
  }
  return { started, completedSteps };
}

export type PhaseState = 'not-run' | 'interrupted' | 'failed' | 'applied' | 'verified' | 'rolled-back';

export interface PhaseSummary {
  readonly name: PhaseName;
  readonly state: PhaseState;
  /** Time of the record the state comes from. */
  readonly at: string | null;
  readonly summary?: string;
}

/** One line per phase, in phase order, from the journal alone. */
export function summarizePhases(records: readonly JournalRecord[]): PhaseSummary[] {
  const verified = verifiedPhases(records);
  return PHASE_ORDER.map((name) => {
    const unfinished = unfinishedRun(records, name);
    if (unfinished) return { name, state: 'interrupted' as const, at: unfinished.started.time };
    const lastRun = findLast(records, (r) => r.phase === name && r.action === 'run' && r.status !== 'started');
    const v = verified.get(name);
    if (v && (!lastRun || lastRun.seq < v.seq || lastRun.status === 'ok')) {
      return { name, state: 'verified' as const, at: v.time, summary: summaryOf(v) };
    }
    if (!lastRun) return { name, state: 'not-run' as const, at: null };
    const rolledBack = findLast(records, (r) => r.phase === 'rollback' && r.action === 'run' && r.status === 'ok');
    if (rolledBack && rolledBack.seq > lastRun.seq && UNDONE_BY_ROLLBACK.includes(name)) {
      return { name, state: 'rolled-back' as const, at: rolledBack.time };
    }
    if (lastRun.status === 'failed') return { name, state: 'failed' as const, at: lastRun.time, summary: summaryOf(lastRun) };
    return { name, state: 'applied' as const, at: lastRun.time, summary: summaryOf(lastRun) };
  });
}

/** The last finished verification of `validate` (pass or fail), for "last validation result and age". */
export function lastValidation(records: readonly JournalRecord[]): JournalRecord | null {
  return findLast(records, (r) => r.phase === 'validate' && r.action === 'verify' && (r.status === 'ok' || r.status === 'failed')) ?? null;
}

export function findLast(records: readonly JournalRecord[], pred: (r: JournalRecord) => boolean): JournalRecord | undefined {
  for (let i = records.length - 1; i >= 0; i--) if (pred(records[i]!)) return records[i];
  return undefined;
}

export function isPhaseName(name: string): name is PhaseName {
  return (PHASE_ORDER as readonly string[]).includes(name);
}

function summaryOf(r: JournalRecord): string | undefined {
  const res = r.result as { summary?: unknown } | undefined;
  return typeof res?.summary === 'string' ? res.summary : undefined;
}
