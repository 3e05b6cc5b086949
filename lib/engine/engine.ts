import { setTimeout as delay } from 'node:timers/promises';
import type { ResolvedEnvironment } from '../config/load.ts';
import { CutoverError, asCutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Platform } from '../platform/roles.ts';
import { systemClock } from './clock.ts';
import { commandLine } from './command-line.ts';
import { isPhaseName, unfinishedRun, verifiedPhases } from './journal-history.ts';
import type { JournalRecord, JournalStore, LockHolder, LockStore, NewJournalRecord } from './journal-store.ts';
import { describeHolder } from './lock-holder.ts';
import { currentOperator, isProvablyDead, type OperatorIdentity } from './operator.ts';
import { PHASE_ORDER, phaseMutates, type Clock, type Phase, type PhaseContext, type PhaseName, type PhaseOutcome, type PlanStep, type StandaloneStep } from './phase.ts';
import { noPrompter, type Prompter } from './prompter.ts';
import { PhaseStepJournal, errorResult, smallResult } from './step-journal.ts';
import { buildStatus, type StatusReport } from './status.ts';

/** `runRollback` / `planRollback` of lib/traffic/rollback.ts, injected so tests can stand in. */
export interface RollbackRunner {
  run(ctx: PhaseContext): Promise<PhaseOutcome>;
  plan(ctx: PhaseContext): Promise<PlanStep[]>;
}

export type PhaseRegistry = Readonly<Record<PhaseName, Phase>>;

export interface EngineFlags {
  /** Print the plan; change nothing (no journal record, no lock). */
  readonly dryRun?: boolean;
  /** Skip every typed confirmation (protected env name, the "go" at the write switch). */
  readonly yes?: boolean;
  /** Take the lock from a holder that cannot be proven alive (another host), with a warning. */
  readonly forceUnlock?: boolean;
}

export interface EngineDeps {
  readonly env: ResolvedEnvironment;
  /** The platform, or how to make it (made once, on first use). */
  readonly platform: Platform | (() => Promise<Platform>);
  readonly out: Output;
  readonly journal: JournalStore;
  readonly lock: LockStore;
  readonly phases: PhaseRegistry | (() => Promise<PhaseRegistry>);
  readonly rollback?: RollbackRunner | (() => Promise<RollbackRunner>);
  /** The command as the lock names it, e.g. `cutover shift`. @default 'cutover' */
  readonly command?: string;
  readonly flags?: EngineFlags;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default noPrompter (every confirmation aborts unless --yes) */
  readonly prompter?: Prompter;
  readonly signal?: AbortSignal;
  /** @default the current user, host and pid */
  readonly identity?: OperatorIdentity;
  /** The `--config` path as the operator gave it, repeated in `fix`/`next` command lines. @default - none (the default config) */
  readonly configFile?: string;
  /** How long `rollback` waits for a pre-empted lock holder to stop after SIGINT. @default 60000 */
  readonly preemptTimeoutMs?: number;
}

export interface PhaseRun {
  readonly phase: PhaseName | 'rollback' | StandaloneStep['name'];
  readonly ok: boolean;
  readonly dryRun: boolean;
  /** True when this run picked up a run interrupted earlier. */
  readonly resumed: boolean;
  readonly plan: PlanStep[];
  readonly apply?: PhaseOutcome;
  readonly verify?: PhaseOutcome;
  /** Dry-run only: the refusal a real run would meet now. */
  readonly wouldRefuse?: CutoverError;
}

export interface RunAllResult {
  readonly ok: boolean;
  readonly runs: PhaseRun[];
  /** The phase the walk stopped at when `ok` is false. */
  readonly stoppedAt?: PhaseName;
}

/** What a non-phase action (replicate stop, restore) declares so the engine can plan, confirm, lock and journal it. */
export interface ActionSpec {
  readonly phase: string;
  readonly action: string;
  readonly inputs?: Record<string, unknown>;
  readonly mutates: boolean;
  readonly plan: PlanStep[];
}

/**
 * Codes of errors that stop a run before it got going: bad input, config, no connection. Such a
 * run is journaled as refused (`run info`, `inputs.refused`) when no step of it had finished, so
 * it does not mark a healthy phase failed (journal-history.ts).
 */
