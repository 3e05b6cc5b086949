import os from 'node:os';
import type { ResolvedEnvironment } from '../config/load.ts';
import type { Platform, ReplicationStatus, RouterState } from '../platform/roles.ts';
import { lastValidation, summarizePhases, type PhaseState, type PhaseSummary } from './journal-history.ts';
import type { JournalRecord, LockHolder } from './journal-store.ts';
import { isProvablyDead } from './operator.ts';
import { PHASE_ORDER, type Phase, type PhaseName } from './phase.ts';

/** `cutover status --json`. Every field is documented in runbooks/understanding-output.md. */
export interface StatusReport {
  readonly env: string;
  readonly platform: 'postgres' | 'aws';
  readonly protected: boolean;
  /** The furthest phase that has run, and its state. `complete` once finalize verified. */
  readonly phase: { readonly current: PhaseName | null; readonly state: PhaseState | 'complete' | 'not-started'; readonly at: string | null };
  readonly phases: PhaseSummary[];
  /** Live from the router; null when it could not be read (see `unavailable.traffic`). */
  readonly traffic: { readonly readWeightGreen: number; readonly writeTarget: 'blue' | 'green'; readonly writesHeld: boolean } | null;
  /** Live from the replicator(s); null when not readable. */
  readonly replication: {
    readonly forward: Pick<ReplicationStatus, 'phase' | 'lagMs' | 'lagBytes' | 'appliedRowsPerSec' | 'deadLetters'> | null;
    readonly reverse: Pick<ReplicationStatus, 'phase' | 'lagMs' | 'lagBytes' | 'appliedRowsPerSec' | 'deadLetters'> | null;
  };
  /** The last finished validation from the journal. */
  readonly validation: { readonly equal: boolean; readonly at: string; readonly ageSeconds: number; readonly fresh: boolean; readonly summary: string | null } | null;
  /** `alive` is false only when provably dead, null when it cannot be told (another host). */
  readonly lock: (LockHolder & { readonly alive: boolean | null }) | null;
  readonly next: { readonly command: string | null; readonly why: string };
  readonly journal: { readonly location: string; readonly records: number; readonly last: Pick<JournalRecord, 'time' | 'phase' | 'action' | 'status'> | null };
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
}

export async function buildStatus(i: StatusInputs): Promise<StatusReport> {
  const unavailable: Record<string, string> = {};
  const timeout = i.liveTimeoutMs ?? 3000;
  const phases = summarizePhases(i.records);
  const current = [...phases].reverse().find((p) => p.state !== 'not-run') ?? null;
  const finalized = phases.find((p) => p.name === 'finalize')?.state === 'verified';

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
  const [router, forward, reverse] = await Promise.all([
    live<RouterState>('traffic', (p) => p.router.state()),
    live<ReplicationStatus>('replication.forward', (p) => p.forward.status()),
    live<ReplicationStatus>('replication.reverse', (p) => p.reverse.status()),
  ]);

  const v = lastValidation(i.records);
  const validation = v
    ? (() => {
        const ageSeconds = Math.max(0, Math.round((i.now.getTime() - Date.parse(v.time)) / 1000));
        const summary = (v.result as { summary?: string } | undefined)?.summary ?? null;
        return { equal: v.status === 'ok', at: v.time, ageSeconds, fresh: v.status === 'ok' && ageSeconds <= i.env.gates.maxValidationAgeSeconds, summary };
      })()
    : null;

  const lock = i.lock ? { ...i.lock, alive: isProvablyDead(i.lock) ? false : i.lock.host === os.hostname() ? true : null } : null;
  const last = i.records.at(-1);
  return {
    env: i.env.name,
    platform: i.env.platform,
    protected: i.env.isProtected,
    phase: finalized
      ? { current: 'finalize', state: 'complete', at: phases.at(-1)!.at }
      : current
        ? { current: current.name, state: current.state, at: current.at }
        : { current: null, state: 'not-started', at: null },
    phases,
    traffic: router ? { readWeightGreen: router.readWeightGreen, writeTarget: router.writeTarget, writesHeld: router.writesHeld } : null,
    replication: { forward: pickRepl(forward), reverse: pickRepl(reverse) },
    validation,
    lock,
    next: nextCommand(i.env, phases, i.phases, lock, validation),
    journal: { location: i.journalLocation, records: i.records.length, last: last ? { time: last.time, phase: last.phase, action: last.action, status: last.status } : null },
    unavailable,
  };
}

function nextCommand(
  env: ResolvedEnvironment,
  phases: readonly PhaseSummary[],
  registry: Readonly<Record<PhaseName, Phase>> | null,
  lock: StatusReport['lock'],
  validation: StatusReport['validation'],
): StatusReport['next'] {
  const cmd = (name: PhaseName, extra = '') => `npx ${registry?.[name]?.command ?? `cutover ${name}`}${extra} --env ${env.name}`;
  if (lock && lock.alive !== false) return { command: null, why: `wait: ${lock.operator}@${lock.host} pid ${lock.pid} is running "${lock.command}"` };
  const interrupted = phases.find((p) => p.state === 'interrupted');
  if (interrupted) return { command: cmd(interrupted.name), why: `resume ${interrupted.name}: its last run did not finish` };
  for (const p of PHASE_ORDER.map((n) => phases.find((s) => s.name === n)!)) {
    if (p.state === 'verified') {
      if (p.name === 'validate' && validation && !validation.fresh) return { command: cmd('validate'), why: 'the last passing validation is too old to open the shift gate' };
      continue;
    }
    if (p.name === 'replicate' && p.state === 'applied') return { command: `npx cutover replicate wait --max-lag-ms ${env.gates.maxLagMs} --env ${env.name}`, why: 'replication started: wait until CDC has caught up' };
    if (p.state === 'failed') return { command: cmd(p.name), why: `${p.name} failed${p.summary ? ` (${p.summary})` : ''}: fix the cause and re-run it, or \`npx cutover rollback --env ${env.name}\`` };
    return { command: cmd(p.name), why: p.state === 'rolled-back' ? `rolled back: ${p.name} again when ready` : `${p.name} is next` };
  }
  return { command: null, why: 'nothing: the cutover is complete' };
}

function pickRepl(s: ReplicationStatus | null): StatusReport['replication']['forward'] {
  return s ? { phase: s.phase, lagMs: s.lagMs, lagBytes: s.lagBytes, appliedRowsPerSec: s.appliedRowsPerSec, deadLetters: s.deadLetters } : null;
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
