import path from 'node:path';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { Engine, type PhaseRun } from '../engine/engine.ts';
import { FileJournalStore } from '../engine/file-journal-store.ts';
import { FileLockStore } from '../engine/file-lock-store.ts';
import type { PhaseName } from '../engine/phase.ts';
import { asCutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Platform, ReplicationStatus, ValidationReport } from '../platform/roles.ts';
import { figuresFromRun } from '../estimate/figures-from-run.ts';
import { forecast } from '../estimate/forecast.ts';
import { writeRehearsalFigures } from '../estimate/rehearsal-figures.ts';
import { loadPhaseRegistry, loadRollbackRunner } from '../phases/registry.ts';
import { createPlatform } from '../platform/create-platform.ts';
import type { DemoSystems } from './demo-systems.ts';
import type { FaultName } from './rehearse-options.ts';
import { type PhaseRecord, type RehearsalEstimate, type RehearsalReport } from './report.ts';
import { TimelineSampler } from './timeline-sampler.ts';

type RunResult = Pick<RehearsalReport, 'requests' | 'ledger' | 'validation' | 'switch' | 'rollback' | 'phases' | 'assess' | 'timeline' | 'estimate'>;

export interface RehearsalRunDeps {
  readonly env: ResolvedPostgresEnvironment;
  readonly demo: DemoSystems;
  readonly out: Output;
  readonly fault: FaultName | null;
  readonly rate: number;
  readonly seed: number;
  readonly t0: number;
  /** Demo size, recorded with the figures. */
  readonly orders?: number;
}

const RUNBOOK: readonly PhaseName[] = ['assess', 'snapshot', 'replicate', 'validate', 'shift', 'switch', 'bake', 'finalize'];

/**
 * Drives the real runbook engine over the rehearsal environment under live load, injecting the
 * chosen fault, and gathers what the report needs. The engine owns order, journal and gates;
 * this class only decides when to start the load, when to inject a fault and when to stop.
 */
export class RehearsalRun {
  private platform: Platform | null = null;
  private engine: Engine | null = null;
  private readonly phases = new Map<string, PhaseRecord>();
  private lastValidation: ValidationReport | null = null;
  private sampler: TimelineSampler | null = null;

  constructor(private readonly d: RehearsalRunDeps) {
    for (const name of RUNBOOK) this.phases.set(name, { name, start: null, end: null, outcome: 'not-run', summary: 'not run' });
  }

  async execute(): Promise<RunResult> {
    const { env, out, demo } = this.d;
    this.platform = await createPlatform(env, out);
    const platform = this.platform;
    this.engine = new Engine({
      env,
      platform,
      out,
      journal: new FileJournalStore(path.join(env.stateDir, 'journal.jsonl')),
      lock: new FileLockStore(path.join(env.stateDir, 'lock.json')),
      phases: () => loadPhaseRegistry(),
      rollback: () => loadRollbackRunner(),
      command: 'cutover rehearse',
      flags: { yes: true },
    });

    this.sampler = new TimelineSampler(platform.router, () => platform.forward, this.d.t0);
    this.sampler.start(1000);
    out.info('rehearse', `load generator: ${this.d.rate} req/s through the router (reads and writes)`);
    demo.load.start();

    let rolledBack = false;
    let rollbackSeconds: number | null = null;
    let greenEraWrites: number | null = null;
    let holdFigures: { p50: number | null; p99: number | null; max: number | null; held: number } = { p50: null, p99: null, max: null, held: 0 };
    try {
      for (const name of RUNBOOK) {
        const run = await this.runPhase(name);
        if (name === 'switch' && run?.apply?.figures) holdFigures = holdFrom(run.apply.figures);
        // forward replication's own figures (load times, apply capacity) while CDC still runs
        if (name === 'validate') this.replicationFigures = await platform.forward.status().catch(() => null);
        if (run === null) {
          out.warn('rehearse', `phase ${name} is not built yet: the phases after it are shown as not run`);
          break;
        }
        if (!run.ok) {
          if (name === 'shift' && this.d.fault === 'green-errors') {
            // rolled back by its own gate only if the shift itself put reads back on blue: read the
            // router now, before the rollback below moves anything (the report tells them apart)
            const after = await platform.router.state().catch(() => null);
            const byGate = run.apply?.figures?.failedAtWeight !== undefined && after?.readWeightGreen === 0;
            this.mark('shift', {
              outcome: byGate ? 'rolled-back' : 'failed',
              figures: { ...(run.apply?.figures ?? {}), readWeightGreenBeforeRollback: after?.readWeightGreen ?? null },
            });
          }
          out.warn('rehearse', `phase ${name} did not pass: rolling back to blue`);
          ({ seconds: rollbackSeconds, greenEraWrites } = await this.rollback());
          rolledBack = true;
          break;
        }
        if (name === 'switch' && this.d.fault === 'rollback-after-switch') {
          out.info('rehearse', 'fault rollback-after-switch: 5 s of writes on green, then the operator rolls back');
          await sleep(5000);
          ({ seconds: rollbackSeconds, greenEraWrites } = await this.rollback());
          rolledBack = true;
          break;
        }
      }
    } catch (err) {
      const e = asCutoverError(err);
      out.error('rehearse', e.describe());
      if (!rolledBack) {
        ({ seconds: rollbackSeconds, greenEraWrites } = await this.rollback().catch(() => ({ seconds: null, greenEraWrites: null })));
        rolledBack = true;
      }
    }

    out.info('rehearse', 'stopping the load generator and waiting for requests in flight');
    const load = await demo.load.stop();
    await this.sampler.sample();
    this.sampler.stop();

    const state = await platform.router.state().catch(() => null);
    const checkedOn = state?.writeTarget ?? (rolledBack ? 'blue' : 'green');
    out.info('rehearse', `checking ${load.ledgerSize} acknowledged writes on ${checkedOn}`);
    const ledger = await demo.checkLedger(checkedOn);
    const estimate = await this.estimate().catch((err: unknown) => {
      out.warn('rehearse', `no forecast recorded: ${asCutoverError(err).message}`);
      return null;
    });
    return {
      estimate,
      requests: load.requests,
      ledger: { ...ledger, checkedOn },
      validation: {
        equal: this.lastValidation ? this.lastValidation.equal : null,
        tables: (this.lastValidation?.tables ?? []).map((t) => ({
          source: t.source,
          target: t.target,
          sourceRows: t.sourceRows,
          targetRows: t.targetRows,
          missing: t.missing.length,
          extra: t.extra.length,
          different: t.different.length,
          deadLetter: t.deadLetter?.length ?? 0,
        })),
      },
      switch: { writePauseMs: { p50: holdFigures.p50, p99: holdFigures.p99, max: holdFigures.max }, heldRequests: holdFigures.held },
      rollback: { ran: rolledBack, seconds: rollbackSeconds, greenEraWrites },
      phases: [...this.phases.values()],
      assess: this.assessFindings,
      timeline: this.sampler.samples,
    };
  }