const REFUSAL_CODES: ReadonlySet<string> = new Set(['USAGE', 'CONFIG_INVALID', 'CONFIG_NOT_FOUND', 'ENV_UNKNOWN', 'MAPPING_INVALID', 'MAPPING_UNSUPPORTED', 'CONNECTION_FAILED', 'AUTH_FAILED', 'NOT_SUPPORTED']);

/**
 * The engine alone owns ordering, gates, journaling, confirmation, dry-run and resume; phases are
 * plain plan/apply/verify/rollback objects (phase.ts). One Engine serves one command.
 */
export class Engine {
  private readonly env: ResolvedEnvironment;
  private readonly out: Output;
  private readonly journal: JournalStore;
  private readonly lock: LockStore;
  private readonly clock: Clock;
  private readonly prompter: Prompter;
  private readonly flags: EngineFlags;
  private readonly identity: OperatorIdentity;
  private readonly command: string;
  private readonly signal: AbortSignal;
  private platformPromise: Promise<Platform> | null = null;
  private phasesPromise: Promise<PhaseRegistry> | null = null;
  /** Set while this engine holds the operator lock (re-entrant for `run`). */
  private lockDepth = 0;

  constructor(private readonly deps: EngineDeps) {
    this.env = deps.env;
    this.out = deps.out;
    this.journal = deps.journal;
    this.lock = deps.lock;
    this.clock = deps.clock ?? systemClock;
    this.prompter = deps.prompter ?? noPrompter;
    this.flags = deps.flags ?? {};
    this.identity = deps.identity ?? currentOperator();
    this.command = deps.command ?? 'cutover';
    this.signal = deps.signal ?? new AbortController().signal;
  }

  // ------------------------------------------------------------------ public API

  /**
   * Runs one phase: refuses it when a required phase has not verified, asks for confirmation
   * when it must, takes the lock, then plan → apply → verify with a journal record around each.
   * An interrupted earlier run is resumed. With `verify: false` the phase is applied only
   * (`replicate start` returns once the worker is healthy; `replicate wait` verifies).
   * Returns the outcome; a gate that said no is `ok: false`, not an exception.
   */
  async runPhase(name: PhaseName, options: Record<string, unknown> = {}, how: { verify?: boolean; lock?: boolean } = {}): Promise<PhaseRun> {
    const phase = await this.phase(name);
    if (this.flags.dryRun) return this.dryRunPhase(phase, options, await this.journal.readAll(), new Set());
    this.checkOrder(phase, await this.journal.readAll(), options);
    const mutates = phaseMutates(phase, options);
    await this.confirm({ envName: mutates, go: name === 'switch', what: phase.command });
    const body = async () => {
      const records = await this.journal.readAll();
      this.checkOrder(phase, records, options);
      return this.execute(phase, options, records, how.verify ?? true);
    };
    return mutates && how.lock !== false ? this.withLock(this.command, body) : body();
  }

  /** Runs only the gate of a phase (e.g. `replicate wait`), journaled like any verify. */
  async verifyPhase(name: PhaseName, options: Record<string, unknown> = {}): Promise<PhaseRun> {
    const phase = await this.phase(name);
    const records = await this.journal.readAll();
    const sj = this.stepJournal(phase.name, []);
    const ctx = await this.context(options, sj, records);
    if (this.flags.dryRun) {
      this.out.step(name, `verify: would evaluate the ${name} gate (no state is changed)`);
      return { phase: name, ok: true, dryRun: true, resumed: false, plan: [] };
    }
    const verify = await this.journaled(name, 'verify', options, sj, () => phase.verify(ctx), { refusable: true });
    return { phase: name, ok: verify.ok, dryRun: false, resumed: false, plan: [], verify };
  }

