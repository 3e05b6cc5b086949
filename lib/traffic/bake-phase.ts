import type { Phase } from '../engine/phase.ts';
import { runRollback } from './rollback.ts';
import { watchGates } from './gate-watch.ts';
import { routerTarget, streamingLagMs } from './traffic-inputs.ts';

/**
 * Green carries reads and writes for `env.bake.seconds` while the gates stay green (reverse
 * replication is the lag that matters now: it keeps blue ready for a rollback). A failing gate
 * fails the phase and names `cutover rollback`; it does not roll writes back by itself.
 */
export const bakePhase: Phase = {
  name: 'bake',
  requires: ['switch'],
  command: 'cutover bake',
  mutates: false,

  async plan(ctx) {
    return [{ action: 'gates.watch', target: routerTarget(ctx), detail: `${ctx.env.bake.seconds} s: green errors, p99 against blue, reverse replication lag` }];
  },

  async apply(ctx) {
    const seconds = ctx.env.bake.seconds;
    ctx.out.info('bake', `watching the gates for ${seconds} s`);
    const watch = await ctx.journal.step('bake.watch', { seconds }, () => watchGates(ctx, { seconds, lag: () => streamingLagMs(ctx.platform.reverse) }));
    if (!watch.ok) {
      const v = watch.verdict;
      ctx.journal.note('bake.gate-failed', { reasons: v.reasons, ...v.figures });
      return {
        ok: false,
        summary: watch.aborted ? 'bake interrupted' : `bake failed: ${v.reasons.join('; ')}; to go back to blue run \`cutover rollback\``,
        figures: { ...v.figures },
        result: v,
      };
    }
    return { ok: true, summary: `baked ${seconds} s with gates green`, figures: { seconds, ...(watch.last?.figures ?? {}) } };
  },

  async verify(ctx) {
    const done = ctx.journal.completedSteps().includes('bake.watch');
    return { ok: done, summary: done ? 'bake completed' : 'bake has not completed: run `cutover bake`' };
  },

  async rollback(ctx) {
    return runRollback(ctx);
  },
};