  private assessFindings: RunResult['assess'] = null;
  private assessTables: { name: string; rows: number; bytes: number }[] = [];
  private replicationFigures: ReplicationStatus | null = null;

  /**
   * Records what this rehearsal measured in the state folder (for `cutover estimate` against
   * another environment later) and forecasts the rehearsal's own environment from it: every
   * figure `measured`, the no-go checks applied to the rehearsal itself.
   */
  private async estimate(): Promise<RehearsalEstimate> {
    const { env } = this.d;
    const seconds = (name: string) => {
      const p = this.phases.get(name);
      return p?.start && p.end && p.outcome === 'ok' ? (Date.parse(p.end) - Date.parse(p.start)) / 1000 : null;
    };
    const selected = new Set((this.replicationFigures?.tables ?? []).map((t) => t.source));
    const tables = this.assessTables.filter((t) => selected.has(t.name));
    const validateSeconds = seconds('validate');
    const rowsCompared = this.phases.get('validate')?.figures?.rowsCompared;
    const figures = figuresFromRun({
      orders: this.d.orders ?? 0,
      parallelTables: env.replication.parallelTables,
      tables,
      replication: this.replicationFigures,
      replicateSeconds: seconds('replicate'),
      validate: validateSeconds !== null && typeof rowsCompared === 'number' ? { seconds: validateSeconds, rowsCompared } : null,
      journal: await new FileJournalStore(path.join(env.stateDir, 'journal.jsonl')).readAll(),
    });
    const figuresFile = writeRehearsalFigures(env.stateDir, figures);
    const forecastOfItself = forecast(figures, { tables, writeChangesPerSec: figures.cdc.writeChangesPerSec, writeRateFrom: 'rehearsal', maxHoldMs: env.switch.maxHoldMs });
    return { figuresFile, figures, forecast: forecastOfItself };
  }

  private mark(name: string, patch: Partial<PhaseRecord>): void {
    const cur = this.phases.get(name) ?? { name, start: null, end: null, outcome: 'not-run' as const, summary: '' };
    this.phases.set(name, { ...cur, ...patch });
  }