  /** `cutover run`: every phase not yet verified, in order, with its gates; a typed "go" before the write switch. */
  async runAll(options: Record<string, unknown> = {}): Promise<RunAllResult> {
    const registry = await this.registry();
    if (this.flags.dryRun) {
      const records = await this.journal.readAll();
      const assumed = new Set<PhaseName>(verifiedPhases(records).keys());
      const runs: PhaseRun[] = [];
      for (const name of PHASE_ORDER) {
        if (assumed.has(name) && !unfinishedRun(records, name)) {
          this.out.ok(name, 'already verified: would be skipped');
          continue;
        }
        try {
          // one result document for the whole walk (cli/phase-exit.ts runAllExit prints it)
          runs.push(await this.dryRunPhase(registry[name], options, records, assumed, { result: false }));
        } catch (err) {
          // one plan that cannot be made now (no router yet, say) does not hide the others, but the
          // walk's result says a real run would stop there
          const e = asCutoverError(err);
          this.out.warn(name, `plan unavailable: ${e.message}`);
          runs.push({ phase: name, ok: false, dryRun: true, resumed: false, plan: [], wouldRefuse: e });
        }
        assumed.add(name);
      }
      return { ok: true, runs };
    }
    await this.confirm({ envName: true, go: false, what: 'cutover run' });
    return this.withLock(this.command, async () => {
      const runs: PhaseRun[] = [];
      for (const name of PHASE_ORDER) {
        if (this.signal.aborted) throw new CutoverError('ABORTED', `cutover run interrupted before ${name}`, { fix: `re-run \`${this.cli('cutover run')}\`: it resumes where it stopped` });
        const records = await this.journal.readAll();
        const verified = verifiedPhases(records).get(name);
        if (verified && !unfinishedRun(records, name)) {
          this.out.ok(name, `already verified at ${verified.time}: skipped`);
          continue;
        }
        const phase = registry[name];
        this.checkOrder(phase, records, options);
        if (name === 'switch') await this.confirm({ envName: false, go: true, what: phase.command });
        const run = await this.execute(phase, options, records, true);
        runs.push(run);
        if (!run.ok) return { ok: false, runs, stoppedAt: name };
      }
      this.out.ok('run', 'every phase verified: the cutover is complete');
      return { ok: true, runs };
    });
  }

  /**
   * Back to blue from any phase (lib/traffic/rollback.ts does the work). Takes over a lock whose
   * holder is provably dead; resumes an interrupted rollback; safe to run twice.
   */
  async rollback(options: Record<string, unknown> = {}): Promise<PhaseRun> {
    const runner = await this.rollbackRunner();
    const records = await this.journal.readAll();
    if (this.flags.dryRun) {
      const ctx = await this.context(options, this.stepJournal('rollback', []), records, true);
      const plan = await runner.plan(ctx);
      this.printPlan('rollback', plan);
      this.out.result({ dryRun: true, phase: 'rollback', plan }, `dry-run: rollback would run ${plan.length} step(s); nothing was changed`);
      return { phase: 'rollback', ok: true, dryRun: true, resumed: false, plan };
    }
    await this.confirm({ envName: true, go: false, what: 'cutover rollback' });
    await this.preemptHolder();
    return this.withLock(
      this.command,
      async () => {
        const fresh = await this.journal.readAll();
        const unfinished = unfinishedRun(fresh, 'rollback');
        const sj = this.stepJournal('rollback', unfinished?.completedSteps ?? []);
        const ctx = await this.context(options, sj, fresh);
        await this.startRun('rollback', options, unfinished?.started ?? null);
        let outcome: PhaseOutcome;
        try {
          outcome = await runner.run(ctx);
        } catch (err) {
          await sj.flush();
          const refused = this.refusedCode(err, sj);
          await this.record(
            refused
              ? { phase: 'rollback', action: 'run', status: 'info', inputs: { refused, ...(unfinished ? { resumed: true } : {}) }, result: errorResult(err) }
              : { phase: 'rollback', action: 'run', status: 'failed', result: this.failure(errorResult(err)) },
          );
          throw err;
        }
        await sj.flush();
        await this.record({ phase: 'rollback', action: 'run', status: outcome.ok ? 'ok' : 'failed', figures: outcome.figures, result: outcome.ok ? { summary: outcome.summary, detail: smallResult(outcome.result) } : this.failure({ summary: outcome.summary, detail: smallResult(outcome.result) }) });
        this.report('rollback', outcome);
        return { phase: 'rollback', ok: outcome.ok, dryRun: false, resumed: unfinished !== null, plan: [], apply: outcome };
      },
      { takeOverStale: true },
    );
  }

