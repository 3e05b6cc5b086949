import { commandLine } from '../engine/command-line.ts';
import { unfinishedRollback, unfinishedRun, verifiedPhases, writesSwitchedToGreen } from '../engine/journal-history.ts';
import type { JournalRecord } from '../engine/journal-store.ts';
import type { PhaseContext, PhaseOutcome, PlanStep, StandaloneStep } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import type { KitCleaner, KitTrace, RouterState, Side } from '../platform/roles.ts';

const SIDE_OF: Record<KitTrace['side'], Side> = { source: 'blue', target: 'green' };

/** The journal step name of removing one object, e.g. `drop slot source:cutover_lab`. */
function dropStep(t: KitTrace): string {
  return `drop ${t.kind} ${t.side}:${t.name}`;
}

function describe(t: KitTrace): string {
  return `${t.kind} ${t.name} on the ${t.side}${t.detail ? ` (${t.detail})` : ''}`;
}

/** Sides the kit made read-only at some point (switch or rollback), per the journal. */
function sidesFencedByKit(history: readonly JournalRecord[]): Side[] {
  return (['blue', 'green'] as const).filter((side) => history.some((r) => r.action === `fence.refuseWrites(${side})` && (r.status === 'ok' || r.status === 'started')));
}

function cleanerOf(ctx: PhaseContext): KitCleaner {
  const cleaner = ctx.platform.cleaner;
  if (!cleaner) {
    throw new CutoverError('NOT_SUPPORTED', `cancel is not available on the ${ctx.platform.name} platform: it cannot list the kit's objects there`, {
      received: ctx.platform.name,
      allowed: 'postgres',
      fix: ctx.platform.name === 'aws' ? 'stop and delete the DMS tasks and their slots by hand (`cdk destroy` removes the replication stack)' : 'use a postgres environment',
    });
  }
  return cleaner;
}

/** The router's state, or null when the environment has none (traffic is then the operator's). */
async function routerState(ctx: PhaseContext): Promise<RouterState | null> {
  try {
    return await ctx.platform.router.state();
  } catch (err) {
    if (err instanceof CutoverError && err.code === 'NOT_SUPPORTED') return null;
    throw err;
  }
}

function writesOnGreenRefusal(why: string, commandLine: (c: string) => string, finalized?: JournalRecord): CutoverError {
  return new CutoverError('PRECONDITION_FAILED', `cancel undoes a cutover only before the write switch, and ${why}${finalized ? ` and the cutover was finalized at ${finalized.time}` : ''}: nothing was changed`, {
    received: why,
    allowed: 'cancel before the write switch (or after a finished rollback)',
    // after finalize a rollback is refused too: there is nothing to undo
    fix: finalized
      ? `nothing to cancel: the cutover is complete and green is the system of record (\`${commandLine('cutover status')}\`)`
      : `run \`${commandLine('cutover rollback')}\` (it drains green into blue and moves writes back), then \`${commandLine('cutover cancel')}\``,
    changedNothing: true,
  });
}

/** Running workers, reads on green and the kit's fences: what cancel changes besides dropping objects. */
async function preludeSteps(ctx: PhaseContext, router: RouterState | null): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  if (router && router.readWeightGreen > 0) steps.push({ action: 'router.setReadWeight', target: 'router', detail: `reads ${router.readWeightGreen} % -> 0 % green: green stops following blue` });
  for (const direction of ['forward', 'reverse'] as const) {
    const s = await ctx.platform[direction].status().catch(() => null);
    if (s && (s.phase === 'full-load' || s.phase === 'cdc' || s.worker?.alive)) steps.push({ action: `${direction}.stop`, target: `${direction} replication worker${s.worker ? ` pid ${s.worker.pid}` : ''}`, detail: s.phase });
  }
  return steps;
}

async function fenceSteps(ctx: PhaseContext): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  for (const side of sidesFencedByKit(ctx.history ?? [])) {
    if (await ctx.platform.fence.isRefusingWrites(side).catch(() => false)) {
      steps.push({ action: `fence.allowWrites(${side})`, target: `${side} database`, detail: 'the kit made it read-only (switch or rollback): writable again' });
    }
  }
  return steps;
}

/**
 * `cutover cancel`: undo a cutover that has not switched writes. Stops the replication workers,
 * moves reads back to blue (when a router is configured), drops every slot, publication and
 * replication origin of the kit and its `_cutover` schema on both databases (listed from their
 * catalogs: the dry-run shows exactly what goes), and lifts a write fence the kit left. Backups
 * and the target's rows are kept; dead letters are written to a file first. Refused once writes
 * are on green (that is `rollback`'s job). Safe to run twice: the second run finds nothing.
 */
