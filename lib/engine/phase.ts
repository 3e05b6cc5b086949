import type { ResolvedEnvironment } from '../config/load.ts';
import type { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Platform } from '../platform/roles.ts';
import type { JournalRecord } from './journal-store.ts';

/**
 * A phase is plan / apply / verify / rollback. Phases carry no plumbing: the engine owns order,
 * gates, journal records around each call, confirmation, dry-run and resume.
 */
export type PhaseName = 'assess' | 'snapshot' | 'replicate' | 'validate' | 'shadow' | 'shift' | 'switch' | 'bake' | 'finalize';

/** Phase order (DESIGN.md). `rollback` is not a phase: it is the engine's way back from any of these. */
export const PHASE_ORDER: readonly PhaseName[] = ['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch', 'bake', 'finalize'];

export interface PlanStep {
  /** What would be called, e.g. `router.setReadWeight`. */
  readonly action: string;
  /** Against what, e.g. `router http://127.0.0.1:4001`. */
  readonly target: string;
  readonly detail?: string;
}

export interface PhaseOutcome {
  readonly ok: boolean;
  readonly summary: string;
  /** Figures journaled with the outcome (lag, weights, rows, pause times). */
  readonly figures?: Readonly<Record<string, unknown>>;
  /** The full result object (printed with --json). */
  readonly result?: unknown;
}

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Sub-step journaling inside a phase (the write switch records each of its steps). */
export interface StepJournal {
  /** Records `action` as started, runs `fn`, records ok/failed with its figures. */
  step<T>(action: string, inputs: Record<string, unknown>, fn: () => Promise<T>): Promise<T>;
  /** Actions of the current phase run recorded ok so far (for resume), in order. */
  completedSteps(): readonly string[];
  note(action: string, figures: Record<string, unknown>): void;
}

export interface PhaseContext {
  readonly env: ResolvedEnvironment;
  readonly platform: Platform;
  readonly out: Output;
  readonly journal: StepJournal;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** Command options (e.g. `{ to: 50 }` for `shift --to 50`, `{ wave: 'core' }`). */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * The environment's journal as it stood when the run began (read-only), for gates that look
   * back, e.g. the age of the last passing validation (lib/engine/journal-history.ts reads it).
   * @default [] - hand-built contexts (tests, the rehearsal) may leave it out
   */
  readonly history?: readonly JournalRecord[];
}

export interface RefusalInput {
  readonly env: ResolvedEnvironment;
  readonly options: Readonly<Record<string, unknown>>;
  readonly history: readonly JournalRecord[];
  /** `cutover rollback` → `npx cutover rollback [--config …] --env …`, for `fix` lines. */
  readonly commandLine: (command: string) => string;
}

export interface Phase {
  readonly name: PhaseName;
  /** Phases that must have verified before this one may apply. */
  readonly requires: readonly PhaseName[];
  /** The command that runs it, for "run X first" messages, e.g. `cutover snapshot`. */
  readonly command: string;
  /**
   * Changes state? (confirmation and the lock apply only then.) A function when it depends on
   * the options, e.g. `validate --repair` writes to the target while plain `validate` only reads.
   */
  readonly mutates: boolean | ((options: Readonly<Record<string, unknown>>) => boolean);
  /**
   * Refusals that need no connection: bad option values, or a run that would be wrong now given
   * the journal (e.g. `validate --repair` once writes are on green). Checked before anything is
   * confirmed, locked or journaled (and shown by `--dry-run`); null when the run may go ahead.
   * @default - no such refusals
   */
  refusal?(input: RefusalInput): CutoverError | null;
  plan(ctx: PhaseContext): Promise<PlanStep[]>;
  apply(ctx: PhaseContext): Promise<PhaseOutcome>;
  verify(ctx: PhaseContext): Promise<PhaseOutcome>;
  rollback(ctx: PhaseContext): Promise<PhaseOutcome>;
}

/** Whether a run of `phase` with these options changes state. */
export function phaseMutates(phase: Phase, options: Readonly<Record<string, unknown>>): boolean {
  return typeof phase.mutates === 'function' ? phase.mutates(options) : phase.mutates;
}

/**
 * A step outside the phase order (`cancel`): the same plan / apply / verify shape and refusal
 * rule as a phase, journaled under its own name; it requires no phase and no phase requires it.
 */
export interface StandaloneStep {
  readonly name: 'cancel';
  /** The command that runs it, e.g. `cutover cancel`. */
  readonly command: string;
  refusal?(input: RefusalInput): CutoverError | null;
  plan(ctx: PhaseContext): Promise<PlanStep[]>;
  apply(ctx: PhaseContext): Promise<PhaseOutcome>;
  verify(ctx: PhaseContext): Promise<PhaseOutcome>;
}
