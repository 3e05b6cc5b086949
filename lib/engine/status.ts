import os from 'node:os';
import type { ResolvedEnvironment } from '../config/load.ts';
import { kitSlots } from '../platform/kit-slots.ts';
import type { Platform, ReplicationStatus, RouterState, SlotRetention } from '../platform/roles.ts';
import { commandLine } from './command-line.ts';
import {
  lastPartialValidation,
  lastValidation,
  summarizePhases,
  unfinishedRollback,
  unfinishedRun,
  writesSwitchedToGreen,
  type PhaseState,
  type PhaseSummary,
} from './journal-history.ts';
import type { JournalRecord, LockHolder } from './journal-store.ts';
import { isProvablyDead } from './operator.ts';
import { PHASE_ORDER, type Phase, type PhaseName } from './phase.ts';

/** `cutover status --json`. Every field is documented in runbooks/understanding-output.md. */
export interface StatusReport {
  readonly env: string;
  readonly platform: 'postgres' | 'aws';
  readonly protected: boolean;
  /**
   * The phase acted on last, and its state (`complete` once finalize verified). `rollback` when a
   * rollback is running or did not finish: until it does, writes may be failing.
   */
  readonly phase: { readonly current: PhaseName | 'rollback' | 'cancel' | null; readonly state: PhaseState | 'complete' | 'not-started'; readonly at: string | null };
  readonly phases: PhaseSummary[];
  /** Live from the router; null when it could not be read (see `unavailable.traffic`). */
  readonly traffic: { readonly readWeightGreen: number; readonly writeTarget: 'blue' | 'green'; readonly writesHeld: boolean } | null;
  /** Live from the replicator(s); null when not readable. */
  readonly replication: {
    readonly forward: Pick<ReplicationStatus, 'phase' | 'lagMs' | 'lagBytes' | 'appliedRowsPerSec' | 'deadLetters' | 'unreplicatedColumns'> | null;
    readonly reverse: Pick<ReplicationStatus, 'phase' | 'lagMs' | 'lagBytes' | 'appliedRowsPerSec' | 'deadLetters' | 'unreplicatedColumns'> | null;
  };
  /**
   * The last finished validation of every mapped table from the journal (the gate). `fresh`: not
   * older than gates.maxValidationAgeSeconds, whatever its result. `partial`: a later
   * `validate --table` run, shown but never the gate.
   */
  readonly validation: {
    readonly equal: boolean;
    readonly at: string;
    readonly ageSeconds: number;
    readonly fresh: boolean;
    readonly summary: string | null;
  } | null;
  readonly partialValidation: { readonly equal: boolean; readonly at: string; readonly ageSeconds: number; readonly summary: string | null } | null;
  /** `alive` is false only when provably dead, null when it cannot be told (another host). */
  readonly lock: (LockHolder & { readonly alive: boolean | null }) | null;
  readonly next: { readonly command: string | null; readonly why: string };
  readonly journal: { readonly location: string; readonly records: number; readonly last: Pick<JournalRecord, 'time' | 'phase' | 'action' | 'status'> | null };
  /** Live: the kit's replication slots and the WAL each retains (`warn`: inactive above replication.retainedWalWarnMb); null when not readable. */
  readonly slots: SlotRetention[] | null;
  /** Live reads that failed, with the reason. */
  readonly unavailable: Record<string, string>;
}

export interface StatusInputs {
  readonly env: ResolvedEnvironment;
  readonly records: readonly JournalRecord[];
  readonly journalLocation: string;
  readonly lock: LockHolder | null;
  readonly phases: Readonly<Record<PhaseName, Phase>> | null;
  readonly platform: () => Promise<Platform>;
  readonly now: Date;
  /** Bound on each live read. @default 3000 */
  readonly liveTimeoutMs?: number;
  /** The `--config` path the command was given, repeated in `next`. @default - none (the default config) */
  readonly configFile?: string;
}

