import { verifiedPhases, writesSwitchedToGreen } from '../engine/journal-history.ts';
import type { Phase, PhaseContext, PhaseOutcome } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import type { PacingFigures, ReplicationStatus, Replicator } from '../platform/roles.ts';
import { ProgressRate } from '../output/progress-rate.ts';
import { sourceLabel, targetLabel } from './endpoints.ts';
import { envCommandLine } from '../engine/command-line.ts';
import { unreplicatedColumnsRefusal } from './unreplicated-columns.ts';

/**
 * How often the gate polls the replicator: every POLL_MS, after a first few quick polls that back
 * off from FIRST_POLL_MS — a small table set is caught up within moments of the worker proving
 * healthy, and a fixed second's first wait was most of the gate's time in a rehearsal.
 */
const POLL_MS = 1000;
const FIRST_POLL_MS = 100;
/** `cutover run` waits this long for full load + catch-up unless told otherwise. @default 6 h */
const DEFAULT_WAIT_MS = 6 * 3600_000;
/** How long one look for the caught-up position waits (it returns as soon as the position is applied). */
const CAUGHT_UP_SLICE_MS = 2000;

/**
 * Forward replication: apply starts (or resumes) the worker — full load, then CDC — and returns
 * once it is healthy. Verify is the caught-up gate: CDC running, lag under `gates.maxLagMs` (or
 * `options.maxLagMs`), and the target has applied the source's write position read when the gate
 * began (every write acknowledged before it), polled with live progress until `options.timeoutMs`.
 * It says no at once while the worker reports source columns it does not replicate
 * (unreplicated-columns.ts).
 */