  /**
   * A step outside the phase order (`cancel`): its refusal (from the journal) before anything is
   * confirmed or locked, then plan → apply → verify journaled like a phase run; dry-run prints
   * the plan and the refusal a real run would meet. Idempotent steps resume by re-running.
   */
  async runStandalone(step: StandaloneStep, options: Record<string, unknown> = {}): Promise<PhaseRun> {
    const refusal = (records: readonly JournalRecord[]) => step.refusal?.({ env: this.env, options, history: records, commandLine: (command) => this.cli(command) }) ?? null;
    if (this.flags.dryRun) {
      const records = await this.journal.readAll();
      const ctx = await this.context(options, this.stepJournal(step.name, []), records, true);
      const wouldRefuse = refusal(records) ?? undefined;
      const plan = wouldRefuse ? [] : await step.plan(ctx);
      this.printPlan(step.name, plan);
      if (wouldRefuse) this.out.warn(step.name, `a real run would be refused now: ${wouldRefuse.message}; ${wouldRefuse.details.fix ?? ''}`);
      this.out.result({ dryRun: true, phase: step.name, plan, wouldRefuse: wouldRefuse?.toJSON() ?? null }, `dry-run: ${step.name} would run ${plan.length} step(s); nothing was changed`);
      return { phase: step.name, ok: !wouldRefuse, dryRun: true, resumed: false, plan, wouldRefuse };
    }
    const early = refusal(await this.journal.readAll());
    if (early) throw early;
    await this.confirm({ envName: true, go: false, what: step.command });
    return this.withLock(this.command, async () => {
      const records = await this.journal.readAll();
      const problem = refusal(records);
      if (problem) throw problem;
      return this.execute(step, options, records, true);
    });
  }

  /**
   * A state-changing action that is not a whole phase (`replicate stop`, `restore`): dry-run
   * prints `spec.plan`; otherwise confirmation, lock and a started/ok/failed journal pair.
   */
  async runAction<T>(spec: ActionSpec, fn: (ctx: PhaseContext) => Promise<T>): Promise<T | undefined> {
    if (this.flags.dryRun) {
      this.printPlan(spec.phase, spec.plan);
      this.out.result({ dryRun: true, phase: spec.phase, action: spec.action, plan: spec.plan }, `dry-run: ${spec.phase} ${spec.action} would run ${spec.plan.length} step(s); nothing was changed`);
      return undefined;
    }
    if (spec.mutates) await this.confirm({ envName: true, go: false, what: `cutover ${spec.phase} ${spec.action}` });
    const body = async () => {
      const records = await this.journal.readAll();
      const sj = this.stepJournal(spec.phase, []);
      const ctx = await this.context(spec.inputs ?? {}, sj, records);
      return this.journaled(spec.phase, spec.action, spec.inputs ?? {}, sj, async () => fn(ctx));
    };
    return spec.mutates ? this.withLock(this.command, body) : body();
  }

  /** Where things stand: journal plus live platform reads (each bounded, none required). */
  async status(): Promise<StatusReport> {
    return buildStatus({
      env: this.env,
      records: await this.journal.readAll(),
      journalLocation: this.journal.location,
      lock: await this.lock.current(),
      phases: await this.registry().catch(() => null),
      platform: () => this.platform(),
      now: this.clock.now(),
      configFile: this.deps.configFile,
    });
  }

  /** `cutover unlock --force`: removes the lock of a holder that is provably dead (or, forced, on another host). */
  async unlock(force: boolean): Promise<LockHolder | null> {
    const holder = await this.lock.current();
    if (!holder) {
      this.out.info('lock', 'no lock is held');
      return null;
    }
    if (!force) {
      throw new CutoverError('USAGE', `unlock removes ${describeHolder(holder)} only with --force`, { fix: commandLine('cutover unlock', this.env.name, this.deps.configFile, ' --force') });
    }
    if (this.flags.dryRun) {
      this.out.step('lock', `would remove the lock of ${describeHolder(holder)}`);
      return holder;
    }
    const dead = isProvablyDead(holder);
    const aliveHere = !dead && holder.host === this.identity.host && holder.pid !== this.identity.pid;
    this.out.warn(
      'lock',
      dead
        ? `taking the lock of a process that is not running: ${describeHolder(holder)}`
        : aliveHere
          ? `FORCING the lock of a process that is STILL RUNNING: ${describeHolder(holder)}. It is not stopped and may still change things; stop it (Ctrl-C in its terminal, or kill ${holder.pid}). In an emergency \`${this.cli('cutover rollback')}\` stops it for you`
          : `FORCING the lock of a holder that cannot be proven dead: ${describeHolder(holder)}`,
    );
    // told to force: free the lock whoever holds it (the warning above said what that means)
    await this.lock.acquire(this.holder('cutover unlock'), { takeOverStale: true, force: true, override: true });
    await this.record({ phase: 'engine', action: 'lock.force-unlock', status: 'info', inputs: { previous: holder, provablyDead: dead } });
    await this.lock.release();
    this.out.ok('lock', 'lock removed');
    return holder;
  }