export async function buildStatus(i: StatusInputs): Promise<StatusReport> {
  const unavailable: Record<string, string> = {};
  const timeout = i.liveTimeoutMs ?? 3000;
  const lock = i.lock ? { ...i.lock, alive: isProvablyDead(i.lock) ? false : i.lock.host === os.hostname() ? true : null } : null;
  const phases = summarizePhases(i.records).map((p) => (p.state === 'interrupted' && heldBy(i.records, p.name, lock) ? { ...p, state: 'running' as const } : p));
  // the phase acted on last (a re-switch after a rollback is `switch`, not the rolled-back finalize)
  const current = phases.reduce<PhaseSummary | null>((best, p) => (p.state !== 'not-run' && (best === null || (p.seq ?? 0) >= (best.seq ?? 0)) ? p : best), null);
  const finalized = phases.find((p) => p.name === 'finalize')?.state === 'verified';
  const rb = unfinishedRollback(i.records);
  const rollback = rb ? { state: rb.how === 'interrupted' && heldBy(i.records, 'rollback', lock) ? ('running' as const) : rb.how, at: rb.record.time } : null;

  let platform: Platform | null = null;
  try {
    platform = await i.platform(); // loads modules, connects to nothing: not bounded
  } catch (err) {
    unavailable.platform = messageOf(err);
  }
  const live = async <T>(key: string, read: (p: Platform) => Promise<T>): Promise<T | null> => {
    if (!platform) return null;
    try {
      return await bounded(read(platform), timeout, key);
    } catch (err) {
      unavailable[key] = messageOf(err);
      return null;
    }
  };
  const [router, forward, reverse, slots] = await Promise.all([
    live<RouterState>('traffic', (p) => p.router.state()),
    live<ReplicationStatus>('replication.forward', (p) => p.forward.status()),
    live<ReplicationStatus>('replication.reverse', (p) => p.reverse.status()),
    live<SlotRetention[]>('slots', kitSlots),
  ]);

  const seen = (r: JournalRecord) => ({
    equal: r.status === 'ok',
    at: r.time,
    ageSeconds: Math.max(0, Math.round((i.now.getTime() - Date.parse(r.time)) / 1000)),
    summary: (r.result as { summary?: string } | undefined)?.summary ?? null,
  });
  const v = lastValidation(i.records);
  // a result too old to trust is stale whether it was equal or not; a fresh failure is not "stale"
  const validation = v ? (() => ({ ...seen(v), fresh: seen(v).ageSeconds <= i.env.gates.maxValidationAgeSeconds }))() : null;
  const pv = lastPartialValidation(i.records);
  const partialValidation = pv && (!v || pv.seq > v.seq) ? seen(pv) : null;

  const forwardDown = downReason(forward);
  const last = i.records.at(-1);
  return {
    env: i.env.name,
    platform: i.env.platform,
    protected: i.env.isProtected,
    phase: rollback
      ? { current: 'rollback', state: rollback.state, at: rollback.at }
      : finalized
        ? { current: 'finalize', state: 'complete', at: phases.at(-1)!.at }
        : current?.state === 'cancelled'
          ? { current: 'cancel', state: 'cancelled', at: current.at }
          : current
          ? { current: current.name, state: current.state, at: current.at }
          : { current: null, state: 'not-started', at: null },
    phases,
    traffic: router ? { readWeightGreen: router.readWeightGreen, writeTarget: router.writeTarget, writesHeld: router.writesHeld } : null,
    replication: { forward: pickRepl(forward), reverse: pickRepl(reverse) },
    validation,
    partialValidation,
    lock,
    next: nextCommand({
      env: i.env,
      phases,
      registry: i.phases,
      lock,
      validation,
      rollback,
      configFile: i.configFile,
      forwardDown: forwardDown !== null && writesSwitchedToGreen(i.records) === null ? forwardDown : null,
    }),
    slots,
    journal: { location: i.journalLocation, records: i.records.length, last: last ? { time: last.time, phase: last.phase, action: last.action, status: last.status } : null },
    unavailable,
  };
}

interface NextInputs {
  readonly env: ResolvedEnvironment;
  readonly phases: readonly PhaseSummary[];
  readonly registry: Readonly<Record<PhaseName, Phase>> | null;
  readonly lock: StatusReport['lock'];
  readonly validation: StatusReport['validation'];
  readonly rollback: { readonly state: PhaseState; readonly at: string } | null;
  readonly configFile?: string;
  /** Why forward replication is not running, when green must still follow blue (before the write switch). */
  readonly forwardDown: string | null;
}