  private async runPhase(name: PhaseName): Promise<PhaseRun | null> {
    const { out } = this.d;
    const engine = this.engine!;
    this.mark(name, { start: new Date().toISOString(), summary: 'running' });
    out.info('rehearse', `── phase ${name}`);
    try {
      let run: PhaseRun;
      if (name === 'replicate' && this.d.fault === 'kill-replicator') run = await this.replicateWithKill();
      else if (name === 'shift' && this.d.fault === 'green-errors') run = await this.shiftWithGreenErrors();
      else run = await engine.runPhase(name);
      const outcome = run.verify ?? run.apply;
      if (name === 'validate' && outcome?.result) this.lastValidation = outcome.result as ValidationReport;
      if (name === 'assess' && outcome?.result) {
        const r = outcome.result as { findings?: { id: string; count: number; severity: string; handling: string }[] };
        this.assessFindings = { findings: (r.findings ?? []).map((f) => ({ id: f.id, count: f.count, severity: f.severity, handling: f.handling })) };
        this.assessTables = ((outcome.result as { tables?: { name: string; rows: number; bytes: number }[] }).tables ?? []).map((t) => ({ name: t.name, rows: t.rows, bytes: t.bytes }));
      }
      this.mark(name, {
        end: new Date().toISOString(),
        outcome: run.ok ? 'ok' : 'failed',
        summary: [...new Set([run.apply?.summary, run.verify?.summary].filter(Boolean))].join(' / ') || (run.ok ? 'ok' : 'failed'),
        figures: { ...(run.apply?.figures ?? {}), ...(run.verify?.figures ?? {}) },
      });
      return run;
    } catch (err) {
      const e = asCutoverError(err);
      this.mark(name, { end: new Date().toISOString(), outcome: e.code === 'NOT_SUPPORTED' ? 'not-run' : 'failed', summary: e.message });
      if (e.code === 'NOT_SUPPORTED') {
        out.warn('rehearse', `phase ${name} is not available yet: ${e.message}`);
        return null;
      }
      throw err;
    }
  }

  /** kill-replicator: start the worker, kill -9 it during full load, re-run: it must resume. */
  private async replicateWithKill(): Promise<PhaseRun> {
    const { out } = this.d;
    const engine = this.engine!;
    const forward = this.platform!.forward;
    await engine.runPhase('replicate', {}, { verify: false });
    let killed = false;
    for (let i = 0; i < 400 && !killed; i++) {
      const s = await forward.status();
      const copied = s.tables.reduce((a, t) => a + t.rows, 0);
      // kill once the first chunks are committed, so the resume has checkpoints to honour
      if (s.worker?.alive && ((s.phase === 'full-load' && copied > 0) || s.phase === 'cdc')) {
        const where = s.phase === 'full-load' ? `during full load (${copied} rows copied)` : 'during CDC (full load had already finished)';
        process.kill(s.worker.pid, 'SIGKILL');
        out.warn('rehearse', `fault kill-replicator: kill -9 ${s.worker.pid} ${where}`);
        killed = true;
        break;
      }
      await sleep(10);
    }
    await sleep(500);
    out.info('rehearse', 're-running `cutover replicate start`: it must resume from its checkpoints');
    return engine.runPhase('replicate');
  }

  /** green-errors: green starts failing once reads reach it; the shift gates must send reads back. */
  private async shiftWithGreenErrors(): Promise<PhaseRun> {
    const { out, demo } = this.d;
    const router = this.platform!.router;
    let stop = false;
    const injector = (async () => {
      while (!stop) {
        const s = await router.state().catch(() => null);
        if (s && s.readWeightGreen > 0) {
          out.warn('rehearse', `fault green-errors: the green app now fails 50% of requests (reads at ${s.readWeightGreen}% green)`);
          demo.green.setFault({ errorRate: 0.5 });
          return;
        }
        await sleep(100);
      }
    })();
    try {
      return await this.engine!.runPhase('shift');
    } finally {
      stop = true;
      await injector;
      demo.green.setFault(null);
    }
  }

  private async rollback(): Promise<{ seconds: number; greenEraWrites: number | null }> {
    const { out } = this.d;
    const start = Date.now();
    this.mark('rollback', { start: new Date(start).toISOString(), summary: 'running' });
    out.info('rehearse', '── rollback');
    try {
      const run = await this.engine!.rollback();
      const seconds = (Date.now() - start) / 1000;
      const figures = run.apply?.figures ?? {};
      this.mark('rollback', { end: new Date().toISOString(), outcome: run.ok ? 'ok' : 'failed', summary: run.apply?.summary ?? '', figures });
      const ledger = (figures as { ledger?: { greenEraRowsTotal?: unknown } }).ledger;
      const g = ledger?.greenEraRowsTotal;
      return { seconds, greenEraWrites: typeof g === 'number' ? g : null };
    } catch (err) {
      const e = asCutoverError(err);
      this.mark('rollback', { end: new Date().toISOString(), outcome: 'failed', summary: e.message });
      throw err;
    }
  }

  async close(): Promise<void> {
    this.sampler?.stop();
    // stop replication workers first: they hold connections to both servers
    if (this.platform) {
      await this.platform.forward.stop().catch(() => {});
      await this.platform.reverse.stop().catch(() => {});
      await this.platform.close().catch(() => {});
    }
    await this.engine?.close().catch(() => {});
  }
}

/** The switch phase's figures: `writePauseMs` (the router's hold of this switch) and `released`. */
function holdFrom(figures: Readonly<Record<string, unknown>>): { p50: number | null; p99: number | null; max: number | null; held: number } {
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const hold = (figures.writePauseMs ?? {}) as Record<string, unknown>;
  return { p50: num(hold.p50), p99: num(hold.p99), max: num(hold.max), held: num(figures.released) ?? 0 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