  /** The platform (made on first use). */
  platform(): Promise<Platform> {
    this.platformPromise ??= typeof this.deps.platform === 'function' ? this.deps.platform() : Promise.resolve(this.deps.platform);
    return this.platformPromise;
  }

  /** Closes the platform if it was made. */
  async close(): Promise<void> {
    if (!this.platformPromise) return;
    const p = await this.platformPromise.catch(() => null);
    await p?.close().catch(() => {});
  }

  // ------------------------------------------------------------------ ordering and confirmation

  private checkOrder(phase: Phase, records: readonly JournalRecord[], options: Record<string, unknown>): void {
    const problem = this.orderProblem(phase, records, new Set()) ?? this.refusal(phase, options, records);
    if (problem) throw problem;
  }

  /** The phase's own refusal of these options now (phase.ts `refusal`), or null. */
  private refusal(phase: Phase, options: Record<string, unknown>, records: readonly JournalRecord[]): CutoverError | null {
    return phase.refusal?.({ env: this.env, options, history: records, commandLine: (command) => this.cli(command) }) ?? null;
  }

  /** Null when every required phase has verified (or is assumed to, in a dry-run walk). */
  private orderProblem(phase: Phase, records: readonly JournalRecord[], assumed: ReadonlySet<PhaseName>): CutoverError | null {
    const verified = verifiedPhases(records);
    for (const req of phase.requires) {
      if (assumed.has(req)) continue;
      const v = verified.get(req);
      if (!v) {
        const command = this.commandFor(req);
        return new CutoverError('PHASE_OUT_OF_ORDER', `${phase.name} needs ${req} to have verified first, and it has not`, {
          received: phase.name,
          allowed: `after ${req}`,
          fix: `run \`${command}\` first (then \`${this.cli('cutover status')}\` shows the next step)`,
        });
      }
      if (req === 'validate') {
        const maxAge = this.env.gates.maxValidationAgeSeconds;
        const ageSeconds = (this.clock.now().getTime() - Date.parse(v.time)) / 1000;
        if (ageSeconds > maxAge) {
          return new CutoverError('GATE_FAILED', `the last passing validation is ${Math.round(ageSeconds)} s old, more than gates.maxValidationAgeSeconds (${maxAge} s)`, {
            received: v.time,
            fix: `run \`${this.commandFor('validate')}\` again`,
          });
        }
      }
    }
    return null;
  }

  private phaseCommands = new Map<PhaseName, string>();

  /** `npx cutover snapshot --env lab` (with `--config` when the command was given one). */
  private commandFor(name: PhaseName): string {
    return this.cli(this.phaseCommands.get(name) ?? `cutover ${name}`);
  }

  private cli(command: string): string {
    return commandLine(command, this.env.name, this.deps.configFile);
  }

  private async confirm(need: { envName: boolean; go: boolean; what: string }): Promise<void> {
    if (this.flags.yes) return;
    const askEnv = need.envName && this.env.isProtected;
    if (!askEnv && !need.go) return;
    if (!this.prompter.interactive) {
      throw new CutoverError('ABORTED', `${need.what} needs a typed confirmation${askEnv ? ` (${this.env.name} is protected)` : ' (the write switch)'}, and there is no terminal to ask`, {
        fix: `run it in a terminal and answer, or pass --yes if this is intended`,
      });
    }
    if (askEnv) {
      const answer = (await this.prompter.ask(`${need.what} changes the protected environment "${this.env.name}". Type its name to continue: `)).trim();
      if (answer !== this.env.name) {
        throw new CutoverError('ABORTED', `confirmation did not match: nothing was changed`, { received: answer, allowed: this.env.name });
      }
    }
    if (need.go) {
      const answer = (await this.prompter.ask(`About to switch WRITES to green in "${this.env.name}". Type go to continue: `)).trim();
      if (answer !== 'go') throw new CutoverError('ABORTED', 'the write switch was not confirmed: nothing was changed', { received: answer, allowed: 'go' });
    }
  }

  // ------------------------------------------------------------------ lock

