import type { JournalRecord } from '../engine/journal-store.ts';
import type { PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import type { ReplicationStatus } from '../platform/roles.ts';
import { positionAtLeast } from './position-order.ts';
import { planRollbackWithoutRouter, rollbackWithoutRouter, routerStateOrNull } from './rollback-without-router.ts';
import { planShadowOff, shadowReadsOff } from './shadow-off.ts';
import { routerTarget } from './traffic-inputs.ts';
import { envCommandLine } from '../engine/command-line.ts';
import { holdBudgetMs, undoReserveMs } from '../config/common-schema.ts';
import { HoldBudget } from './hold-budget.ts';

/** What the rollback proves about writes taken by green (printed as the rollback ledger). */
export interface RollbackLedger {
  /** Whether green took writes (the write switch had flipped). */
  readonly writesWereOnGreen: boolean;
  /** Green's last position, read after writes were held and green was fenced; every green write is at or before it. */
  readonly greenLastPosition: string | null;
  /** Last green position reverse replication applied to blue. */
  readonly reverseAppliedPosition: string | null;
  /**
   * Green's position the write switch started reverse replication from, as journaled; null when
   * the journal does not show it (then "every green change" is not claimed).
   */
  readonly reverseSince: string | null;
  /** Rows reverse replication applied to blue (green-era writes, per table). */
  readonly greenEraRows: { table: string; rows: number }[];
  readonly greenEraRowsTotal: number;
  /** true: blue has every green change (applied >= green's last); false: some are not on blue. */
  readonly proof: boolean;
  /** What could not be copied to blue, when green was unreachable or the rollback was forced after finalize. */
  readonly unrecoverable: string | null;
  /**
   * Green's changes since the switch that blue refused (reverse replication's dead letters on
   * blue, counted from the switch's start of it); a rollback with any is not proven.
   * @default - none counted
   */
  readonly refusedByBlue?: number;
}

/** Journal action of the rollback's sequence step (the switch's is `sequences.syncSequences`). */
export const ROLLBACK_SEQUENCES = 'sequences.syncSequences(reverse)';

/** Why a wait or a step stopped when the operator pressed Ctrl-C (the CLI aborts `ctx.signal`). */
export const INTERRUPTED = 'interrupted by the operator (Ctrl-C)';

const reverseRunning = (s: ReplicationStatus | null) => s?.phase === 'cdc' || s?.phase === 'full-load';

/** What the journal says about reverse replication since the last write switch's flip. */
export interface ReverseHistory {
  /** Green's position the switch started reverse replication from; null when not journaled. */
  readonly since: string | null;
  /** Reverse replication's dead letters when the switch started it (an earlier cycle's); null when not journaled. */
  readonly deadLettersAtStart?: number | null;
  /**
   * Set once `finalize` dropped reverse replication's slot after that flip: from `stoppedAt`
   * (finalize stopped the reverse worker) green's writes reach blue no more.
   */
  readonly finalized: { readonly stoppedAt: string; readonly tornDownAt: string } | null;
}

/** Reads reverse replication's story from the journal (`ctx.history`): where it began, and whether finalize ended it. */
export function reverseHistory(records: readonly JournalRecord[]): ReverseHistory {
  const flip = records.findLastIndex((r) => r.phase === 'switch' && r.action === 'switch.flip' && r.status === 'ok');
  if (flip < 0) return { since: null, finalized: null };
  let since: string | null = null;
  let deadLettersAtStart: number | null = null;
  for (let i = flip; i >= 0; i--) {
    const r = records[i]!;
    if (r.phase === 'switch' && r.action === 'switch.undone') break; // an earlier, undone attempt
    if (r.phase === 'switch' && r.action === 'reverse.start' && r.status === 'ok') {
      const started = r.result as { fromPosition?: unknown; deadLetters?: unknown } | undefined;
      since = typeof started?.fromPosition === 'string' ? started.fromPosition : null;
      deadLettersAtStart = typeof started?.deadLetters === 'number' ? started.deadLetters : null;
      break;
    }
  }
  const after = records.slice(flip + 1).filter((r) => r.phase === 'finalize');
  // a started teardown may have dropped the slot before the process died
  const teardown = after.find((r) => r.action === 'reverse.teardown' && (r.status === 'started' || r.status === 'ok'));
  if (!teardown) return { since, deadLettersAtStart, finalized: null };
  const stop = after.find((r) => r.action === 'reverse.stop' && r.status === 'started');
  return { since, deadLettersAtStart, finalized: { stoppedAt: stop?.time ?? teardown.time, tornDownAt: teardown.time } };
}

/** The refusal of a rollback after finalize: nothing was changed. */
export function finalizedRefusal(ctx: PhaseContext, f: NonNullable<ReverseHistory['finalized']>): CutoverError {
  return new CutoverError(
    'PRECONDITION_FAILED',
    `the cutover is finalized (reverse replication stopped at ${f.stoppedAt} and its slot on green was dropped at ${f.tornDownAt}): ` +
      `green's writes since ${f.stoppedAt} would not reach blue, so a rollback now would lose them; nothing was changed, writes stay on green`,
    {
      received: `finalize ran at ${f.tornDownAt}`,
      allowed: 'rollback with reverse replication (any time before `cutover finalize`)',
      fix:
        `keep green and fix forward; to move back to blue without losing data, run a new cutover with green as the source and blue as the target ` +
        `(a new environment: source.url = green, target.url = blue, emptied blue); only if losing every write green took since ${f.stoppedAt} is acceptable: ` +
        `\`${envCommandLine(ctx.env, 'cutover rollback', ' --force')}\` (traffic back to blue at once; those writes stay only on green)`,
      changedNothing: true,
    },
  );
}

/** What `cutover rollback --dry-run` prints, read from the current state only. */
export async function planRollback(ctx: PhaseContext): Promise<PlanStep[]> {
  const state = await routerStateOrNull(ctx);
  if (!state) return planRollbackWithoutRouter(ctx);
  const { router, fence, reverse } = ctx.platform;
  const r = routerTarget(ctx);
  const steps: PlanStep[] = [];
  const history = reverseHistory(ctx.history ?? []);
  if (state.writeTarget === 'green' && history.finalized && !ctx.options.force) {
    return [{ action: 'refuse', target: r, detail: finalizedRefusal(ctx, history.finalized).message }];
  }
  if (state.readWeightGreen !== 0) steps.push({ action: 'router.setReadWeight', target: r, detail: `reads ${state.readWeightGreen} % -> 0 % green, at once` });
  steps.push(...(await planShadowOff(ctx)));
  if (state.writeTarget === 'green' && history.finalized) {
    steps.push(
      { action: 'router.holdWrites', target: r, detail: `writes held at most ${ctx.env.switch.maxHoldMs} ms` },
      { action: 'fence.refuseWrites(green)', target: 'green database' },
      { action: 'reverse.sourcePosition', target: 'green database', detail: `--force after finalize: green's writes since ${history.finalized.stoppedAt} are NOT copied to blue` },
      { action: ROLLBACK_SEQUENCES, target: 'blue database', detail: `blue's sequences above green's ids + ${ctx.env.switch.sequenceGap}` },
      { action: 'fence.allowWrites(blue)', target: 'blue database' },
      { action: 'router.setWriteTarget(blue)', target: r },
      { action: 'router.releaseWrites', target: r, detail: 'held writes go to blue' },
    );
    return steps;
  }
  if (state.writeTarget === 'green') {
    steps.push(
      { action: 'router.holdWrites', target: r, detail: `writes held at most ${ctx.env.switch.maxHoldMs} ms` },
      { action: 'fence.refuseWrites(green)', target: 'green database', detail: 'no write reaches green from now on, through the router or not' },
      { action: 'reverse.sourcePosition', target: 'green database', detail: 'green\'s final position, read after the fence' },
      { action: 'reverse.waitForPosition', target: 'blue database', detail: `reverse replication applies it (timeout ${ctx.env.switch.catchUpTimeoutMs} ms, within the hold's budget of ${holdBudgetMs(ctx.env.switch.maxHoldMs)} ms: else green accepts writes again and writes stay on green, nothing lost)` },
      { action: ROLLBACK_SEQUENCES, target: 'blue database', detail: `blue's sequences above green's ids + ${ctx.env.switch.sequenceGap} (green's rows reached blue without moving them)` },
      { action: 'fence.allowWrites(blue)', target: 'blue database' },
      { action: 'router.setWriteTarget(blue)', target: r },
      { action: 'router.releaseWrites', target: r, detail: 'held writes go to blue' },
      { action: 'reverse.stop', target: 'reverse replication' },
      { action: 'forward.start', target: 'forward replication', detail: 'green follows blue again (reported resumed only once it streams changes)' },
    );
    return steps;
  }
  if (await fence.isRefusingWrites('blue').catch(() => false)) steps.push({ action: 'fence.allowWrites(blue)', target: 'blue database', detail: 'a switch stopped half-way' });
  if (state.writesHeld) steps.push({ action: 'router.releaseWrites', target: r, detail: `${state.heldCount} held write(s) go to blue` });
  if (reverseRunning(await reverse.status().catch(() => null))) steps.push({ action: 'reverse.stop', target: 'reverse replication' });
  if (!steps.length) steps.push({ action: 'none', target: r, detail: 'already on blue: reads 0 % green, writes to blue' });
  return steps;
}

/**
 * Back to blue from any state, idempotently. Reads go to blue at once. When writes are on
 * green, they are held, green is fenced, green's final position is read, reverse replication
 * applies it to blue, blue's sequences are moved above green's ids, then writes are flipped to
 * blue and released. If green's database cannot be reached, traffic still goes back to blue and
 * the outcome says exactly from which position green's changes are missing on blue.
 *
 * After `finalize` (reverse replication gone) it refuses with PRECONDITION_FAILED (exit 1: the
 * state of the cutover says no, nothing is wrong with the command), unless `options.force`.
 */
export async function runRollback(ctx: PhaseContext): Promise<PhaseOutcome> {
  // no router (the minimal config): the data part only, the traffic move named for the operator
  const state = await routerStateOrNull(ctx);
  if (!state) return rollbackWithoutRouter(ctx);
  const { router, fence, reverse } = ctx.platform;
  const j = ctx.journal;
  const t0 = performance.now();
  const done: string[] = [];
  const history = reverseHistory(ctx.history ?? []);
  if (state.writeTarget === 'green' && history.finalized && !ctx.options.force) throw finalizedRefusal(ctx, history.finalized);
  if (state.readWeightGreen !== 0) {
    await j.step('router.setReadWeight', { from: state.readWeightGreen, to: 0, reason: 'rollback' }, () => router.setReadWeight(0));
    ctx.out.ok('rollback', 'reads 0% green');
    done.push('reads to blue');
  }
  const readsBackMs = Math.round(performance.now() - t0);
  const shadowOff = await shadowReadsOff(ctx, 'rollback');
  if (shadowOff) done.push(shadowOff);
  if (state.writeTarget === 'green') {
    return history.finalized ? forcedAfterFinalize(ctx, history.finalized, t0, readsBackMs) : writesBackFromGreen(ctx, history, t0, readsBackMs);
  }

  // writes are on blue: clean up whatever a half-done switch (or an interrupted rollback) left
  if (await fence.isRefusingWrites('blue')) {
    await j.step('fence.allowWrites(blue)', {}, () => fence.allowWrites('blue'));
    done.push('blue accepts writes again');
  }
  if (state.writesHeld) {
    await j.step('router.releaseWrites', {}, () => router.releaseWrites());
    done.push('held writes released to blue');
  }
  if (reverseRunning(await reverse.status().catch(() => null))) {
    await j.step('reverse.stop', {}, () => reverse.stop());
    done.push('reverse replication stopped');
  }
  // a rollback killed after its flip: finish what it had left (green follows blue again)
  let forwardNote = '';
  const resumedAfterFlip = j.completedSteps().includes('router.setWriteTarget(blue)');
  if (resumedAfterFlip && !j.completedSteps().includes('forward.start')) forwardNote = await resumeForward(ctx);
  const blueCheck = await blueAcceptsWrites(ctx);
  const ledger: RollbackLedger = { writesWereOnGreen: resumedAfterFlip, greenLastPosition: null, reverseAppliedPosition: null, reverseSince: null, greenEraRows: [], greenEraRowsTotal: 0, proof: true, unrecoverable: null };
  const summary = resumedAfterFlip
    ? `back on blue: finished a rollback interrupted after its flip (see its ledger in the journal)${done.length ? `: ${done.join(', ')}` : ''}${forwardNote}`
    : done.length
      ? `back on blue: ${done.join(', ')}; green never took writes`
      : 'already on blue (reads 0 % green, writes to blue): nothing to do';
  return {
    ok: blueCheck.ok,
    summary: blueCheck.ok ? summary : `${summary}; BUT ${blueCheck.problem}`,
    figures: { readWeightGreen: 0, writeTarget: 'blue', readsBackMs, toBlueMs: Math.round(performance.now() - t0), blueAcceptsWrites: blueCheck.ok, ledger },
    result: ledger,
  };
}

async function writesBackFromGreen(ctx: PhaseContext, history: ReverseHistory, t0: number, readsBackMs: number): Promise<PhaseOutcome> {
  const { router, fence, reverse, sequences } = ctx.platform;
  const j = ctx.journal;
  const timeoutMs = ctx.env.switch.catchUpTimeoutMs;

  // started before the hold (as the switch does) so the hold stays short; a kept slot resumes where it stopped
  try {
    if (!reverseRunning(await reverse.status().catch(() => null))) {
      const options = history.since ? { fromPosition: history.since } : undefined;
      await j.step('reverse.start', { reason: 'rollback needs green drained into blue', ...options }, () => reverse.start(options));
    }
  } catch (err) {
    return greenUnreachable(ctx, t0, (err as Error).message);
  }
  // The router's cap runs from here: once it runs out the held writes are answered 503. The drain
  // below waits only what is left of it (the reserve kept to release them to green, the safe side).
  const budget = new HoldBudget(ctx.env.switch.maxHoldMs, 'writes left on green (green accepts them again) and released there');
  await j.step('router.holdWrites', { maxHoldMs: ctx.env.switch.maxHoldMs, undoReserveMs: undoReserveMs(ctx.env.switch.maxHoldMs), reason: 'rollback' }, () => router.holdWrites(ctx.env.switch.maxHoldMs));
  ctx.out.ok('rollback', `writes held at the router (at most ${ctx.env.switch.maxHoldMs} ms; green is drained into blue within ${holdBudgetMs(ctx.env.switch.maxHoldMs)} ms of it, else writes stay on green)`);

  // Fence green BEFORE reading its final position: a write that reaches green's database outside
  // the router (a job, a second app) is then either refused or at or before that position.
  const greenFenced = await j
    .step('fence.refuseWrites(green)', {}, () => fence.refuseWrites('green'))
    .then(() => true)
    .catch((err: Error) => {
      ctx.out.warn('rollback', `green could not be made read-only (${err.message}): the router sends it no writes, but writes reaching green's database outside the router after its final position are not on blue`);
      return false;
    });
  if (greenFenced) ctx.out.ok('rollback', 'green fenced (read-only)');

  let greenLastPosition: string;
  try {
    greenLastPosition = await j.step('reverse.sourcePosition', {}, () => reverse.sourcePosition());
  } catch (err) {
    return greenUnreachable(ctx, t0, (err as Error).message);
  }

  // at most switch.catchUpTimeoutMs, and never past the hold's budget (the drain of writes in
  // flight and the fence may have used some); with none left it still looks once: a drain already
  // done flips within the reserve
  const waitMs = Math.min(timeoutMs, budget.leftMs());
  const caughtUp = (await j.step('reverse.waitForPosition', { position: greenLastPosition, timeoutMs: waitMs }, () => reverse.waitForPosition(greenLastPosition, waitMs, ctx.signal)));
  const drained = await reverse.status().catch(() => null);
  const applied = drained?.appliedPosition ?? null;
  if (!caughtUp) {
    // blue lacks some green writes: flipping now would lose them, so writes stay on green
    const why = ctx.signal.aborted
      ? `${INTERRUPTED} while reverse replication drained green into blue (applied ${applied ?? 'unknown'} of green's ${greenLastPosition})`
      : waitMs < timeoutMs
        ? budget.reason(`reverse replication's drain of green into blue (green's final position ${greenLastPosition}, applied ${applied ?? 'unknown'}; waited ${waitMs} ms of switch.catchUpTimeoutMs ${timeoutMs})`)
        : `reverse replication did not apply green's position ${greenLastPosition} within ${timeoutMs} ms (applied ${applied ?? 'unknown'})`;
    return stayOnGreen(ctx, why, greenFenced, { t0, readsBackMs, greenLastPosition, applied }, `check reverse replication (\`${envCommandLine(ctx.env, 'cutover replicate status', ' --direction reverse')}\`: stalled, failed, or blue refusing its writes)`);
  }
  ctx.out.ok('rollback', `reverse replication drained green into blue: applied ${applied ?? '(n/a)'} >= green's final ${greenLastPosition}`);

  // caught up is not applied: a change blue refused (a constraint, a generated column the reverse
  // mapping writes) is a dead letter on blue, and flipping would leave it on green only
  const refused = refusedByBlue(drained, history);
  if (refused && !ctx.options.force) {
    return stayOnGreen(ctx, refusedReason(refused), greenFenced, { t0, readsBackMs, greenLastPosition, applied }, REFUSED_FIX);
  }
  if (refused) ctx.out.warn('rollback', `--force: ${refusedReason(refused)}; writes go to blue without them`);

  // Green's new rows reached blue with ids from green's sequences, which the switch had moved
  // above blue's: without this blue's next insert reuses one of them (duplicate key). After the
  // drain and green's fence green's values are final; before the flip, no write reaches blue.
  const gap = ctx.env.switch.sequenceGap;
  try {
    await j.step(ROLLBACK_SEQUENCES, { gap, direction: 'reverse' }, () => sequences.syncSequences(gap, 'reverse'));
  } catch (err) {
    const why = `blue's sequences could not be moved above green's ids (${(err as Error).message})`;
    return stayOnGreen(ctx, why, greenFenced, { t0, readsBackMs, greenLastPosition, applied }, 'fix the cause (if green\'s database is down, the re-run moves writes to blue anyway and states what is missing)');
  }
  const hold = await flipToBlue(ctx);
  const toBlueMs = Math.round(performance.now() - t0);
  await j.step('reverse.stop', {}, () => reverse.stop());
  const forwardNote = await resumeForward(ctx);
  const blueCheck = await blueAcceptsWrites(ctx);

  // reverse replication has no full load: what it carried back is its CDC change count
  const rows = (drained?.tables ?? []).map((t) => ({ table: t.target, rows: t.cdcChanges ?? t.rows }));
  // the proof is the position reverse replication reports applied, ordered against green's final
  // one; the replicator's own "caught up" counts only where positions cannot be ordered (DMS
  // checkpoints), and an unknown applied position proves nothing
  const ordered = positionAtLeast(applied, greenLastPosition);
  const proof = (ordered ?? (applied !== null && caughtUp)) && !refused;
  const unproven = refused
    ? `; NOT COMPLETE: ${refusedReason(refused)}: they are on green only (${REFUSED_FIX})`
    : proof
    ? ''
    : applied === null
      ? `; NOT PROVEN: reverse replication reports no applied position, so nothing shows blue has green's changes up to ${greenLastPosition} (check \`cutover replicate status --direction reverse\` and validate)`
      : `; NOT PROVEN: reverse replication applied only ${applied}, behind green's final ${greenLastPosition} although it said it caught up: blue may lack green's last changes (check \`cutover replicate status --direction reverse\` and validate)`;
  const ledger: RollbackLedger = {
    writesWereOnGreen: true,
    greenLastPosition,
    reverseAppliedPosition: applied,
    reverseSince: history.since,
    greenEraRows: rows,
    greenEraRowsTotal: rows.reduce((a, r) => a + r.rows, 0),
    proof,
    unrecoverable: null,
    ...(refused ? { refusedByBlue: refused } : {}),
  };
  j.note('rollback.ledger', { ...ledger });
  ctx.out.ok('rollback', `ledger: ${ledger.greenEraRowsTotal} green-era row change(s) applied to blue; reverse applied ${applied ?? '(n/a)'} >= green's last ${greenLastPosition}: ${proof}`);
  // "every green change" only when the journal shows reverse replication running from the switch's position
  const claim = refused
    ? `reverse replication reached green's position ${greenLastPosition}`
    : history.since
    ? `blue has every green change since the switch (reverse replication from ${history.since}) up to ${greenLastPosition}`
    : `reverse replication applied green's changes up to ${greenLastPosition} (the journal does not show where it started, so changes from before its start are not proven)`;
  const ok = proof && blueCheck.ok;
  return {
    ok,
    summary: `back on blue: reads and writes; ${claim}${forwardNote}${blueCheck.ok ? '' : `; BUT ${blueCheck.problem}`}${unproven}`,
    figures: { readWeightGreen: 0, writeTarget: 'blue', readsBackMs, toBlueMs, writePauseMs: hold.holdMs, released: hold.released, blueAcceptsWrites: blueCheck.ok, ledger },
    result: ledger,
  };
}

/**
 * Green's changes since the switch that blue refused: reverse replication's dead letters now, less
 * those blue held when the switch started it (an earlier cycle's). Without the journaled start
 * count every dead letter counts: one left unexplained is no proof either.
 */
export function refusedByBlue(drained: ReplicationStatus | null, history: ReverseHistory): number {
  const now = drained?.deadLetters ?? 0;
  return Math.max(0, now - (history.deadLettersAtStart ?? 0));
}

export function refusedReason(refused: number): string {
  return `blue refused ${refused} of green's changes since the switch (reverse replication's dead letters)`;
}

export const REFUSED_FIX =
  "read them on blue (`select source_table, source_key, change, error from _cutover.dead_letter where direction = 'reverse' order by id`), correct blue or the reverse mapping so it accepts them and apply them there (`cutover rollback --force` moves writes to blue without them)";

/** Blue accepts writes, then writes go there and the held ones are released (every way back to blue ends so). */
async function flipToBlue(ctx: PhaseContext): Promise<{ released: number; holdMs: { p50: number; p99: number; max: number } }> {
  const { router, fence } = ctx.platform;
  const j = ctx.journal;
  await j.step('fence.allowWrites(blue)', {}, () => fence.allowWrites('blue'));
  await j.step('router.setWriteTarget(blue)', {}, () => router.setWriteTarget('blue'));
  const hold = await j.step('router.releaseWrites', {}, () => router.releaseWrites());
  ctx.out.ok('rollback', `writes on blue: ${hold.released} held write(s) released`);
  return hold;
}

/** Checked, not assumed: after the rollback blue must take writes. */
export async function blueAcceptsWrites(ctx: PhaseContext): Promise<{ ok: boolean; problem: string }> {
  const refusing = await ctx.platform.fence.isRefusingWrites('blue').catch((err: Error) => err);
  if (refusing === false) return { ok: true, problem: '' };
  const problem =
    refusing === true
      ? `blue still refuses writes (read-only): client writes FAIL; run \`${envCommandLine(ctx.env, 'cutover rollback')}\` again`
      : `whether blue accepts writes could not be checked (${refusing.message}): check blue and run \`${envCommandLine(ctx.env, 'cutover rollback')}\` again`;
  ctx.out.error('rollback', problem);
  return { ok: false, problem };
}

/**
 * Green follows blue again. Said "resumed" only once the forward worker streams changes (CDC):
 * a worker that begins a full load lost its slot and would copy into a non-empty green.
 */
export async function resumeForward(ctx: PhaseContext): Promise<string> {
  const { forward } = ctx.platform;
  const j = ctx.journal;
  const retry = `\`${envCommandLine(ctx.env, 'cutover replicate start')}\``;
  try {
    const before = await forward.status();
    if (before.phase === 'cdc') return '; forward replication is running (CDC)';
    if (before.phase === 'full-load') return `; forward replication is in a full load, not streaming: check \`${envCommandLine(ctx.env, 'cutover replicate status')}\``;
    const started = await j.step('forward.start', { reason: 'green follows blue again' }, () => forward.start());
    if (started.phase === 'cdc') {
      ctx.out.ok('rollback', 'forward replication resumed (CDC): green follows blue again');
      return '; forward replication resumed (CDC)';
    }
    // no slot any more: a full load into green (which has rows) fails on duplicate keys
    await j.step('forward.stop', { reason: `forward replication came up in ${started.phase}, not CDC` }, () => forward.stop());
    const note = `forward replication NOT resumed: it came up in ${started.phase}, not CDC (its slot on blue is gone), and a full load into a non-empty green fails; stopped it. Green does not follow blue: before another switch, empty green's tables and run ${retry}`;
    ctx.out.warn('rollback', note);
    return `; ${note}`;
  } catch (err) {
    const note = `forward replication could not be resumed (${(err as Error).message}): green does not follow blue; see \`${envCommandLine(ctx.env, 'cutover replicate status')}\`, fix the cause and run ${retry}`;
    ctx.out.warn('rollback', note);
    return `; ${note}`;
  }
}

/**
 * The rollback cannot move writes to blue without losing some (reverse replication did not catch
 * up, was interrupted, or blue's sequences could not be moved): green accepts writes again and
 * the held writes are released to green, so nothing is lost and no client write fails.
 */
async function stayOnGreen(
  ctx: PhaseContext,
  why: string,
  greenFenced: boolean,
  at: { t0: number; readsBackMs: number; greenLastPosition: string; applied: string | null },
  fix: string,
): Promise<PhaseOutcome> {
  const { router, fence } = ctx.platform;
  const j = ctx.journal;
  ctx.out.error('rollback', why);
  if (greenFenced) {
    try {
      await j.step('fence.allowWrites(green)', { reason: 'rollback stopped before the flip' }, () => fence.allowWrites('green'));
    } catch (err) {
      // green cannot take the writes back either: blue is the only side left
      return greenUnreachable(ctx, at.t0, `${why}; then green could not accept writes again: ${(err as Error).message}`);
    }
  }
  await j.step('router.releaseWrites', { reason: why }, () => router.releaseWrites());
  return {
    ok: false,
    summary: `rollback stopped: ${why}; reads are on blue, writes stay on green (green accepts writes) so nothing is lost; ${fix}, then run \`${envCommandLine(ctx.env, 'cutover rollback')}\` again`,
    figures: { readWeightGreen: 0, writeTarget: 'green', readsBackMs: at.readsBackMs, greenLastPosition: at.greenLastPosition, reverseAppliedPosition: at.applied, interrupted: ctx.signal.aborted },
  };
}

/** `rollback --force` after finalize: traffic back to blue, and green's writes since finalize stated as lost. */
async function forcedAfterFinalize(ctx: PhaseContext, f: NonNullable<ReverseHistory['finalized']>, t0: number, readsBackMs: number): Promise<PhaseOutcome> {
  const { router, fence, reverse, sequences } = ctx.platform;
  const j = ctx.journal;
  ctx.out.warn('rollback', `--force after finalize: reverse replication is gone since ${f.stoppedAt}; green's writes since then will NOT be on blue`);
  await j.step('router.holdWrites', { maxHoldMs: ctx.env.switch.maxHoldMs, reason: 'rollback --force after finalize' }, () => router.holdWrites(ctx.env.switch.maxHoldMs));
  await j.step('fence.refuseWrites(green)', {}, () => fence.refuseWrites('green')).catch((err: Error) => ctx.out.warn('rollback', `green could not be made read-only (${err.message})`));
  const greenLast = await j.step('reverse.sourcePosition', {}, () => reverse.sourcePosition()).catch(() => null);
  const gap = ctx.env.switch.sequenceGap;
  await j.step(ROLLBACK_SEQUENCES, { gap, direction: 'reverse' }, () => sequences.syncSequences(gap, 'reverse')).catch((err: Error) =>
    ctx.out.warn('rollback', `blue's sequences were not moved above green's ids (${err.message}): before copying green's rows to blue, raise them with setval(...) above max(id) + ${gap}`),
  );
  const hold = await flipToBlue(ctx);
  const toBlueMs = Math.round(performance.now() - t0);
  const blueCheck = await blueAcceptsWrites(ctx);
  const unrecoverable =
    `every write green acknowledged after reverse replication stopped at ${f.stoppedAt} (finalize), up to green's position ${greenLast ?? '(unknown: green unreachable)'}, is NOT on blue; ` +
    `it is still in green's database (now read-only): copy it to blue by hand before green is removed`;
  ctx.out.error('rollback', unrecoverable);
  const forwardNote = `forward replication not resumed: finalize dropped its slot and green has rows blue lacks; to make green follow blue again, empty green's tables and run \`${envCommandLine(ctx.env, 'cutover replicate start')}\``;
  ctx.out.warn('rollback', forwardNote);
  const ledger: RollbackLedger = { writesWereOnGreen: true, greenLastPosition: greenLast, reverseAppliedPosition: null, reverseSince: null, greenEraRows: [], greenEraRowsTotal: 0, proof: false, unrecoverable };
  j.note('rollback.ledger', { ...ledger, forced: true });
  return {
    ok: false,
    summary: `traffic is back on blue (forced after finalize), but ${unrecoverable}; ${forwardNote}${blueCheck.ok ? '' : `; ${blueCheck.problem}`}`,
    figures: { readWeightGreen: 0, writeTarget: 'blue', readsBackMs, toBlueMs, writePauseMs: hold.holdMs, forcedAfterFinalize: true, blueAcceptsWrites: blueCheck.ok, ledger },
    result: ledger,
  };
}

/** Green's database is gone: traffic goes back to blue anyway, and the loss is stated, not hidden. */
async function greenUnreachable(ctx: PhaseContext, t0: number, why: string): Promise<PhaseOutcome> {
  const { reverse } = ctx.platform;
  const j = ctx.journal;
  ctx.out.error('rollback', `green's database is unreachable (${why}); moving traffic back to blue anyway`);
  const hold = await flipToBlue(ctx);
  const toBlueMs = Math.round(performance.now() - t0);
  const status = await reverse.status().catch(() => null);
  const applied = status?.appliedPosition ?? null;
  const unrecoverable = `every change acknowledged on green after position ${applied ?? '(reverse replication never applied anything)'} is NOT on blue; when green's database is back, \`cutover replicate status\` of reverse replication shows them draining from its slot, or recover them from green's WAL/backups`;
  // green cannot be read, so blue's sequences stay where they were: green's replicated ids are above them
  ctx.out.warn('rollback', `blue's sequences were not moved above green's ids (green unreachable): before blue's inserts reach the ids green handed out (blue's value + ${ctx.env.switch.sequenceGap}), raise them with setval(...) above max(id) + ${ctx.env.switch.sequenceGap}`);
  const ledger: RollbackLedger = {
    writesWereOnGreen: true,
    greenLastPosition: null,
    reverseAppliedPosition: applied,
    reverseSince: null,
    greenEraRows: (status?.tables ?? []).map((t) => ({ table: t.target, rows: t.cdcChanges ?? t.rows })),
    greenEraRowsTotal: (status?.tables ?? []).reduce((a, t) => a + (t.cdcChanges ?? t.rows), 0),
    proof: false,
    unrecoverable,
  };
  j.note('rollback.ledger', { ...ledger, reason: why });
  ctx.out.error('rollback', unrecoverable);
  return {
    ok: false,
    summary: `traffic is back on blue, but green was unreachable (${why}): ${unrecoverable}`,
    figures: { readWeightGreen: 0, writeTarget: 'blue', toBlueMs, writePauseMs: hold.holdMs, ledger },
    result: ledger,
  };
}
