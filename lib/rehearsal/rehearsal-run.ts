import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
import type { FailureRecord } from '../demo/load-generator.ts';
import type { EmbeddedServer } from '../postgres/embedded-server.ts';
import type { Side } from '../platform/roles.ts';
import { type FaultInjection, type PhaseRecord, type RehearsalEstimate, type RehearsalReport } from './report.ts';
import { TimelineSampler } from './timeline-sampler.ts';
import { processAlive } from '../platform/process-liveness.ts';
import type { ShadowReport } from '../shadow/shadow-tally.ts';
import { setTimeout as sleep } from 'node:timers/promises';

type RunResult = Pick<RehearsalReport, 'demoPeakRssMiB' | 'demoStarvation' | 'requests' | 'ledger' | 'validation' | 'switch' | 'rollback' | 'phases' | 'assess' | 'timeline' | 'faults' | 'estimate' | 'shadow'>;

/** A fault injected, with the rule that says which client failures it caused itself (if any). */
interface Injection extends FaultInjection {
  until?: number;
  /** Epoch ms of the injection (`at` is relative to the start, for the charts). */
  readonly atEpoch: number;
  readonly attribute?: { readonly rule: string; readonly matches: (f: FailureRecord) => boolean };
}

const CLI = fileURLToPath(new URL('../../bin/cutover.mjs', import.meta.url));
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How long a restarted server stays down. */
const SERVER_DOWN_MS = 1500;

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
  /** The two servers (the restart faults restart one). */
  readonly servers: Readonly<Record<Side, Pick<EmbeddedServer, 'restart' | 'port'>>>;
  /** The rehearsal's config file (a fault runs `cutover switch` with it in another process). */
  readonly configFile: string;
}