export const replicatePhase: Phase = {
  name: 'replicate',
  requires: ['snapshot'],
  command: 'cutover replicate start',
  mutates: true,
  refusal({ history, commandLine }) {
    // forward replication copies blue into green: with writes on green it would load blue's rows
    // over green's (a new slot on blue, a full load stopping at the first duplicate key)
    const switched = writesSwitchedToGreen(history);
    if (!switched) return null;
    const finalized = verifiedPhases(history).get('finalize');
    const why = `writes are on green since the write switch at ${switched.time}${finalized ? ` and the cutover was finalized at ${finalized.time}` : ''}`;
    return new CutoverError('PRECONDITION_FAILED', `forward replication copies blue into green, and ${why}: nothing was changed`, {
      received: why,
      allowed: 'replicate start while writes go to blue (before the write switch, or after a rollback)',
      fix: finalized
        ? 'nothing to replicate forward any more: green is the system of record (`cutover status` shows where it stands)'
        : `to send writes back to blue run \`${commandLine('cutover rollback')}\` (it drains green into blue and restarts forward replication itself)`,
    });
  },
  async plan(ctx) {
    const wave = typeof ctx.options.wave === 'string' ? ctx.options.wave : undefined;
    return [
      {
        action: 'forward.start',
        target: `${sourceLabel(ctx.env)} -> ${targetLabel(ctx.env)}`,
        detail: `${wave ? `wave ${wave}: ` : ''}${typeof ctx.platform.forward.method === 'string' ? ctx.platform.forward.method : 'full load from the snapshot position, then CDC'}; mappings ${ctx.env.mappingFiles.forward}`,
      },
      { action: 'forward.status', target: 'replication worker', detail: `gate: phase cdc and lag <= ${maxLag(ctx)} ms` },
    ];
  },
  async apply(ctx) {
    const wave = typeof ctx.options.wave === 'string' ? ctx.options.wave : undefined;
    const status = await ctx.journal.step('forward.start', { wave: wave ?? null, foreground: ctx.options.foreground === true }, () =>
      ctx.platform.forward.start({ wave, foreground: ctx.options.foreground === true }),
    );
    return {
      ok: status.phase !== 'failed' && status.phase !== 'stalled',
      summary: status.phase === 'failed' || status.phase === 'stalled' ? `replication failed to start: ${status.error ?? 'see replicate status'}` : `forward replication ${status.phase}${status.worker ? ` (worker pid ${status.worker.pid})` : ''}`,
      figures: figures(status),
      result: status,
    };
  },
  async verify(ctx) {
    const limit = maxLag(ctx);
    const timeoutMs = typeof ctx.options.timeoutMs === 'number' ? ctx.options.timeoutMs : DEFAULT_WAIT_MS;
    const deadline = ctx.clock.now().getTime() + timeoutMs;
    const rate = new ProgressRate(() => ctx.clock.now().getTime());
    const forward = ctx.platform.forward;
    // The lag alone does not say caught up: a worker just handed a backlog (restarted, or a burst of
    // writes) measures it from the changes it has received or applied, seconds old, while thousands
    // of acknowledged writes behind them are not on the target. So the gate also waits until the
    // target has applied the source's position as it stood when the gate began.
    const until = new SourcePositionAtStart(forward, ctx);
    await until.read();
    let pollMs = FIRST_POLL_MS;
    for (;;) {
      const s = await forward.status();
      showProgress(ctx, s, rate, until.position);
      // columns whose values never reach the target: waiting cannot bring them, passing would say green has every write
      const lost = unreplicatedColumnsRefusal(s, ctx.env, 'the replicate gate (caught up)', 'cutover replicate wait');
      if (lost) {
        ctx.out.done('replicate');
        ctx.out.error('replicate', lost);
        return { ok: false, summary: `not caught up, and waiting cannot change it: ${lost}`, figures: { ...figures(s), caughtUpTo: until.position }, result: s };
      }
      const lagOk = s.phase === 'cdc' && s.lagMs !== null && s.lagMs <= limit;
      if (lagOk && until.position !== null) {
        // waits here instead of sleeping: returns as soon as the position is applied (a slice over a
        // second lets a PostgreSQL source nudge an idle WAL past its page end, see waitForPosition)
        const sliceMs = Math.min(CAUGHT_UP_SLICE_MS, Math.max(0, deadline - ctx.clock.now().getTime()));
        if (await forward.waitForPosition(until.position, sliceMs, ctx.signal)) {
          ctx.out.done('replicate');
          return { ok: true, summary: `CDC running, lag ${s.lagMs} ms <= ${limit} ms, applied up to the source's position ${until.position} read when the wait began`, figures: { ...figures(s), caughtUpTo: until.position }, result: s };
        }
      }
      // a stalled worker fails the wait at once: its heartbeat says it is not applying, whatever it reported last
      if (s.phase === 'failed' || s.phase === 'stalled' || s.phase === 'stopped' || s.phase === 'not-started') {
        ctx.out.done('replicate');
        return { ok: false, summary: `replication is ${s.phase}${s.error ? `: ${s.error}` : ''}; start it with \`${envCommandLine(ctx.env, 'cutover replicate start')}\``, figures: figures(s), result: s };
      }
      if (ctx.clock.now().getTime() >= deadline || ctx.signal.aborted) {
        ctx.out.done('replicate');
        const where = `phase ${s.phase}, lag ${s.lagMs ?? 'unknown'} ms (limit ${limit} ms), ${until.describe(s)}`;
        // Ctrl-C is the operator's choice, not a timeout: the journal says which it was
        const summary = ctx.signal.aborted
          ? `stopped by the operator after ${timeoutMs - Math.max(0, deadline - ctx.clock.now().getTime())} ms, before catching up: ${where}`
          : `not caught up after ${timeoutMs} ms: ${where}`;
        return { ok: false, summary, figures: { ...figures(s), caughtUpTo: until.position }, result: s } satisfies PhaseOutcome;
      }
      if (until.position === null) await until.read();
      if (!(lagOk && until.position !== null)) await ctx.clock.sleep(Math.min(pollMs, Math.max(0, deadline - ctx.clock.now().getTime())), ctx.signal).catch(() => {});
      pollMs = Math.min(POLL_MS, pollMs * 2);
    }
  },
  async rollback(ctx) {
    await ctx.platform.forward.stop();
    return { ok: true, summary: 'forward replication stopped (the target keeps what it has)' };
  },
};

