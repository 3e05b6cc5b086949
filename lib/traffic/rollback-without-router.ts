import { CutoverError } from '../errors.ts';
import type { RouterState } from '../platform/roles.ts';
import { writesSwitchedToGreen } from '../engine/journal-history.ts';
import type { PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import { blueAcceptsWrites, finalizedRefusal, refusedByBlue, refusedReason, REFUSED_FIX, resumeForward, reverseHistory, ROLLBACK_SEQUENCES, type RollbackLedger } from './rollback.ts';

const running = (phase: string | undefined) => phase === 'cdc' || phase === 'full-load';

/**
 * The router's state, or null when the platform has none (a `postgres` environment with no
 * `router` section: its router role answers NOT_SUPPORTED).
 */
export async function routerStateOrNull(ctx: PhaseContext): Promise<RouterState | null> {
  try {
    return await ctx.platform.router.state();
  } catch (err) {
    if (err instanceof CutoverError && err.code === 'NOT_SUPPORTED') return null;
    throw err;
  }
}

/** The one line naming the traffic move the kit cannot make here. */
function trafficLine(ctx: PhaseContext, writesWereOnGreen: boolean): string {
  return writesWereOnGreen
    ? `traffic is yours to move: environment ${ctx.env.name} has no router, so send every client read and write to blue now (green is read-only: writes sent to it fail until you do)`
    : `traffic is yours to move: environment ${ctx.env.name} has no router, so make sure every client reads and writes blue (the kit moved none)`;
}

/**
 * The data part of a rollback when the environment has no router: where writes are is read from
 * the journal (a write switch that flipped and no finished rollback since). Writes on blue: blue
 * accepts writes again if a switch left it fenced, and replication into green stops (forward and
 * reverse: nothing follows blue into a green that no client uses; the slot is kept, `replicate
 * start` resumes, `cancel` drops it). Writes on green: green is fenced, reverse replication drains
 * it into blue, blue's sequences move above green's ids, blue accepts writes, forward replication
 * resumes. The traffic move is left to the operator, in one line. `ok` when the data part
 * succeeded.
 */
export async function rollbackWithoutRouter(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { fence, forward, reverse, sequences } = ctx.platform;
  const j = ctx.journal;
  const history = reverseHistory(ctx.history ?? []);
  const onGreen = writesSwitchedToGreen(ctx.history ?? []) !== null;
  if (onGreen && history.finalized) throw finalizedRefusal(ctx, history.finalized);
  const done: string[] = [];
  let ledger: RollbackLedger | null = null;
  if (onGreen) {
    if (!running((await reverse.status().catch(() => null))?.phase)) {
      const options = history.since ? { fromPosition: history.since } : undefined;
      await j.step('reverse.start', { reason: 'rollback needs green drained into blue', ...options }, () => reverse.start(options));
    }
    await j.step('fence.refuseWrites(green)', {}, () => fence.refuseWrites('green'));
    const greenLast = await j.step('reverse.sourcePosition', {}, () => reverse.sourcePosition());
    const timeoutMs = ctx.env.switch.catchUpTimeoutMs;
    const caughtUp = await j.step('reverse.waitForPosition', { position: greenLast, timeoutMs }, () => reverse.waitForPosition(greenLast, timeoutMs, ctx.signal));
    const drained = await reverse.status().catch(() => null);
    if (!caughtUp) {
      // blue lacks some of green's writes: green takes writes again, nothing is lost
      await j.step('fence.allowWrites(green)', { reason: 'reverse replication did not catch up' }, () => fence.allowWrites('green'));
      return {
        ok: false,
        summary: `rollback stopped: reverse replication did not apply green's position ${greenLast} within ${timeoutMs} ms (applied ${drained?.appliedPosition ?? 'unknown'}); green accepts writes again, nothing was lost; check \`cutover replicate status --direction reverse\` and run rollback again`,
      };
    }
    const refused = refusedByBlue(drained, history);
    if (refused && !ctx.options.force) {
      // blue lacks green writes it refused: green takes writes again, nothing is lost
      await j.step('fence.allowWrites(green)', { reason: refusedReason(refused) }, () => fence.allowWrites('green'));
      return { ok: false, summary: `rollback stopped: ${refusedReason(refused)}; green accepts writes again, nothing was lost; ${REFUSED_FIX}, then run rollback again` };
    }
    await j.step(ROLLBACK_SEQUENCES, { gap: ctx.env.switch.sequenceGap, direction: 'reverse' }, () => sequences.syncSequences(ctx.env.switch.sequenceGap, 'reverse'));
    await j.step('fence.allowWrites(blue)', {}, () => fence.allowWrites('blue'));
    await j.step('reverse.stop', {}, () => reverse.stop());
    const rows = (drained?.tables ?? []).map((t) => ({ table: t.target, rows: t.cdcChanges ?? t.rows }));
    ledger = {
      writesWereOnGreen: true,
      greenLastPosition: greenLast,
      reverseAppliedPosition: drained?.appliedPosition ?? null,
      reverseSince: history.since,
      greenEraRows: rows,
      greenEraRowsTotal: rows.reduce((a, r) => a + r.rows, 0),
      proof: caughtUp && !refused,
      unrecoverable: null,
      ...(refused ? { refusedByBlue: refused } : {}),
    };
    j.note('rollback.ledger', { ...ledger });
    if (refused) done.push(`NOT COMPLETE (--force): ${refusedReason(refused)}: they are on green only`);
    done.push(`green fenced and drained into blue up to ${greenLast}, blue's sequences moved above green's ids, blue accepts writes${await resumeForward(ctx)}`);
  } else {
    if (await fence.isRefusingWrites('blue')) {
      await j.step('fence.allowWrites(blue)', {}, () => fence.allowWrites('blue'));
      done.push('blue accepts writes again');
    }
    for (const [name, replicator] of [['reverse', reverse], ['forward', forward]] as const) {
      if (!running((await replicator.status().catch(() => null))?.phase)) continue;
      await j.step(`${name}.stop`, { reason: 'rollback: nothing follows blue into green' }, () => replicator.stop());
      done.push(`${name} replication stopped`);
    }
    if (done.some((d) => d.startsWith('forward'))) done.push(`its slot is kept (\`cutover replicate start\` resumes, \`cutover cancel\` drops it)`);
  }
  const blue = await blueAcceptsWrites(ctx);
  const line = trafficLine(ctx, onGreen);
  ctx.out.warn('rollback', line);
  const data = done.length ? `data rolled back to blue: ${done.join('; ')}` : 'data already on blue: nothing to undo';
  return {
    ok: blue.ok && (ledger?.proof ?? true),
    summary: `${data}${blue.ok ? '' : `; BUT ${blue.problem}`}; ${line}`,
    figures: { router: false, writesWereOnGreen: onGreen, blueAcceptsWrites: blue.ok, ...(ledger ? { ledger } : {}) },
    result: ledger ?? { writesWereOnGreen: false, trafficLeftToOperator: line },
  };
}

/** What `cutover rollback --dry-run` prints with no router. */
export async function planRollbackWithoutRouter(ctx: PhaseContext): Promise<PlanStep[]> {
  const { fence, forward, reverse } = ctx.platform;
  const history = reverseHistory(ctx.history ?? []);
  const onGreen = writesSwitchedToGreen(ctx.history ?? []) !== null;
  if (onGreen && history.finalized) return [{ action: 'refuse', target: 'green database', detail: finalizedRefusal(ctx, history.finalized).message }];
  const steps: PlanStep[] = [];
  if (onGreen) {
    steps.push(
      { action: 'fence.refuseWrites(green)', target: 'green database' },
      { action: 'reverse.sourcePosition', target: 'green database', detail: "green's final position, read after the fence" },
      { action: 'reverse.waitForPosition', target: 'blue database', detail: `timeout ${ctx.env.switch.catchUpTimeoutMs} ms` },
      { action: ROLLBACK_SEQUENCES, target: 'blue database' },
      { action: 'fence.allowWrites(blue)', target: 'blue database' },
      { action: 'reverse.stop', target: 'reverse replication' },
      { action: 'forward.start', target: 'forward replication', detail: 'green follows blue again' },
    );
  } else {
    if (await fence.isRefusingWrites('blue').catch(() => false)) steps.push({ action: 'fence.allowWrites(blue)', target: 'blue database', detail: 'a switch stopped half-way' });
    if (running((await reverse.status().catch(() => null))?.phase)) steps.push({ action: 'reverse.stop', target: 'reverse replication' });
    if (running((await forward.status().catch(() => null))?.phase)) steps.push({ action: 'forward.stop', target: 'forward replication', detail: 'its slot is kept' });
  }
  steps.push({ action: 'operator', target: 'client traffic', detail: trafficLine(ctx, onGreen) });
  return steps;
}