const RUNBOOK: readonly PhaseName[] = ['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch', 'bake', 'finalize'];

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
  private readonly injections: Injection[] = [];

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
    await demo.load.start();

    let rolledBack = false;
    let rollbackSeconds: number | null = null;
    let greenEraWrites: number | null = null;
    let holdFigures: { p50: number | null; p99: number | null; max: number | null; held: number } = { p50: null, p99: null, max: null, held: 0 };
    try {
      for (const name of RUNBOOK) {
        // restarts under load while CDC runs: blue's once replication streams, green's before the shift
        if (name === 'validate' && this.d.fault === 'source-restart') await this.restartServer('blue');
        if (name === 'shift' && this.d.fault === 'target-restart') await this.restartServer('green');
        const run = await this.runPhase(name);
        if (name === 'switch' && run?.apply?.figures) holdFigures = holdFrom(run.apply.figures);
        // forward replication's own figures (load times, apply capacity) while CDC still runs
        if (name === 'validate') this.replicationFigures = await platform.forward.status().catch(() => null);
        // and as the lag gate passed: apply's rate on the backlog the full load left (the catch-up's drain)
        if (name === 'replicate') this.catchUpReplicationFigures = await platform.forward.status().catch(() => null);
        if (run === null) {
          out.warn('rehearse', `phase ${name} is not built yet: the phases after it are shown as not run`);
          break;
        }
        if (!run.ok && name === 'shadow') {
          // nothing moved yet (reads and writes all on blue): no rollback; the runbook says fix
          // green (or declare the difference accepted) and run `cutover shadow` again
          out.warn('rehearse', 'the shadow gate said no: reads stay on blue, nothing to roll back; the runbook stops before the shift');
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
          // the bake found green dead: the rehearsal rolls back at once, as the runbook says
          if (name === 'bake' && this.d.fault === 'green-dies-after-switch') this.mark('bake', { outcome: 'rolled-back' });
          out.warn('rehearse', `phase ${name} did not pass: rolling back to blue`);
          ({ seconds: rollbackSeconds, greenEraWrites } = await this.rollback());
          rolledBack = true;
          break;
        }
        if (name === 'switch' && this.d.fault === 'rollback-after-switch') {
          // the operator rolls back during the bake: after its length (at most 5 s) of writes on green
          const onGreenMs = Math.min(5000, this.d.env.bake.seconds * 1000);
          out.info('rehearse', `fault rollback-after-switch: ${onGreenMs / 1000} s of writes on green, then the operator rolls back`);
          await sleep(onGreenMs);
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
      ...(load.peakRssMiB !== undefined ? { demoPeakRssMiB: load.peakRssMiB } : {}),
      ...(load.starvation ? { demoStarvation: load.starvation } : {}),
      estimate,
      requests: this.attribute(load.requests, load.failureLog),
      faults: this.injections.map(({ name, at, until, detail }) => ({ name, at, ...(until !== undefined ? { until } : {}), detail })),
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
      shadow: this.shadowReport,
      assess: this.assessFindings,
      timeline: this.sampler.samples,
    };
  }

  private assessFindings: RunResult['assess'] = null;
  private shadowReport: ShadowReport | null = null;
  private assessTables: { name: string; rows: number; bytes: number }[] = [];
  private replicationFigures: ReplicationStatus | null = null;
  private catchUpReplicationFigures: ReplicationStatus | null = null;

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
      replicationAtCatchUp: this.catchUpReplicationFigures,
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
      else if (name === 'bake' && this.d.fault === 'green-dies-after-switch') run = await this.bakeWithGreenKilled();
      else if (name === 'switch' && this.d.fault === 'operator-dies-in-switch') run = await this.switchWithOperatorKilled();
      else if (name === 'shift' && this.d.fault === 'green-errors') run = await this.shiftWithGreenErrors();
      else if (name === 'shadow' && this.d.fault === 'green-differs') run = await this.shadowWithGreenDiffering();
      else run = await engine.runPhase(name);
      // a switch that undid itself (its hold budget ran out on a busy machine, or the catch-up
      // timed out) left writes on blue, released, and says "run `cutover switch` again": as the
      // runbook does, twice more before giving up
      for (let attempt = 1; name === 'switch' && !run.ok && run.apply?.figures?.undone === true && attempt <= 2; attempt++) {
        out.warn('rehearse', `the switch was undone (${run.apply.summary}); running \`cutover switch\` again`);
        run = await engine.runPhase(name);
      }
      const outcome = run.verify ?? run.apply;
      if (name === 'validate' && outcome?.result) this.lastValidation = outcome.result as ValidationReport;
      if (name === 'shadow' && run.apply?.result) this.shadowReport = run.apply.result as ShadowReport;
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
    let killed: number | null = null;
    for (let i = 0; i < 400 && killed === null; i++) {
      const s = await forward.status();
      const copied = s.tables.reduce((a, t) => a + t.rows, 0);
      // kill once the first chunks are committed, so the resume has checkpoints to honour
      if (s.worker?.alive && ((s.phase === 'full-load' && copied > 0) || s.phase === 'cdc')) {
        const where = s.phase === 'full-load' ? `during full load (${copied} rows copied)` : 'during CDC (full load had already finished)';
        process.kill(s.worker.pid, 'SIGKILL');
        this.inject('kill-replicator', `kill -9 ${s.worker.pid} (the replication worker) ${where}`);
        killed = s.worker.pid;
        break;
      }
      await sleep(10);
    }
    // kill -9 takes effect asynchronously: the re-run must not find the killed worker still alive
    // (it would leave it be, "already running"); a fixed half second was most of this wait
    for (let i = 0; killed !== null && processAlive(killed) && i < 1000; i++) await sleep(10);
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
          await demo.green.setFault({ errorRate: 0.5 });
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
      await demo.green.setFault(null);
    }
  }

  /**
   * green-differs: green answers GET /orders/:id with the total one cent off (every other field,
   * status and route right): what no health gate sees. The shadow gate must block the shift.
   */
  private async shadowWithGreenDiffering(): Promise<PhaseRun> {
    const { demo } = this.d;
    this.inject('green-differs', 'the green app answers GET /orders/:id with totalAmount one cent more than the order has (status 200, every other field right)');
    await demo.green.setFault({ errorRate: 0, amountOffCents: 1 });
    try {
      return await this.engine!.runPhase('shadow');
    } finally {
      await demo.green.setFault(null);
    }
  }

  /** Records a fault (for the report's charts) and says it. */
  private inject(name: string, detail: string, attribute?: Injection['attribute']): Injection {
    const atEpoch = Date.now();
    const injection: Injection = { name, at: atEpoch - this.d.t0, atEpoch, detail, ...(attribute ? { attribute } : {}) };
    this.injections.push(injection);
    this.d.out.warn('rehearse', `fault ${name}: ${detail}`);
    return injection;
  }

  /**
   * Splits the client failures: those an injected fault caused by its own stated rule (the app
   * whose database was down answering 5xx) are counted apart; `failed` keeps the rest — the
   * kit's, which must be 0.
   */
  private attribute(requests: RehearsalReport['requests'], log: readonly FailureRecord[]): RehearsalReport['requests'] {
    const rules = this.injections.filter((i) => i.attribute);
    if (!rules.length) return requests;
    const byReason: Record<string, number> = {};
    let failed = 0;
    for (const f of log) {
      if (!rules.some((i) => i.attribute!.matches(f))) continue;
      failed++;
      byReason[f.reason] = (byReason[f.reason] ?? 0) + 1;
    }
    return { ...requests, failed: requests.failed - failed, attributedToFault: { failed, byReason, rule: rules.map((i) => i.attribute!.rule).join('; ') } };
  }

  /**
   * source-restart / target-restart: one side's PostgreSQL gets a fast shutdown under load,
   * stays down SERVER_DOWN_MS, and starts again. The replication worker must reconnect and
   * resume from its slot. Failures the app of that side answered while its database was down
   * (up to 2 s after it was back: its pool reconnects) are that app's own and counted apart.
   */
  private async restartServer(side: Side): Promise<void> {
    const { out } = this.d;
    const server = this.d.servers[side];
    const name = side === 'blue' ? 'source-restart' : 'target-restart';
    let backAt = Number.POSITIVE_INFINITY;
    const injection = this.inject(name, `${side}'s PostgreSQL (port ${server.port}) restarted under load: fast shutdown, ${SERVER_DOWN_MS} ms down, start`, {
      rule: `answered 5xx by the ${side} app, sent while ${side}'s database was down (from its shutdown to 2 s after it was back): that app's own failures`,
      // sent before the database was back (+2 s for the app's pool to reconnect), failed after it went down
      matches: (f) => f.upstream === side && (f.status ?? 0) >= 500 && f.at >= injection.atEpoch && (f.startedAt ?? f.at) <= backAt + 2000,
    });
    await server.restart(SERVER_DOWN_MS);
    backAt = Date.now();
    injection.until = backAt - this.d.t0;
    out.ok('rehearse', `${side}'s PostgreSQL is back after ${Math.round((backAt - injection.atEpoch) / 100) / 10} s; replication must reconnect and resume from its slot`);
    if (side === 'green') return; // the shift's gates must hold it until lag is back under the limit
    const forward = this.platform!.forward;
    const limit = this.d.env.gates.maxLagMs;
    for (let i = 0; i < 600; i++) {
      const s = await forward.status().catch(() => null);
      if (s?.phase === 'cdc' && !s.error && s.lagMs !== null && s.lagMs < limit) {
        out.ok('rehearse', `forward replication streams again, lag ${s.lagMs} ms (${Math.round((Date.now() - backAt) / 100) / 10} s after the restart)`);
        return;
      }
      await sleep(100);
    }
    out.warn('rehearse', 'forward replication did not stream again within 60 s of the restart');
  }

  /** green-dies-after-switch: kill -9 the green app during the bake; the gates must see it and the rehearsal rolls back. */
  private async bakeWithGreenKilled(): Promise<PhaseRun> {
    const green = this.d.demo.greenProcess;
    if (!green) throw new Error('green-dies-after-switch needs the green app in its own process');
    const injector = (async () => {
      await sleep(300);
      const injection = this.inject('green-dies-after-switch', `kill -9 ${green.pid} (the green app) during the bake, with reads and writes on green`, {
        rule:
          'writes to the green app cut off by its death (sent before the kill or up to 1 s after it, on a connection the router had open to the dying process, ' +
          'reset with no answer): whether each reached the app before it died is unknown, so the router does not resend them',
        matches: (f) => f.method !== 'GET' && f.status === 502 && f.error === 'UPSTREAM_FAILED' && (f.startedAt ?? 0) <= injection.atEpoch + 1000 && f.at >= injection.atEpoch,
      });
      green.kill();
    })();
    try {
      return await this.engine!.runPhase('bake');
    } finally {
      await injector;
    }
  }

  /**
   * operator-dies-in-switch: `cutover switch` runs in its own process, as an operator's would; it
   * is killed -9 while writes are held; a second later the operator runs `cutover switch` again.
   * The journal decides: finish (past the flip) or undo (before it). After an undo the operator
   * runs the switch once more, and the runbook goes on.
   */
  private async switchWithOperatorKilled(): Promise<PhaseRun> {
    const { out, env } = this.d;
    const router = this.platform!.router;
    const child = spawn(process.execPath, [CLI, 'switch', '--config', this.d.configFile, '--env', env.name, '--yes'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let ended = false;
    void exited.then(() => (ended = true));
    out.info('rehearse', `fault operator-dies-in-switch: \`cutover switch\` runs in process ${child.pid}`);
    let held = null as Awaited<ReturnType<typeof router.state>> | null;
    for (let i = 0; i < 4_800 && !ended; i++) {
      const s = await router.state().catch(() => null);
      if (s?.writesHeld) {
        held = s;
        break;
      }
      await sleep(25);
    }
    if (!held) {
      child.kill('SIGKILL');
      throw new Error(`the switch process ended (or never held writes within 120 s) before the fault could be injected:\n${output}`);
    }
    child.kill('SIGKILL');
    this.inject('operator-dies-in-switch', `kill -9 ${child.pid} (the operator's \`cutover switch\`) while writes were held (${held.heldCount} waiting)`);
    await exited;
    await sleep(1000);
    out.info('rehearse', 're-running `cutover switch`, as the operator would: the journal decides whether it finishes or undoes');
    let run = await this.operatorEngine().runPhase('switch');
    // an undo (the killed switch's, or one that ran out of its hold budget on a busy machine)
    // leaves writes on blue and says "run `cutover switch` again": the operator does
    for (let attempt = 1; !run.ok && run.apply?.figures?.undone === true && attempt <= 3; attempt++) {
      out.info('rehearse', `the re-run said: ${run.apply.summary}; running \`cutover switch\` again`);
      run = await this.operatorEngine().runPhase('switch');
    }
    return run;
  }

  /** An engine as `cutover switch` would build it (same journal and lock): it may take over a dead operator's lock. */
  private operatorEngine(): Engine {
    const { env, out } = this.d;
    return new Engine({
      env,
      platform: this.platform!,
      out,
      journal: new FileJournalStore(path.join(env.stateDir, 'journal.jsonl')),
      lock: new FileLockStore(path.join(env.stateDir, 'lock.json')),
      phases: () => loadPhaseRegistry(),
      rollback: () => loadRollbackRunner(),
      command: 'cutover switch',
      flags: { yes: true },
    });
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