  /**
   * Rollback is the one command that may stop another: a live holder on this host (a 30-minute
   * shift, say) gets SIGINT, stops at its next safe point and releases the lock; we wait for
   * that, bounded. Another rollback is never pre-empted; a holder on another host cannot be.
   */
  private async preemptHolder(): Promise<void> {
    const holder = await this.lock.current();
    if (!holder || holder.host !== this.identity.host || holder.pid === this.identity.pid || isProvablyDead(holder)) return;
    if (holder.command === this.command) return; // another rollback: withLock says LOCKED
    const timeoutMs = this.deps.preemptTimeoutMs ?? 60_000;
    this.out.warn('lock', `rollback stops ${describeHolder(holder)}: sending it SIGINT (it stops at its next safe point) and waiting up to ${Math.round(timeoutMs / 1000)} s for the lock`);
    await this.record({ phase: 'engine', action: 'lock.preempt', status: 'info', inputs: { holder, timeoutMs } });
    try {
      process.kill(holder.pid, 'SIGINT');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return; // gone meanwhile: withLock takes over
      throw new CutoverError('LOCKED', `cannot signal ${describeHolder(holder)}: ${(err as Error).message}`, {
        received: holder.pid,
        fix: `press Ctrl-C in the terminal running "${holder.command}" (pid ${holder.pid}), or kill ${holder.pid} as its user; then \`${this.cli('cutover rollback')}\``,
      });
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.lock.current();
      if (!now || now.pid !== holder.pid || now.since !== holder.since || isProvablyDead(now)) {
        this.out.info('lock', `pid ${holder.pid} let go of the lock: rolling back`);
        return;
      }
      if (Date.now() >= deadline) break;
      await delay(Math.min(200, Math.max(1, deadline - Date.now())));
    }
    throw new CutoverError('LOCKED', `${describeHolder(holder)} did not stop within ${Math.round(timeoutMs / 1000)} s of SIGINT`, {
      received: holder.pid,
      fix: `press Ctrl-C in the terminal running "${holder.command}" (pid ${holder.pid}), or \`kill ${holder.pid}\`; then run \`${this.cli('cutover rollback')}\` again`,
    });
  }

  private holder(command: string): LockHolder {
    return { ...this.identity, command, since: this.clock.now().toISOString() };
  }

  private async withLock<T>(command: string, fn: () => Promise<T>, opts: { takeOverStale?: boolean } = {}): Promise<T> {
    if (this.lockDepth > 0) {
      this.lockDepth++;
      try {
        return await fn();
      } finally {
        this.lockDepth--;
      }
    }
    const before = await this.lock.current();
    const stale = before !== null && isProvablyDead(before);
    // Re-running the command a dead holder was running is a resume; `run` resumes any phase.
    const resume = stale && (before.command === command || command === 'cutover run');
    await this.lock.acquire(this.holder(command), { takeOverStale: opts.takeOverStale || resume || this.flags.forceUnlock, force: this.flags.forceUnlock });
    this.lockDepth = 1;
    try {
      if (before && (before.pid !== this.identity.pid || before.host !== this.identity.host)) {
        this.out.warn('lock', `took over the lock of ${describeHolder(before)}${stale ? ' (that process is not running)' : ' (forced)'}`);
        await this.record({ phase: 'engine', action: 'lock.takeover', status: 'info', inputs: { previous: before, provablyDead: stale } });
      }
      return await fn();
    } finally {
      this.lockDepth = 0;
      await this.lock.release();
    }
  }

  // ------------------------------------------------------------------ running

