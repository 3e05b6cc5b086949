import type { PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import type { ReplicationStatus } from '../platform/roles.ts';
import { positionAtLeast } from './position-order.ts';
import { routerTarget } from './traffic-inputs.ts';

/** What the rollback proves about writes taken by green (printed as the rollback ledger). */
export interface RollbackLedger {
  /** Whether green took writes (the write switch had flipped). */
  readonly writesWereOnGreen: boolean;
  /** Green's last position when writes were held; every green write is at or before it. */
  readonly greenLastPosition: string | null;
  /** Last green position reverse replication applied to blue. */
  readonly reverseAppliedPosition: string | null;
  /** Rows reverse replication applied to blue (green-era writes, per table). */
  readonly greenEraRows: { table: string; rows: number }[];
  readonly greenEraRowsTotal: number;
  /** true: blue has every green change (applied >= green's last); false: some are not on blue. */
  readonly proof: boolean;
  /** What could not be copied to blue, when green was unreachable. */
  readonly unrecoverable: string | null;
}

/** Journal action of the rollback's sequence step (the switch's is `sequences.syncSequences`). */
export const ROLLBACK_SEQUENCES = 'sequences.syncSequences(reverse)';

const reverseRunning = (s: ReplicationStatus | null) => s?.phase === 'cdc' || s?.phase === 'full-load';

/** What `cutover rollback --dry-run` prints, read from the current state only. */
export async function planRollback(ctx: PhaseContext): Promise<PlanStep[]> {
  const { router, fence, reverse } = ctx.platform;
  const r = routerTarget(ctx);
  const state = await router.state();
  const steps: PlanStep[] = [];
  if (state.readWeightGreen !== 0) steps.push({ action: 'router.setReadWeight', target: r, detail: `reads ${state.readWeightGreen} % -> 0 % green, at once` });
  if (state.writeTarget === 'green') {
    steps.push(
      { action: 'router.holdWrites', target: r, detail: `writes held at most ${ctx.env.switch.maxHoldMs} ms` },
      { action: 'reverse.waitForPosition', target: 'blue database', detail: `reverse replication applies green's last position (timeout ${ctx.env.switch.catchUpTimeoutMs} ms: writes stay on green, nothing lost)` },
      { action: 'fence.refuseWrites(green)', target: 'green database' },
      { action: ROLLBACK_SEQUENCES, target: 'blue database', detail: `blue's sequences above green's ids + ${ctx.env.switch.sequenceGap} (green's rows reached blue without moving them)` },
      { action: 'fence.allowWrites(blue)', target: 'blue database' },
      { action: 'router.setWriteTarget(blue)', target: r },
      { action: 'router.releaseWrites', target: r, detail: 'held writes go to blue' },
      { action: 'reverse.stop', target: 'reverse replication' },
      { action: 'forward.start', target: 'forward replication', detail: 'green follows blue again' },
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
 * green, they are held while reverse replication drains green into blue, green is fenced, blue's
 * sequences are moved above green's ids, then writes are flipped to blue and released. If green's database cannot be reached, traffic still goes back to blue and the
 * outcome says exactly from which position green's changes are missing on blue.
 */
export async function runRollback(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { router, fence, reverse } = ctx.platform;
  const j = ctx.journal;
  const t0 = performance.now();
  const done: string[] = [];
  const state = await router.state();
  if (state.readWeightGreen !== 0) {
    await j.step('router.setReadWeight', { from: state.readWeightGreen, to: 0, reason: 'rollback' }, () => router.setReadWeight(0));
    done.push('reads to blue');
  }
  const readsBackMs = Math.round(performance.now() - t0);
  if (state.writeTarget === 'green') return writesBackFromGreen(ctx, t0, readsBackMs);

  // writes are on blue: clean up whatever a half-done switch left
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
  const ledger: RollbackLedger = { writesWereOnGreen: false, greenLastPosition: null, reverseAppliedPosition: null, greenEraRows: [], greenEraRowsTotal: 0, proof: true, unrecoverable: null };
  return {
    ok: true,
    summary: done.length ? `back on blue: ${done.join(', ')}; green never took writes` : 'already on blue (reads 0 % green, writes to blue): nothing to do',
    figures: { readWeightGreen: 0, writeTarget: 'blue', readsBackMs, toBlueMs: Math.round(performance.now() - t0), ledger },
    result: ledger,
  };
}

async function writesBackFromGreen(ctx: PhaseContext, t0: number, readsBackMs: number): Promise<PhaseOutcome> {
  const { router, fence, forward, reverse, sequences } = ctx.platform;
  const j = ctx.journal;
  const timeoutMs = ctx.env.switch.catchUpTimeoutMs;
  await j.step('router.holdWrites', { maxHoldMs: ctx.env.switch.maxHoldMs, reason: 'rollback' }, () => router.holdWrites(ctx.env.switch.maxHoldMs));

  let greenLastPosition: string;
  try {
    if (!reverseRunning(await reverse.status().catch(() => null))) {
      await j.step('reverse.start', { reason: 'rollback needs green drained into blue' }, () => reverse.start());
    }
    greenLastPosition = await j.step('reverse.sourcePosition', {}, () => reverse.sourcePosition());
  } catch (err) {
    return greenUnreachable(ctx, t0, (err as Error).message);
  }

  const caughtUp = await j.step('reverse.waitForPosition', { position: greenLastPosition, timeoutMs }, () => reverse.waitForPosition(greenLastPosition, timeoutMs, ctx.signal));
  const drained = await reverse.status().catch(() => null);
  if (!caughtUp) {
    // blue lacks some green writes: flipping now would lose them, so writes stay on green
    await j.step('router.releaseWrites', { reason: 'reverse replication did not catch up' }, () => router.releaseWrites());
    return {
      ok: false,
      summary: `rollback stopped: reverse replication did not apply green's position ${greenLastPosition} within ${timeoutMs} ms (applied ${drained?.appliedPosition ?? 'unknown'}); reads are on blue, writes stay on green so nothing is lost; check \`cutover replicate status\` and run \`cutover rollback\` again`,
      figures: { readWeightGreen: 0, writeTarget: 'green', readsBackMs, greenLastPosition, reverseAppliedPosition: drained?.appliedPosition ?? null },
    };
  }

  const greenFenced = await j
    .step('fence.refuseWrites(green)', {}, () => fence.refuseWrites('green'))
    .then(() => true)
    .catch((err: Error) => {
      // writes are held and go to blue next: green gets none from the router either way
      ctx.out.warn('rollback', `green could not be made read-only (${err.message}); the router sends it no writes`);
      return false;
    });
  // Green's new rows reached blue with ids from green's sequences, which the switch had moved
  // above blue's: without this blue's next insert reuses one of them (duplicate key). After the
  // drain and green's fence green's values are final; before the flip, no write reaches blue.
  const gap = ctx.env.switch.sequenceGap;
  try {
    await j.step(ROLLBACK_SEQUENCES, { gap, direction: 'reverse' }, () => sequences.syncSequences(gap, 'reverse'));
  } catch (err) {
    return sequencesFailed(ctx, (err as Error).message, greenFenced, { t0, readsBackMs, greenLastPosition, applied: drained?.appliedPosition ?? null });
  }
  await j.step('fence.allowWrites(blue)', {}, () => fence.allowWrites('blue'));
  await j.step('router.setWriteTarget(blue)', {}, () => router.setWriteTarget('blue'));
  const hold = await j.step('router.releaseWrites', {}, () => router.releaseWrites());
  const toBlueMs = Math.round(performance.now() - t0);
  await j.step('reverse.stop', {}, () => reverse.stop());
  let forwardNote = '';
  try {
    const fwd = await forward.status();
    if (fwd.phase === 'stopped' || fwd.phase === 'failed') {
      await j.step('forward.start', { reason: 'green follows blue again' }, () => forward.start());
      forwardNote = '; forward replication resumed';
    }
  } catch (err) {
    forwardNote = `; forward replication could not be resumed (${(err as Error).message}): run \`cutover replicate start\``;
  }

  // reverse replication has no full load: what it carried back is its CDC change count
  const rows = (drained?.tables ?? []).map((t) => ({ table: t.target, rows: t.cdcChanges ?? t.rows }));
  const applied = drained?.appliedPosition ?? null;
  const proof = positionAtLeast(applied, greenLastPosition) ?? caughtUp;
  const ledger: RollbackLedger = {
    writesWereOnGreen: true,
    greenLastPosition,
    reverseAppliedPosition: applied,
    greenEraRows: rows,
    greenEraRowsTotal: rows.reduce((a, r) => a + r.rows, 0),
    proof,
    unrecoverable: null,
  };
  j.note('rollback.ledger', { ...ledger });
  ctx.out.ok('rollback', `ledger: ${ledger.greenEraRowsTotal} green-era row change(s) applied to blue; reverse applied ${applied ?? '(n/a)'} >= green's last ${greenLastPosition}: ${proof}`);
  return {
    ok: proof,
    summary: `back on blue: reads and writes; blue has every green change up to ${greenLastPosition}${forwardNote}`,
    figures: { readWeightGreen: 0, writeTarget: 'blue', readsBackMs, toBlueMs, writePauseMs: hold.holdMs, released: hold.released, ledger },
    result: ledger,
  };
}

/**
 * Blue's sequences could not be moved above green's ids: flipping now would fail blue's inserts
 * with duplicate keys, so writes stay on green (like a catch-up timeout) and nothing is lost.
 */
async function sequencesFailed(
  ctx: PhaseContext,
  why: string,
  greenFenced: boolean,
  at: { t0: number; readsBackMs: number; greenLastPosition: string; applied: string | null },
): Promise<PhaseOutcome> {
  const { router, fence } = ctx.platform;
  const j = ctx.journal;
  ctx.out.error('rollback', `blue's sequences could not be moved above green's ids (${why})`);
  if (greenFenced) {
    try {
      await j.step('fence.allowWrites(green)', { reason: 'rollback stopped at the sequences' }, () => fence.allowWrites('green'));
    } catch (err) {
      // green cannot take the writes back either: blue is the only side left
      return greenUnreachable(ctx, at.t0, `${why}; then green could not accept writes again: ${(err as Error).message}`);
    }
  }
  await j.step('router.releaseWrites', { reason: 'blue\'s sequences not moved' }, () => router.releaseWrites());
  return {
    ok: false,
    summary: `rollback stopped: blue's sequences could not be moved above green's ids (${why}); reads are on blue, writes stay on green so nothing is lost and no insert on blue hits a duplicate key; fix the cause and run \`cutover rollback\` again (if green's database is down, the re-run moves writes to blue anyway and states what is missing)`,
    figures: { readWeightGreen: 0, writeTarget: 'green', readsBackMs: at.readsBackMs, greenLastPosition: at.greenLastPosition, reverseAppliedPosition: at.applied },
  };
}

/** Green's database is gone: traffic goes back to blue anyway, and the loss is stated, not hidden. */
async function greenUnreachable(ctx: PhaseContext, t0: number, why: string): Promise<PhaseOutcome> {
  const { router, fence, reverse } = ctx.platform;
  const j = ctx.journal;
  ctx.out.error('rollback', `green's database is unreachable (${why}); moving traffic back to blue anyway`);
  await j.step('fence.allowWrites(blue)', {}, () => fence.allowWrites('blue'));
  await j.step('router.setWriteTarget(blue)', {}, () => router.setWriteTarget('blue'));
  const hold = await j.step('router.releaseWrites', {}, () => router.releaseWrites());
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