function nextCommand(n: NextInputs): StatusReport['next'] {
  const { env, phases, registry, lock, validation } = n;
  const line = (command: string, extra = '') => commandLine(command, env.name, n.configFile, extra);
  const cmd = (name: PhaseName) => line(registry?.[name]?.command ?? `cutover ${name}`);
  const rollback = line('cutover rollback');
  if (lock && lock.alive !== false) {
    const emergency = lock.command === 'cutover rollback' ? '' : ` (in an emergency \`${rollback}\` stops it and rolls back)`;
    return { command: null, why: `wait: ${lock.operator}@${lock.host} pid ${lock.pid} is running "${lock.command}"${emergency}` };
  }
  if (n.rollback) {
    return { command: rollback, why: `the rollback ${n.rollback.state === 'failed' ? 'failed' : 'was interrupted'}: writes may be failing until it finishes; re-run it (it resumes)` };
  }
  const interrupted = phases.find((p) => p.state === 'interrupted');
  if (interrupted) return { command: cmd(interrupted.name), why: `resume ${interrupted.name}: its last run did not finish` };
  const replicated = phases.find((p) => p.name === 'replicate');
  if (n.forwardDown && (replicated?.state === 'applied' || replicated?.state === 'verified')) {
    return { command: line('cutover replicate start'), why: `forward replication is not running (${n.forwardDown}): start it again (it resumes)` };
  }
  for (const p of PHASE_ORDER.map((name) => phases.find((s) => s.name === name)!)) {
    if (p.state === 'verified') {
      if (p.name === 'validate' && validation && !validation.fresh) return { command: cmd('validate'), why: 'the last passing validation is too old to open the shift gate' };
      continue;
    }
    if (p.state === 'cancelled') {
      return { command: cmd(p.name), why: `the cutover was cancelled at ${p.at}: the kit left nothing in either database (backups and the target's rows are kept); to start over, empty the target's tables (or list them in assess.keepTargetRows), then ${p.name}` };
    }
    if (p.name === 'replicate' && p.state === 'applied') return { command: line('cutover replicate wait', ` --max-lag-ms ${env.gates.maxLagMs}`), why: 'replication started: wait until CDC has caught up' };
    if (p.state === 'failed') return { command: cmd(p.name), why: `${p.name} failed${p.summary ? ` (${p.summary})` : ''}: fix the cause and re-run it, or \`${rollback}\`` };
    if (p.state === 'stopped') return { command: cmd(p.name), why: `${p.name} was stopped before it finished (Ctrl-C or a rollback): re-run it to continue, or \`${rollback}\`` };
    return { command: cmd(p.name), why: p.state === 'rolled-back' ? `rolled back: ${p.name} again when ready` : `${p.name} is next` };
  }
  return { command: null, why: 'nothing: the cutover is complete' };
}

/** True when the live lock holder is the process that wrote the phase's unfinished run. */
function heldBy(records: readonly JournalRecord[], phase: string, lock: StatusReport['lock']): boolean {
  if (!lock || lock.alive === false) return false;
  const run = unfinishedRun(records, phase);
  if (!run) return false;
  return records.some((r) => r.seq >= run.started.seq && r.phase === phase && r.pid === lock.pid && r.host === lock.host);
}

/** Why a replication stream is not moving (failed, stopped, dead worker), or null when it runs or was never started. */
function downReason(s: ReplicationStatus | null): string | null {
  if (!s || s.phase === 'not-started') return null;
  if (s.phase === 'failed' || s.phase === 'stopped') return `${s.phase}${s.error ? `: ${s.error}` : ''}`;
  if (s.worker && !s.worker.alive) return `worker pid ${s.worker.pid} on ${s.worker.host} is not alive`;
  return null;
}

/** A stream that is not moving has no lag and no rate to show: lag null ("unknown"), 0 rows/s. */
function pickRepl(s: ReplicationStatus | null): StatusReport['replication']['forward'] {
  if (!s) return null;
  const down = downReason(s) !== null;
  return { phase: s.phase, lagMs: down ? null : s.lagMs, lagBytes: down ? null : s.lagBytes, appliedRowsPerSec: down ? 0 : s.appliedRowsPerSec, deadLetters: s.deadLetters, ...(s.unreplicatedColumns?.length ? { unreplicatedColumns: s.unreplicatedColumns } : {}) };
}


function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