  private async execute(phase: Pick<Phase, 'plan' | 'apply' | 'verify'> & { readonly name: PhaseName | StandaloneStep['name'] }, options: Record<string, unknown>, records: readonly JournalRecord[], doVerify: boolean): Promise<PhaseRun> {
    const unfinished = unfinishedRun(records, phase.name);
    const sj = this.stepJournal(phase.name, unfinished?.completedSteps ?? []);
    const ctx = await this.context(options, sj, records);
    await this.startRun(phase.name, options, unfinished?.started ?? null);
    try {
      const plan = await phase.plan(ctx);
      await this.record({ phase: phase.name, action: 'plan', status: 'info', result: plan });
      const apply = await this.journaled(phase.name, 'apply', options, sj, () => phase.apply(ctx), { refusable: true });
      this.report(phase.name, apply);
      if (!apply.ok) {
        await this.record({ phase: phase.name, action: 'run', status: 'failed', result: this.failure({ summary: apply.summary }) });
        return { phase: phase.name, ok: false, dryRun: false, resumed: unfinished !== null, plan, apply };
      }
      let verify: PhaseOutcome | undefined;
      if (doVerify) {
        verify = await this.journaled(phase.name, 'verify', options, sj, () => phase.verify(ctx));
        this.report(phase.name, verify, 'gate');
      }
      const ok = verify?.ok ?? true;
      // a partial check (validate --table) is journaled as such and never verifies the phase
      const partial = (verify ?? apply).figures?.partial === true ? { partial: true } : {};
      await this.record({
        phase: phase.name,
        action: 'run',
        status: ok ? 'ok' : 'failed',
        result: ok ? { summary: (verify ?? apply).summary } : this.failure({ summary: (verify ?? apply).summary }),
        figures: { verified: verify?.ok ?? false, ...partial },
      });
      return { phase: phase.name, ok, dryRun: false, resumed: unfinished !== null, plan, apply, verify };
    } catch (err) {
      const refused = this.refusedCode(err, sj);
      const closing = refused
        ? this.record({ phase: phase.name, action: 'run', status: 'info', inputs: { refused, ...(unfinished ? { resumed: true } : {}) }, result: errorResult(err) })
        : this.record({ phase: phase.name, action: 'run', status: 'failed', result: this.failure(errorResult(err)) });
      await closing.catch(() => {});
      throw err;
    }
  }

  /** The code when `err` stopped a run before any of its steps finished (bad input, no connection), else null. */
  private refusedCode(err: unknown, sj: PhaseStepJournal): string | null {
    const e = asCutoverError(err);
    return (REFUSAL_CODES.has(e.code) || e.details.changedNothing === true) && sj.stepsDoneHere() === 0 && !this.signal.aborted ? e.code : null;
  }

  /** A failed run's result, marked `stopped` when the operator stopped it (Ctrl-C, a pre-empting rollback). */
  private failure(result: Record<string, unknown>): Record<string, unknown> {
    return this.signal.aborted ? { ...result, stopped: true } : result;
  }

  private async startRun(phase: string, options: Record<string, unknown>, interrupted: JournalRecord | null): Promise<void> {
    if (interrupted) {
      this.out.warn(phase, `resuming the run started at ${interrupted.time} by pid ${interrupted.pid} on ${interrupted.host}, which did not finish`);
      await this.record({ phase, action: 'resume', status: 'info', inputs: { ...options, interruptedSeq: interrupted.seq, interruptedPid: interrupted.pid } });
    } else {
      await this.record({ phase, action: 'run', status: 'started', inputs: options });
    }
  }

