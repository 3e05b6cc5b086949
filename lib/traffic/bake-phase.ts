import type { Phase } from '../engine/phase.ts';
import { refusedByBlue, refusedReason, reverseHistory, runRollback } from './rollback.ts';
import { describeFigures } from './gates.ts';
import { watchGates } from './gate-watch.ts';
import { routerTarget, streamingLagMs } from './traffic-inputs.ts';

/**
 * Green carries reads and writes for `env.bake.seconds` while the gates stay green (reverse
 * replication is the lag that matters now: it keeps blue ready for a rollback). A failing gate
 * fails the phase and names `cutover rollback`; it does not roll writes back by itself. Too few
 * green requests (`gates.minRequests`) is not green: the bake waits for them (bounded), then
 * fails as not proven, with the fix, without advising a rollback nothing showed a need for.
 */
export const bakePhase: Phase = {
  name: 'bake',
  requires: ['switch'],
  command: 'cutover bake',
  mutates: false,

  async plan(ctx) {
    return [{ action: 'gates.watch', target: routerTarget(ctx), detail: `${ctx.env.bake.seconds} s: green errors, p99 against blue, reverse replication lag, at least ${ctx.env.gates.minRequests} green requests` }];
  },

  async apply(ctx) {
    const seconds = ctx.env.bake.seconds;
    const { gates } = ctx.env;
    ctx.out.info('bake', `watching the gates for ${seconds} s: green errors <= ${Math.round(gates.maxErrorRatio * 10_000) / 100} % (beyond chance at 95 % confidence), p99 <= ${gates.maxP99RatioToBlue}x blue's (p90 or median below 100 green requests), reverse lag <= ${gates.maxLagMs} ms, at least ${gates.minRequests} green requests`);
    const watch = await ctx.journal.step('bake.watch', { seconds }, async () => {
      const w = await watchGates(ctx, {
        seconds,
        lag: () => streamingLagMs(ctx.platform.reverse),
        alarms: ctx.platform.alarms ? () => ctx.platform.alarms!.judge('bake') : undefined,
        topic: 'bake',
        unprovenFix: 'send real traffic through the router (the bake needs gates.minRequests green requests), or set gates.minRequests lower in the config (0: no proof needed); then run `cutover bake` again — nothing says green is unhealthy, it is just not proven',
      });
      // a failed watch must not journal bake.watch as done (verify reads that step)
      if (!w.ok) throw new BakeNotPassed(w);
      // the bake proves that a rollback stays possible too: a green change blue refused (a reverse
      // dead letter) would be on green only after one, and the rollback stops on it
      const refused = refusedByBlue(await ctx.platform.reverse.status().catch(() => null), reverseHistory(ctx.history ?? []));
      if (refused) throw new BakeRefusedByBlue(refused, w.verdict.figures);
      return w;
    }).catch((err: unknown) => {
      if (err instanceof BakeNotPassed) return err.watch;
      if (err instanceof BakeRefusedByBlue) return err;
      throw err;
    });
    if (watch instanceof BakeRefusedByBlue) {
      const reason = `${refusedReason(watch.refused)}: a rollback would stop on them`;
      ctx.journal.note('bake.gate-failed', { reasons: [reason], refusedByBlue: watch.refused, ...watch.figures });
      return {
        ok: false,
        summary: `bake failed: ${reason}; read them on blue (\`select source_table, source_key, error from _cutover.dead_letter where direction = 'reverse' order by id\`), correct blue or the reverse mapping so that it accepts them, apply them there, then run \`cutover bake\` again (${describeFigures(watch.figures, 'reverse lag')})`,
        figures: { ...watch.figures, refusedByBlue: watch.refused },
      };
    }
    if (!watch.ok) {
      const v = watch.verdict;
      ctx.journal.note('bake.gate-failed', { reasons: v.reasons, notProven: watch.unproven === true, ...v.figures });
      const summary = watch.aborted
        ? 'bake interrupted'
        : watch.unproven
          ? `bake not proven: ${v.reasons.join('; ')}`
          : `bake failed: ${v.reasons.join('; ')}; to go back to blue run \`cutover rollback\``;
      return { ok: false, summary: `${summary} (${describeFigures(v.figures, 'reverse lag')})`, figures: { ...v.figures, notProven: watch.unproven === true }, result: v };
    }
    const f = watch.verdict.figures;
    return {
      ok: true,
      summary: `baked ${Math.round(watch.watchedSeconds)} s with gates green: ${describeFigures(f, 'reverse lag')}`,
      figures: { seconds, watchedSeconds: watch.watchedSeconds, ...f },
    };
  },

  async verify(ctx) {
    const done = ctx.journal.completedSteps().includes('bake.watch');
    return { ok: done, summary: done ? 'bake completed' : 'bake has not completed: run `cutover bake`' };
  },

  async rollback(ctx) {
    return runRollback(ctx);
  },
};

/** Carries a failed watch out of its journal step, so the step is journaled failed, not ok. */
class BakeNotPassed extends Error {
  constructor(readonly watch: Extract<Awaited<ReturnType<typeof watchGates>>, { ok: false }>) {
    super('bake gates did not pass');
  }
}

/** Carries green changes blue refused (reverse dead letters since the switch) out of the watch's journal step. */
class BakeRefusedByBlue extends Error {
  constructor(
    readonly refused: number,
    readonly figures: Parameters<typeof describeFigures>[0],
  ) {
    super('blue refused some of green\'s changes');
  }
}
