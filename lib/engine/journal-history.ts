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
 *
 * Two refinements of the closing `run` record:
 *   { action: 'run', status: 'info', inputs: { refused: CODE } }  the run never got going (bad
 *       input, no connection): it closes the run but says nothing about the phase's state;
 *       `inputs.resumed: true` when it was a re-run of an interrupted run, which stays interrupted.
 *   { action: 'run', status: 'failed', result: { stopped: true, … } }  stopped by the operator
 *       (Ctrl-C, or a rollback pre-empting it), not a failure of the phase.
 * A validate `verify`/`run` with `figures.partial: true` checked only some tables: it is journaled
 * and shown, but it never verifies the validate gate.
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
    // a finished cancel removed the kit from both databases: every phase starts over
    if (isCancel(r)) {
      verified.clear();
      continue;
    }
    if (r.action !== 'verify' || !isPhaseName(r.phase)) continue;
    // a partial check that passed proves nothing about the rest; one that failed still takes the gate back
    if (r.status === 'ok' && !isPartial(r)) verified.set(r.phase, r);
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
    if (isCancel(r) && phase !== 'cancel') started = null; // a cancel ended every run before it
    if (r.phase !== phase || r.action !== 'run') continue;
    if (r.status === 'started') started ??= r; // a resumed run keeps the first start
    else if (!(isRefused(r) && r.inputs?.resumed === true)) started = null; // a refused re-run leaves it interrupted
  }
  if (!started) return null;
  const completedSteps: string[] = [];
  for (const r of records) {
    if (r.seq <= started.seq || r.phase !== phase || FRAME_ACTIONS.has(r.action) || r.status !== 'ok') continue;
    if (!completedSteps.includes(r.action)) completedSteps.push(r.action);
  }
  return { started, completedSteps };
}

/**
 * `running`: unfinished and its lock holder is alive (status.ts sets it; the journal alone says
 * `interrupted`). `stopped`: the operator stopped it (Ctrl-C) before it finished.
 */
export type PhaseState = 'not-run' | 'running' | 'interrupted' | 'stopped' | 'failed' | 'applied' | 'verified' | 'rolled-back' | 'cancelled';

export interface PhaseSummary {
  readonly name: PhaseName;
  readonly state: PhaseState;
  /** Time of the record the state comes from. */
  readonly at: string | null;
  /** Journal seq of that record (orders the phases by recency). */
  readonly seq: number | null;
  readonly summary?: string;
}

/** One line per phase, in phase order, from the journal alone. */
export function summarizePhases(records: readonly JournalRecord[]): PhaseSummary[] {
  const verified = verifiedPhases(records);
  const rolledBack = findLast(records, (r) => r.phase === 'rollback' && r.action === 'run' && r.status === 'ok');
  const cancel = lastCancel(records);
  return PHASE_ORDER.map((name) => {
    const unfinished = unfinishedRun(records, name);
    if (unfinished) return { name, state: 'interrupted' as const, at: unfinished.started.time, seq: unfinished.started.seq };
    // refused runs (bad input, no connection) and passing partial checks say nothing about the phase
    const lastRun = findLast(records, (r) => r.phase === name && r.action === 'run' && (r.status === 'ok' || r.status === 'failed') && !(r.status === 'ok' && isPartial(r)));
    const v = verified.get(name);
    if (v && (!lastRun || lastRun.seq < v.seq || lastRun.status === 'ok')) {
      return { name, state: 'verified' as const, at: v.time, seq: v.seq, summary: summaryOf(v) };
    }
    if (cancel && (lastRun?.seq ?? 0) < cancel.seq && records.some((r) => r.phase === name && r.seq < cancel.seq)) {
      return { name, state: 'cancelled' as const, at: cancel.time, seq: cancel.seq };
    }
    if (!lastRun) return { name, state: 'not-run' as const, at: null, seq: null };
    if (rolledBack && rolledBack.seq > lastRun.seq && UNDONE_BY_ROLLBACK.includes(name)) {
      return { name, state: 'rolled-back' as const, at: rolledBack.time, seq: rolledBack.seq };
    }
    if (lastRun.status === 'failed') return { name, state: isStopped(lastRun) ? ('stopped' as const) : ('failed' as const), at: lastRun.time, seq: lastRun.seq, summary: summaryOf(lastRun) };
    return { name, state: 'applied' as const, at: lastRun.time, seq: lastRun.seq, summary: summaryOf(lastRun) };
  });
}

/** The last finished full validation (every mapped table; pass or fail): the one the gate is about. */
export function lastValidation(records: readonly JournalRecord[]): JournalRecord | null {
  return findLast(records, (r) => r.phase === 'validate' && r.action === 'verify' && (r.status === 'ok' || r.status === 'failed') && !isPartial(r)) ?? null;
}

/** The last finished partial validation (`validate --table`), pass or fail. */
export function lastPartialValidation(records: readonly JournalRecord[]): JournalRecord | null {
  return findLast(records, (r) => r.phase === 'validate' && r.action === 'verify' && (r.status === 'ok' || r.status === 'failed') && isPartial(r)) ?? null;
}

/**
 * The write-switch record when writes are (or may be) on green: a switch flipped writes
 * (`switch.flip` ok, or the whole run ok) and no rollback has finished since. Null otherwise.
 */
export function writesSwitchedToGreen(records: readonly JournalRecord[]): JournalRecord | null {
  let switched: JournalRecord | null = null;
  for (const r of records) {
    if (r.phase === 'rollback' && r.action === 'run' && r.status === 'ok') switched = null;
    // step names of lib/traffic/switch-phase.ts (SWITCH_STEPS.flip, SWITCH_STEPS.undone)
    // the first record of the switch stays: a later re-run that found writes already on green does not move the time
    else if (r.phase === 'switch' && r.status === 'ok' && (r.action === 'switch.flip' || r.action === 'run')) switched ??= r;
    else if (r.phase === 'switch' && r.action === 'switch.undone' && r.status === 'ok') switched = null;
  }
  return switched;
}

/** The last rollback run when it did not finish ok (killed, failed or stopped), else null. */
export function unfinishedRollback(records: readonly JournalRecord[]): { record: JournalRecord; how: 'interrupted' | 'failed' } | null {
  const unfinished = unfinishedRun(records, 'rollback');
  if (unfinished) return { record: unfinished.started, how: 'interrupted' };
  const last = findLast(records, (r) => r.phase === 'rollback' && r.action === 'run' && (r.status === 'ok' || r.status === 'failed'));
  return last && last.status === 'failed' ? { record: last, how: 'failed' } : null;
}

/** The last `cutover cancel` that finished ok (the kit was removed from both databases), or null. */
export function lastCancel(records: readonly JournalRecord[]): JournalRecord | null {
  return findLast(records, isCancel) ?? null;
}

function isCancel(r: JournalRecord): boolean {
  return r.phase === 'cancel' && r.action === 'run' && r.status === 'ok';
}

/** A validate run or verify that checked only some tables (`figures.partial`). */
export function isPartial(r: JournalRecord): boolean {
  return r.figures?.partial === true;
}

/** A `run` record closing a run that never got going (bad input, no connection). */
export function isRefused(r: JournalRecord): boolean {
  return r.action === 'run' && r.status === 'info' && typeof r.inputs?.refused === 'string';
}

/** A `run failed` record of a run the operator stopped (Ctrl-C, a pre-empting rollback). */
export function isStopped(r: JournalRecord): boolean {
  return (r.result as { stopped?: unknown } | undefined)?.stopped === true;
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