  /** started → fn → ok/failed (by outcome.ok); an exception is journaled as failed and rethrown. */
  private async journaled<T>(phase: string, action: string, inputs: Record<string, unknown>, sj: PhaseStepJournal, fn: () => Promise<T>, how: { refusable?: boolean } = {}): Promise<T> {
    await this.record({ phase, action, status: 'started', inputs });
    const t0 = Date.now();
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      await sj.flush();
      const e = asCutoverError(err);
      // a gate that could not even be evaluated (no connection) did not say no
      const refused = how.refusable ? this.refusedCode(e, sj) : null;
      await this.record({ phase, action, status: refused ? 'info' : 'failed', ...(refused ? { inputs: { ...inputs, refused } } : {}), result: errorResult(e), figures: { durationMs: Date.now() - t0 } });
      throw err;
    }
    await sj.flush();
    const outcome = value as Partial<PhaseOutcome> | undefined;
    const isOutcome = outcome !== null && typeof outcome === 'object' && typeof outcome.ok === 'boolean';
    await this.record({
      phase,
      action,
      status: !isOutcome || outcome.ok ? 'ok' : 'failed',
      figures: { durationMs: Date.now() - t0, ...(isOutcome ? outcome.figures : {}) },
      result: isOutcome ? { ok: outcome.ok, summary: outcome.summary, detail: smallResult(outcome.result) } : smallResult(value),
    });
    return value;
  }

  private async dryRunPhase(phase: Phase, options: Record<string, unknown>, records: readonly JournalRecord[], assumed: ReadonlySet<PhaseName>, how: { result?: boolean } = {}): Promise<PhaseRun> {
    const ctx = await this.context(options, this.stepJournal(phase.name, []), records, true);
    const plan = await phase.plan(ctx);
    this.printPlan(phase.name, plan);
    const wouldRefuse = this.orderProblem(phase, records, assumed) ?? this.refusal(phase, options, records) ?? undefined;
    if (wouldRefuse) this.out.warn(phase.name, `a real run would be refused now: ${wouldRefuse.message}; ${wouldRefuse.details.fix ?? ''}`);
    if (how.result !== false) {
      this.out.result(
        { dryRun: true, phase: phase.name, plan, wouldRefuse: wouldRefuse?.toJSON() ?? null },
        `dry-run: ${phase.name} would run ${plan.length} step(s); nothing was changed`,
      );
    }
    return { phase: phase.name, ok: !wouldRefuse, dryRun: true, resumed: false, plan, wouldRefuse };
  }

  private printPlan(topic: string, plan: readonly PlanStep[]): void {
    plan.forEach((s, i) => this.out.step(topic, `${i + 1}. ${s.action} -> ${s.target}${s.detail ? ` (${s.detail})` : ''}`));
  }

  private report(topic: string, outcome: PhaseOutcome, what = 'apply'): void {
    if (outcome.ok) this.out.ok(topic, `${what}: ${outcome.summary}`);
    else this.out.error(topic, `${what} said no: ${outcome.summary}`);
  }

  // ------------------------------------------------------------------ plumbing

  private stepJournal(phase: string, completed: readonly string[]): PhaseStepJournal {
    // dry-run contexts get a journal that writes nothing
    const append = this.flags.dryRun ? async (r: Partial<NewJournalRecord>) => ({ seq: 0, ...this.base(), ...r }) as JournalRecord : (r: Partial<NewJournalRecord>) => this.record(r as Pick<NewJournalRecord, 'phase' | 'action' | 'status'>);
    return new PhaseStepJournal(append, phase, completed);
  }

  private async context(options: Record<string, unknown>, journal: PhaseStepJournal, records: readonly JournalRecord[], _planOnly = false): Promise<PhaseContext> {
    return {
      env: this.env,
      platform: await this.platform(),
      out: this.out,
      journal,
      clock: this.clock,
      signal: this.signal,
      // the traffic gates judge the age of the last passing validation (lib/traffic/traffic-inputs.ts)
      options: { lastValidationAt: verifiedPhases(records).get('validate')?.time, ...options, dryRun: this.flags.dryRun ?? false },
      history: records,
    };
  }

  private base(): Omit<NewJournalRecord, 'phase' | 'action' | 'status'> {
    return { time: this.clock.now().toISOString(), operator: this.identity.operator, host: this.identity.host, pid: this.identity.pid, env: this.env.name };
  }

  private record(r: Pick<NewJournalRecord, 'phase' | 'action' | 'status'> & Partial<NewJournalRecord>): Promise<JournalRecord> {
    if (this.flags.dryRun) throw new CutoverError('INTERNAL', `dry-run tried to journal ${r.phase} ${r.action}`);
    const clean = Object.fromEntries(Object.entries({ ...this.base(), ...r }).filter(([, v]) => v !== undefined)) as NewJournalRecord;
    return this.journal.append(clean);
  }

  private registry(): Promise<PhaseRegistry> {
    this.phasesPromise ??= (typeof this.deps.phases === 'function' ? this.deps.phases() : Promise.resolve(this.deps.phases)).then((r) => {
      for (const name of PHASE_ORDER) if (r[name]) this.phaseCommands.set(name, r[name].command);
      return r;
    });
    return this.phasesPromise;
  }

  private async phase(name: PhaseName): Promise<Phase> {
    if (!isPhaseName(name)) throw new CutoverError('USAGE', `unknown phase ${name}`, { allowed: PHASE_ORDER.join(', ') });
    const p = (await this.registry())[name];
    if (!p) throw new CutoverError('NOT_SUPPORTED', `phase ${name} is not available in this build`);
    return p;
  }

  private async rollbackRunner(): Promise<RollbackRunner> {
    const r = this.deps.rollback;
    if (!r) throw new CutoverError('NOT_SUPPORTED', 'rollback is not available: no rollback runner was given to the engine');
    return typeof r === 'function' ? r() : r;
  }
}