export const cancelStep: StandaloneStep = {
  name: 'cancel',
  command: 'cutover cancel',
  refusal({ history, commandLine }) {
    const switched = writesSwitchedToGreen(history);
    if (switched) return writesOnGreenRefusal(`writes are on green since the write switch at ${switched.time}`, commandLine, verifiedPhases(history).get('finalize'));
    const rb = unfinishedRollback(history);
    if (rb) return writesOnGreenRefusal(`the rollback started at ${rb.record.time} ${rb.how === 'failed' ? 'failed' : 'did not finish'}, so writes may still be on green`, commandLine);
    const sw = unfinishedRun(history, 'switch');
    if (sw) return writesOnGreenRefusal(`the write switch started at ${sw.started.time} did not finish, so writes may be held or on green`, commandLine);
    return null;
  },
  async plan(ctx) {
    const cleaner = cleanerOf(ctx);
    const router = await routerState(ctx);
    if (router?.writeTarget === 'green') throw writesOnGreenRefusal('the router sends writes to green', (c) => commandLine(c, ctx.env.name, ctx.env.configFile));
    const traces = await cleaner.inventory();
    const steps = [
      ...(await preludeSteps(ctx, router)),
      ...traces.map((t) => ({ action: `drop ${t.kind}`, target: `${t.side} ${t.name}`, ...(t.detail ? { detail: t.detail } : {}) })),
      ...(await fenceSteps(ctx)),
    ];
    return steps.length ? steps : [{ action: 'none', target: 'source and target databases', detail: "nothing of the kit is left: no slot, publication, replication origin or _cutover schema" }];
  },
  async apply(ctx) {
    const cleaner = cleanerOf(ctx);
    const j = ctx.journal;
    const router = await routerState(ctx);
    if (router?.writeTarget === 'green') throw writesOnGreenRefusal('the router sends writes to green', (c) => commandLine(c, ctx.env.name, ctx.env.configFile));
    const done: string[] = [];
    if (router && router.readWeightGreen > 0) {
      await j.step('router.setReadWeight', { from: router.readWeightGreen, to: 0, reason: 'cancel' }, () => ctx.platform.router.setReadWeight(0));
      done.push('reads 0 % green');
    }
    // workers first: a running worker would recreate what is dropped, and holds its slot and origin
    for (const direction of ['forward', 'reverse'] as const) {
      const s = await ctx.platform[direction].status().catch(() => null);
      if (!s || s.phase === 'not-started') continue;
      await j.step(`${direction}.stop`, { was: s.phase }, () => ctx.platform[direction].stop());
      if (s.phase === 'full-load' || s.phase === 'cdc') done.push(`${direction} worker stopped`);
    }
    const traces = await cleaner.inventory();
    const kept: string[] = [];
    const dropped: KitTrace[] = [];
    // a trace the role may not drop (the publication its owner made for a least-privilege role, a
    // schema something else depends on) must not keep cancel from removing the others
    const refused: CutoverError[] = [];
    for (const t of traces) {
      let file: string | null | void;
      try {
        file = await j.step(dropStep(t), { side: t.side, kind: t.kind, name: t.name, detail: t.detail ?? null }, () => cleaner.remove(t));
      } catch (err) {
        if (!(err instanceof CutoverError) || err.code !== 'PRECONDITION_FAILED') throw err;
        ctx.out.error('cancel', `kept ${describe(t)}: ${err.message}`);
        refused.push(err);
        continue;
      }
      ctx.out.ok('cancel', `dropped ${describe(t)}`);
      dropped.push(t);
      if (file) kept.push(file);
    }
    if (dropped.length) done.push(`dropped ${dropped.map((t) => `${t.kind} ${t.name} (${t.side})`).join(', ')}`);
    for (const side of sidesFencedByKit(ctx.history ?? [])) {
      if (!(await ctx.platform.fence.isRefusingWrites(side).catch(() => false))) continue;
      await j.step(`fence.allowWrites(${side})`, { reason: 'cancel' }, () => ctx.platform.fence.allowWrites(side));
      done.push(`${side} accepts writes again`);
    }
    if (kept.length) done.push(`dead letters kept in ${kept.join(', ')}`);
    if (refused.length === 1) throw refused[0]!;
    if (refused.length) {
      throw new CutoverError('PRECONDITION_FAILED', `cancel removed the rest but not ${refused.length} object(s): ${refused.map((e) => e.message).join('; ')}`, {
        fix: `${refused.map((e) => e.details.fix).filter(Boolean).join('; ')}; then run cancel again`,
      });
    }
    const summary = done.length
      ? `cancelled: ${done.join('; ')}; backups and the target's rows are kept`
      : "nothing left to cancel: no worker, slot, publication, replication origin or _cutover schema of the kit on either database";
    return { ok: true, summary, figures: { dropped: dropped.length, deadLetterFiles: kept }, result: { dropped, deadLetterFiles: kept } };
  },
  async verify(ctx) {
    const left = await cleanerOf(ctx).inventory();
    if (left.length) return { ok: false, summary: `still there: ${left.map(describe).join('; ')}`, result: { left } };
    return { ok: true, summary: 'no slot, publication, replication origin or _cutover schema of the kit is left on either database', result: { left } };
  },
};
