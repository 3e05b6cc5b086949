import { writesSwitchedToGreen } from '../engine/journal-history.ts';
import type { JournalRecord } from '../engine/journal-store.ts';
import type { Phase, PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import type { PreparedFrozenCheck } from '../platform/roles.ts';
import { INTERRUPTED, runRollback } from './rollback.ts';
import { routerTarget, streamingLagMs } from './traffic-inputs.ts';
import { envCommandLine } from '../engine/command-line.ts';
import { holdBudgetMs, undoReserveMs } from '../config/common-schema.ts';
import { HoldBudget } from './hold-budget.ts';
import { unreplicatedColumnsRefusal } from '../phases/unreplicated-columns.ts';

/**
 * Journal actions of the write switch, in order. `switch.flip` recorded ok is the point of no
 * return: a re-run after a crash finishes the switch when it is there, and undoes it otherwise.
 */
export const SWITCH_STEPS = {
  checkLag: 'switch.check-lag',
  checkReverseCoverage: 'switch.check-reverse-coverage',
  checkCaughtUp: 'switch.check-caught-up',
  unfenceGreen: 'fence.allowWrites(green)',
  reverse: 'reverse.start',
  refreshBaseline: 'validator.refreshBaseline',
  prepareSequences: 'sequences.prepare',
  prepareValidation: 'validator.prepareFrozen',
  hold: 'router.holdWrites',
  fence: 'fence.refuseWrites(blue)',
  position: 'forward.sourcePosition',
  catchUp: 'forward.waitForPosition',
  validate: 'validator.validate(frozen)',
  sequences: 'sequences.syncSequences',
  flip: 'switch.flip',
  release: 'router.releaseWrites',
  stopForward: 'forward.stop',
  undone: 'switch.undone',
} as const;

/** Steps that changed something and must be undone when the switch stops before the flip. */
const SIDE_EFFECTS: readonly string[] = [SWITCH_STEPS.hold, SWITCH_STEPS.fence, SWITCH_STEPS.sequences, SWITCH_STEPS.reverse];

/** The completed steps of the current attempt: those after the last recorded undo. */
function currentAttempt(completed: readonly string[]): readonly string[] {
  const last = completed.lastIndexOf(SWITCH_STEPS.undone);
  return last < 0 ? completed : completed.slice(last + 1);
}

/**
 * The write switch (Vitess SwitchTraffic's order): check lag, and that green has applied what blue
 * had acknowledged (the replicate gate's rule), before touching anything; lift the
 * fence an earlier rollback left on green (before the hold: it ends green's older sessions); hold
 * writes at the router (reverse replication is started just before, idle until the flip); make blue refuse writes; wait until green applied blue's last position
 * (timeout: undo, writes resume on blue); a frozen validation; sequences past blue's; reverse
 * replication from green's current position; flip writes to green (the point of no return);
 * release the held writes to green.
 */
export const switchPhase: Phase = {
  name: 'switch',
  requires: ['shift'],
  command: 'cutover switch',
  mutates: true,

  async plan(ctx) {
    const sw = ctx.env.switch;
    const done = currentAttempt(ctx.journal.completedSteps());
    if (done.includes(SWITCH_STEPS.flip)) {
      return [
        { action: SWITCH_STEPS.release, target: routerTarget(ctx), detail: 'finish the crashed switch: release held writes to green' },
        { action: SWITCH_STEPS.stopForward, target: 'forward replication' },
      ];
    }
    if (done.some((s) => SIDE_EFFECTS.includes(s))) {
      return [{ action: 'switch.undo', target: routerTarget(ctx), detail: `a switch stopped before the flip (${done.join(', ')}): blue allowed writes again, writes to blue, released` }];
    }
    const switched = writesSwitchedToGreen(ctx.history ?? []);
    if (switched) return [{ action: 'none', target: routerTarget(ctx), detail: `writes are on green since the write switch at ${switched.time}: nothing to switch (the gate checks that they still are)` }];
    const greenFenced = await ctx.platform.fence.isRefusingWrites('green').catch(() => false);
    const steps: PlanStep[] = [
      { action: SWITCH_STEPS.checkLag, target: 'forward replication', detail: `reads at 100 % green and lag <= ${ctx.env.gates.maxLagMs} ms, and no source column added during replication left unreplicated (its values would stay on blue), before anything pauses` },
      { action: SWITCH_STEPS.checkReverseCoverage, target: 'mapping files', detail: 'the reverse mapping brings every green table back to blue (or it is exempted), so a rollback loses nothing' },
      { action: SWITCH_STEPS.checkCaughtUp, target: 'forward replication', detail: `green has applied blue's current position (every write acknowledged before the switch; the replicate gate's rule), waited for up to ${sw.catchUpTimeoutMs} ms before anything pauses` },
      ...(greenFenced ? [{ action: SWITCH_STEPS.unfenceGreen, target: 'green database', detail: 'green is read-only (an earlier rollback fenced it): it must take the writes after the flip' }] : []),
      { action: SWITCH_STEPS.reverse, target: 'reverse replication', detail: 'green -> blue from green\'s current position, idle until the flip (started before the hold so the hold stays short)' },
      ...(ctx.platform.validator.refreshBaseline
        ? [{ action: SWITCH_STEPS.refreshBaseline, target: 'both databases', detail: 'the rows changed since the last passing full validation, compared while writes still flow; when equal the frozen check inside the hold starts from here (seconds of changes)' }]
        : []),
      ...(ctx.platform.sequences.prepare
        ? [{ action: SWITCH_STEPS.prepareSequences, target: 'green database', detail: `sequences above blue's current values + ${sw.sequenceGap} before the hold (green hands out no id until the flip), so the hold only moves what blue handed out since` }]
        : []),
      ...(ctx.platform.validator.prepareFrozen
        ? [{ action: SWITCH_STEPS.prepareValidation, target: 'both databases', detail: 'the frozen check\'s sessions, catalogs, mapping and dead letters, read before the hold: inside it only the changed rows are read' }]
        : []),
      { action: SWITCH_STEPS.hold, target: routerTarget(ctx), detail: `writes held (not failed) at most ${sw.maxHoldMs} ms; reads keep flowing; the steps below get ${holdBudgetMs(sw.maxHoldMs)} ms of it, else the switch is undone and the held writes go to blue` },
      { action: SWITCH_STEPS.fence, target: 'blue database', detail: 'default_transaction_read_only on, open write transactions ended' },
      { action: SWITCH_STEPS.position, target: 'blue database', detail: 'blue\'s final position' },
      { action: SWITCH_STEPS.catchUp, target: 'green database', detail: `green applies it within ${sw.catchUpTimeoutMs} ms, else everything is undone and writes resume on blue` },
      { action: SWITCH_STEPS.validate, target: 'both databases', detail: 'final validation on frozen data: the rows changed since the last passing full validation (every row when none is recorded), and the reconciliation' },
      { action: SWITCH_STEPS.sequences, target: 'green database', detail: `sequences above blue's + ${sw.sequenceGap}` },
      { action: SWITCH_STEPS.flip, target: routerTarget(ctx), detail: 'writes to green: the point of no return (rollback drains green back to blue)' },
      { action: SWITCH_STEPS.release, target: routerTarget(ctx), detail: 'held writes go to green; hold p50/p99 measured' },
      { action: SWITCH_STEPS.stopForward, target: 'forward replication', detail: 'blue takes no more writes' },
    ];
    return steps;
  },

  async apply(ctx) {
    const done = currentAttempt(ctx.journal.completedSteps());
    if (done.includes(SWITCH_STEPS.flip)) return finishAfterFlip(ctx, done, { resumed: true });
    if (done.some((s) => SIDE_EFFECTS.includes(s))) {
      await undoSwitch(ctx, 'resumed after a stop before the flip');
      return { ok: false, summary: 'the previous switch stopped before the point of no return and has been undone: writes are on blue again; run `cutover switch` to try again', figures: { writeTarget: 'blue', undone: true } };
    }
    const switched = writesSwitchedToGreen(ctx.history ?? []);
    if (switched) return alreadySwitched(ctx, switched);
    return freshSwitch(ctx);
  },

  async verify(ctx) {
    // three independent reads, side by side
    const [s, blueFenced, greenFenced] = await Promise.all([ctx.platform.router.state(), ctx.platform.fence.isRefusingWrites('blue'), ctx.platform.fence.isRefusingWrites('green')]);
    const ok = s.writeTarget === 'green' && !s.writesHeld && blueFenced && !greenFenced;
    const fix = greenFenced ? `: green refuses writes, so every client write fails — run \`${envCommandLine(ctx.env, 'cutover rollback')}\` now` : '';
    return {
      ok,
      summary: ok
        ? 'writes on green, green accepts writes, blue refuses writes'
        : `switch not complete: writeTarget=${s.writeTarget} writesHeld=${s.writesHeld} greenAcceptsWrites=${!greenFenced} blueRefusesWrites=${blueFenced}${fix}`,
      figures: { writeTarget: s.writeTarget, writesHeld: s.writesHeld, blueRefusesWrites: blueFenced, greenAcceptsWrites: !greenFenced },
    };
  },

  async rollback(ctx) {
    return runRollback(ctx);
  },
};

async function freshSwitch(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { router, fence, forward, reverse, validator, sequences } = ctx.platform;
  const sw = ctx.env.switch;
  const j = ctx.journal;

  // source columns added during replication whose values never reached green: after the flip green
  // would be the system of record without them (silent loss), so the switch refuses (figures name them)
  let lost = null as string | null; // set inside the step's callback (an annotation alone would narrow it to null)
  const pre = await j.step(SWITCH_STEPS.checkLag, { maxLagMs: ctx.env.gates.maxLagMs }, async () => {
    const [readWeightGreen, lagMs, s] = await Promise.all([router.state().then((r) => r.readWeightGreen), streamingLagMs(forward), forward.status().catch(() => null)]);
    lost = s ? unreplicatedColumnsRefusal(s, ctx.env, 'the write switch', 'cutover switch') : null;
    return { readWeightGreen, lagMs, ...(lost ? { unreplicatedColumns: s!.unreplicatedColumns } : {}) };
  });
  const coverageRefusal = await j.step(SWITCH_STEPS.checkReverseCoverage, {}, async () => (await ctx.platform.inspector.reverseCoverageRefusal?.()) ?? null);
  const refusal =
    lost ??
    coverageRefusal ??
    (pre.readWeightGreen !== 100
      ? `reads are at ${pre.readWeightGreen} % green, not 100 %: run \`cutover shift\` first`
      : pre.lagMs === null
        ? 'forward replication is not streaming (lag unknown): run `cutover replicate start` and wait for CDC'
        : pre.lagMs > ctx.env.gates.maxLagMs // one rule with the shift and bake gates and replicate wait: at the limit passes
          ? `replication lag ${pre.lagMs} ms is above the limit ${ctx.env.gates.maxLagMs} ms: wait (\`cutover replicate wait\`) and retry`
          : null);
  if (refusal) {
    j.note('switch.refused', { reason: refusal, ...pre });
    ctx.out.error('switch', refusal);
    return { ok: false, summary: `switch refused before anything paused: ${refusal}`, figures: { ...pre, writeTarget: 'blue' } };
  }
  // The replicate gate's rule: a lag under the limit is not caught up when green is still applying
  // a backlog (a restarted worker, a burst of writes measures its lag from the changes it has). The
  // hold would then wait for that backlog with every client write held, and undo at its timeout:
  // green applies what blue had acknowledged before the switch first, while writes still flow.
  const caughtUp = await j.step(SWITCH_STEPS.checkCaughtUp, { timeoutMs: sw.catchUpTimeoutMs }, async () => {
    const position = await forward.sourcePosition();
    ctx.out.info('switch', `waiting until green has applied blue's position ${position} (every write acknowledged before the switch), at most ${sw.catchUpTimeoutMs} ms, before anything pauses`);
    return { position, applied: await forward.waitForPosition(position, sw.catchUpTimeoutMs, ctx.signal) };
  });
  if (!caughtUp.applied) {
    const lagBytes = (await forward.status().catch(() => null))?.lagBytes ?? null;
    const reason = ctx.signal.aborted
      ? `stopped by the operator (Ctrl-C) while green caught up with blue's position ${caughtUp.position}`
      : `green has not applied blue's position ${caughtUp.position} (the writes acknowledged before the switch) within ${sw.catchUpTimeoutMs} ms${lagBytes !== null ? ` (${lagBytes} bytes behind blue now)` : ''}: forward replication is still applying a backlog; wait (\`${envCommandLine(ctx.env, 'cutover replicate wait')}\`) and retry`;
    j.note('switch.refused', { reason, ...pre, position: caughtUp.position });
    ctx.out.error('switch', reason);
    return { ok: false, summary: `switch refused before anything paused: ${reason}`, figures: { ...pre, position: caughtUp.position, writeTarget: 'blue', interrupted: ctx.signal.aborted } };
  }

  let catchUpMs = 0;
  // set inside a journal step's callback (a type annotation alone would narrow it to null)
  let frozenCheck = null as PreparedFrozenCheck | null;
  try {
    // An earlier rollback fenced green; nothing else lifts that fence. Lifted before the hold
    // (it ends green's older sessions, with a grace for running reads) and kept on an undo: until
    // the flip the router sends green no writes, as in a first switch.
    if (await fence.isRefusingWrites('green')) {
      await j.step(SWITCH_STEPS.unfenceGreen, { reason: 'green is read-only since an earlier rollback' }, () => fence.allowWrites('green'));
    }
    // Reverse replication starts before anything pauses: until the flip green takes no client
    // writes, and the forward applier's changes carry its replication origin, which the reverse
    // stream skips, so it idles. Starting a worker takes seconds that would otherwise be spent
    // holding writes. Those seconds (mostly a new process booting) run side by side with the
    // preparations below, which neither need the worker nor change what it streams (green's
    // sequences are not in its stream); the hold waits until both have settled, and a failure of
    // either undoes the switch only then, so the undo sees a worker that did start.
    let launched!: () => void;
    const launching = new Promise<void>((resolve) => (launched = resolve));
    const reverseStarted = j.step(SWITCH_STEPS.reverse, {}, async () => {
      const fromPosition = await reverse.sourcePosition();
      const starting = reverse.start({ fromPosition });
      launched();
      const status = await starting;
      // the dead letters blue already held: the rollback counts only those of this switch
      return { fromPosition, phase: status.phase, deadLetters: status.deadLetters };
    });
    // the preparations, in this order, once the start is under way (its position read)
    const prepared = (async () => {
      // a start that failed before it launched anything: nothing to prepare, the undo follows
      if (!(await Promise.race([launching.then(() => true), reverseStarted.then(() => true, () => false)]))) return;
      // the rows changed since the full validation, compared while writes still flow: when equal the
      // frozen check inside the hold covers only the changes from here on. Never fails the switch:
      // without it the frozen check covers everything since the full validation, as before.
      if (validator.refreshBaseline) {
        await j.step(SWITCH_STEPS.refreshBaseline, {}, async () => {
          const t = performance.now();
          const r = await validator.refreshBaseline!(ctx.signal).catch((err: Error) => {
            ctx.out.warn('switch', `the changed rows were not compared before the hold (${err.message}): the frozen check covers every change since the full validation`);
            return null;
          });
          return {
            refreshed: r?.baselineRefreshed === true,
            changedRows: r?.scope?.kind === 'changed-rows' ? r.scope.changedRows : null,
            ...(r?.scope?.kind === 'full' ? { reason: r.scope.reason } : {}),
            ms: Math.round(performance.now() - t),
          };
        });
        if (ctx.signal.aborted) throw new Error(INTERRUPTED);
      }
      // what the sequence step can do before the hold (green takes no writes until the flip): the hold keeps only the delta
      if (sequences.prepare) await j.step(SWITCH_STEPS.prepareSequences, { gap: sw.sequenceGap, direction: 'forward' }, () => sequences.prepare!(sw.sequenceGap, 'forward'));
      // the frozen check's sessions, catalogs and mapping, read while writes still flow: inside the hold it reads only the changes
      if (validator.prepareFrozen) {
        await j.step(SWITCH_STEPS.prepareValidation, {}, async () => {
          frozenCheck = await validator.prepareFrozen!();
          return { prepared: true };
        });
      }
    })();
    const [started, ready] = await Promise.allSettled([reverseStarted, prepared]);
    if (started.status === 'rejected') throw started.reason;
    if (ready.status === 'rejected') throw ready.reason;
    // The router's cap runs from here. Every step inside the hold (the drain of writes in flight,
    // the fence, the catch-up, the frozen validation, the sequences) is bounded by what is left
    // of it, so the switch undoes, releasing the held writes to blue, before the cap would answer
    // them 503; the catch-up's own timeout alone (plus the drain) could outlast the cap.
    const budget = new HoldBudget(sw.maxHoldMs);
    // the writes already on their way to blue finish first: the fence would end their sessions, and
    // a write whose COMMIT it cuts off has an outcome nobody can tell the client. They may use the
    // budget; when some are still in flight once it is spent, the switch undoes before the fence.
    const drain = await j.step(SWITCH_STEPS.hold, { maxHoldMs: sw.maxHoldMs, undoReserveMs: undoReserveMs(sw.maxHoldMs) }, () => router.holdWrites(sw.maxHoldMs, budget.leftMs()));
    if (drain && !drain.drained) throw new HoldBudgetSpent(budget.reason(`the ${drain.inflightAtHold} write(s) already in flight to blue when writes were held`));
    const fenced = await j.step(SWITCH_STEPS.fence, { side: 'blue' }, () => fence.refuseWrites('blue'));
    if (fenced) {
      const writers = fenced.writersWhileFenced.length ? fenced.writersWhileFenced.join(', ') : 'none';
      ctx.out.info('fence', `blue refuses writes (${fenced.killed} session(s) ended); accounts read_only does not stop (no application may use them): ${writers}`);
    }
    const position = await j.step(SWITCH_STEPS.position, {}, () => forward.sourcePosition());
    const t0 = performance.now();
    const catchUpWaitMs = Math.min(sw.catchUpTimeoutMs, budget.leftMs());
    const caughtUp = catchUpWaitMs > 0 && (await j.step(SWITCH_STEPS.catchUp, { position, timeoutMs: catchUpWaitMs }, () =>
      forward.waitForPosition(position, catchUpWaitMs, ctx.signal),
    ));
    catchUpMs = Math.round(performance.now() - t0);
    if (!caughtUp) {
      await frozenCheck?.close();
      // waitForPosition answers false on Ctrl-C too: say which it was
      const why = ctx.signal.aborted
        ? `${INTERRUPTED} while green caught up with blue's final position ${position}`
        : catchUpWaitMs < sw.catchUpTimeoutMs
          ? budget.reason(`green's catch-up to blue's final position ${position} (waited ${catchUpWaitMs} ms of switch.catchUpTimeoutMs ${sw.catchUpTimeoutMs})`)
          : `green did not apply blue's final position ${position} within ${sw.catchUpTimeoutMs} ms`;
      await undoSwitch(ctx, why);
      return {
        ok: false,
        summary: `switch undone: ${why}; writes resumed on blue, nothing lost${ctx.signal.aborted ? '; run `cutover switch` again when ready' : ''}`,
        figures: { writeTarget: 'blue', catchUpTimeoutMs: sw.catchUpTimeoutMs, catchUpWaitMs, position, undone: true, interrupted: ctx.signal.aborted },
      };
    }
    const validation = await j.step(SWITCH_STEPS.validate, { frozen: true }, async () => {
      const watch = budget.signal(ctx.signal);
      let r: Awaited<ReturnType<typeof validator.validate>>;
      try {
        r = frozenCheck ? await frozenCheck.validate(watch.signal) : await validator.validate({ frozen: true, signal: watch.signal });
      } catch (err) {
        if (watch.spent()) throw new HoldBudgetSpent(budget.reason('the frozen validation'));
        throw err;
      } finally {
        watch.dispose();
        // its sessions end in the background: not the held writes' business
        void frozenCheck?.close();
      }
      const s = r.scope;
      // what the check inside the hold compared: the changed rows since the last full validation, or everything
      const compared =
        s?.kind === 'changed-rows'
          ? { scope: s.kind, since: s.since, changedRows: s.changedRows, tablesWithChanges: s.tablesWithChanges, fullTables: s.fullTables.map((f) => f.table), fullTableReasons: s.fullTables.map((f) => `${f.table}: ${f.reason}`) }
          : { scope: 'full', ...(s ? { reason: s.reason } : {}) };
      const timed = r.figures.reconciliationMs === undefined ? {} : { reconciliationMs: r.figures.reconciliationMs };
      return { equal: r.equal, tables: r.tables.length, rowsCompared: r.figures.rowsCompared, ...timed, ...compared, different: r.tables.filter((t) => t.missing.length + t.extra.length + t.different.length + t.deadLetter.length > 0).map((t) => t.source) };
    });
    if (!validation.equal) {
      await undoSwitch(ctx, `frozen validation found differences in ${validation.different.join(', ')}`);
      return {
        ok: false,
        summary: `switch undone: the final validation found differences in ${validation.different.join(', ')}; writes resumed on blue (see \`cutover validate\`)`,
        figures: { writeTarget: 'blue', undone: true, differentTables: validation.different },
      };
    }
    if (budget.leftMs() === 0) throw new HoldBudgetSpent(budget.reason('the frozen validation'));
    await j.step(SWITCH_STEPS.sequences, { gap: sw.sequenceGap, direction: 'forward' }, () => sequences.syncSequences(sw.sequenceGap, 'forward'));
    // the last safe point: after the flip only forward moves are left
    if (ctx.signal.aborted) throw new Error(INTERRUPTED);
    await j.step(SWITCH_STEPS.flip, { side: 'green' }, () => router.setWriteTarget('green'));
  } catch (err) {
    const message = ctx.signal.aborted ? INTERRUPTED : (err as Error).message;
    await frozenCheck?.close();
    try {
      await undoSwitch(ctx, message);
    } catch (undoErr) {
      return { ok: false, summary: `switch failed (${message}) and undoing it failed too (${(undoErr as Error).message}): run \`cutover rollback\` now`, figures: { undone: false } };
    }
    if (err instanceof HoldBudgetSpent && !ctx.signal.aborted) {
      return {
        ok: false,
        summary: `switch undone: ${message}; writes resumed on blue, nothing lost; run \`cutover switch\` again (a quieter moment, or a larger switch.maxHoldMs)`,
        figures: { writeTarget: 'blue', undone: true, holdBudgetSpent: true, maxHoldMs: sw.maxHoldMs },
      };
    }
    return { ok: false, summary: `switch failed before the point of no return (${message}); undone, writes resumed on blue, nothing lost`, figures: { writeTarget: 'blue', undone: true, interrupted: ctx.signal.aborted } };
  }
  const outcome = await finishAfterFlip(ctx, currentAttempt(j.completedSteps()), { resumed: false });
  return { ...outcome, figures: { ...outcome.figures, lagMsBefore: pre.lagMs, catchUpMs } };
}

/**
 * A re-run after the switch finished: nothing is held, fenced or started again. Without this it
 * ran the switch's pre-checks anew, found forward replication stopped (the switch stops it) and
 * said to run `replicate start` — refused once writes are on green — and journaled the switch as
 * failed, so `status` pointed back at earlier phases while writes were on green.
 */
async function alreadySwitched(ctx: PhaseContext, switched: JournalRecord): Promise<PhaseOutcome> {
  const s = await ctx.platform.router.state();
  if (s.writeTarget === 'green') {
    return { ok: true, summary: `writes already on green since the write switch at ${switched.time}: nothing to do`, figures: { writeTarget: 'green', alreadySince: switched.time } };
  }
  return {
    ok: false,
    summary: `the journal says writes switched to green at ${switched.time}, but the router sends writes to ${s.writeTarget} (a restarted router?): nothing was changed; run \`${envCommandLine(ctx.env, 'cutover rollback')}\` to bring every write back to blue safely`,
    figures: { writeTarget: s.writeTarget, switchedAt: switched.time },
  };
}

/** The write hold's budget ran out before the flip: undo (the held writes go to blue) rather than let the cap refuse them. */
class HoldBudgetSpent extends Error {}

/** After the flip only forward moves are left: release the held writes, stop forward replication. */
async function finishAfterFlip(ctx: PhaseContext, done: readonly string[], how: { resumed: boolean }): Promise<PhaseOutcome> {
  const { router, forward } = ctx.platform;
  let writePauseMs: { p50: number; p99: number; max: number } | null = null;
  let released = 0;
  let refusedByCap = 0;
  try {
    if (!done.includes(SWITCH_STEPS.release)) {
      const r = await ctx.journal.step(SWITCH_STEPS.release, {}, () => router.releaseWrites());
      writePauseMs = r.holdMs;
      released = r.released;
      refusedByCap = r.refused ?? 0;
    }
    if (!done.includes(SWITCH_STEPS.stopForward)) {
      await ctx.journal.step(SWITCH_STEPS.stopForward, {}, () => forward.stop());
    }
  } catch (err) {
    return {
      ok: false,
      summary: `writes are on green (past the point of no return) but finishing failed: ${(err as Error).message}; run \`cutover switch\` again to finish`,
      figures: { writeTarget: 'green' },
    };
  }
  if (refusedByCap > 0) {
    ctx.out.warn('switch', `writes on green, but the hold outlasted switch.maxHoldMs (${ctx.env.switch.maxHoldMs} ms): the router answered ${refusedByCap} write(s) 503 (Retry-After, nothing written) before the release`);
  } else if (writePauseMs) ctx.out.ok('switch', `writes on green; ${released} held write(s) released, hold p50 ${writePauseMs.p50} ms, p99 ${writePauseMs.p99} ms`);
  return {
    ok: true,
    summary: how.resumed ? 'switch finished after a restart: writes on green' : 'writes on green',
    figures: { writeTarget: 'green', released, writePauseMs, resumed: how.resumed, ...(refusedByCap > 0 ? { refusedByCap } : {}) },
  };
}

/**
 * Puts writes back on blue after a switch that stopped before the flip. Each action is
 * idempotent, in an order that never leaves writes refused on both sides: blue accepts writes
 * before the router sends any there, then the hold is released; reverse replication stops last.
 */
async function undoSwitch(ctx: PhaseContext, reason: string): Promise<void> {
  const { router, fence, reverse } = ctx.platform;
  ctx.out.warn('switch', `undoing the switch: ${reason}`);
  await ctx.journal.step('switch.undo.allowWrites(blue)', { reason }, () => fence.allowWrites('blue'));
  await ctx.journal.step('switch.undo.setWriteTarget(blue)', {}, () => router.setWriteTarget('blue'));
  // released before reverse replication stops (seconds): until a flip green takes no client
  // write, so the idle reverse stream has nothing to carry, and the held writes wait no longer
  const r = await ctx.journal.step('switch.undo.releaseWrites', {}, () => router.releaseWrites());
  const reversePhase = (await reverse.status().catch(() => null))?.phase;
  if (reversePhase === 'cdc' || reversePhase === 'full-load') {
    await ctx.journal.step('switch.undo.reverse.stop', {}, () => reverse.stop());
  }
  // a step, not a note: completedSteps() must show it so the next attempt starts clean
  await ctx.journal.step(SWITCH_STEPS.undone, { reason }, async () => ({ released: r.released, holdMs: r.holdMs }));
}