function maxLag(ctx: PhaseContext): number {
  return typeof ctx.options.maxLagMs === 'number' ? ctx.options.maxLagMs : ctx.env.gates.maxLagMs;
}

function figures(s: ReplicationStatus): Record<string, unknown> {
  return { phase: s.phase, lagMs: s.lagMs, lagBytes: s.lagBytes, heartbeatAgeMs: s.heartbeatAgeMs ?? null, appliedRowsPerSec: s.appliedRowsPerSec, deadLetters: s.deadLetters, ...(s.unreplicatedColumns?.length ? { unreplicatedColumns: s.unreplicatedColumns } : {}), tables: s.tables.length, ...(s.fullLoadPacing ? { pacing: s.fullLoadPacing } : {}) };
}

function showProgress(ctx: PhaseContext, s: ReplicationStatus, rate: ProgressRate, until: string | null): void {
  const done = s.tables.reduce((n, t) => n + t.rows, 0);
  const totals = s.tables.map((t) => t.totalRows);
  const total = totals.every((t) => t !== null) ? totals.reduce((n: number, t) => n + (t ?? 0), 0) : undefined;
  ctx.out.progress({
    topic: 'replicate',
    done,
    total: s.phase === 'full-load' ? total : undefined,
    unit: 'rows',
    figures: {
      phase: s.phase,
      lagMs: s.lagMs ?? '?',
      'rows/s': Math.round(s.appliedRowsPerSec),
      // how far it is from caught up: bytes behind the source now, and the position it waits for
      ...(s.lagBytes !== null ? { lagBytes: s.lagBytes } : {}),
      waitFor: until ?? '?',
      ...(s.appliedPosition ? { applied: s.appliedPosition } : {}),
      // the ETA of the full load, at the rate of the last seconds (the worker's own figure is over 5 s)
      ...(s.phase === 'full-load' && total !== undefined ? { eta: rate.figures(done, total).eta! } : {}),
      // the full load's pacing so far: its chunk size (adapted to pacing.chunkTargetMs) and its pauses
      ...(s.phase === 'full-load' && s.fullLoadPacing ? pacingProgress(s.fullLoadPacing) : {}),
    },
  });
}

function pacingProgress(p: PacingFigures): Record<string, number> {
  return {
    ...(p.chunkSizing ? { 'chunk rows': p.chunkSizing.lastRows } : {}),
    ...(p.pauses ? { pauses: p.pauses, 'paused s': Math.round(p.pausedMs / 100) / 10 } : {}),
  };
}

/**
 * The source's write position when the gate began: every write acknowledged before it is at or
 * before it. A source that cannot be read now (restarting) is read again at the next poll; the
 * gate does not pass without it.
 */
class SourcePositionAtStart {
  position: string | null = null;
  private failure: string | null = null;

  constructor(
    private readonly replicator: Replicator,
    private readonly ctx: PhaseContext,
  ) {}

  async read(): Promise<void> {
    try {
      this.position = await this.replicator.sourcePosition();
      this.failure = null;
      this.ctx.out.info('replicate', `waiting until the target has applied the source's position ${this.position} (every write acknowledged before this wait) and the lag is <= ${maxLag(this.ctx)} ms`);
    } catch (err) {
      if (this.failure === null) this.ctx.out.warn('replicate', `cannot read the source's write position (${(err as Error).message}): the wait cannot pass until it can; reading it again`);
      this.failure = (err as Error).message;
    }
  }

  /** Where the wait stands, for a summary that says no. */
  describe(s: ReplicationStatus): string {
    if (this.position === null) return `the source's write position could not be read (${this.failure ?? 'unknown'}), so nothing proves the target has its writes`;
    return `the source's position ${this.position} read when the wait began is not confirmed applied (applied ${s.appliedPosition ?? 'unknown'}${s.lagBytes !== null ? `, ${s.lagBytes} bytes behind the source now` : ''})`;
  }
}
