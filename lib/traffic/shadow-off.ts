import type { PhaseContext, PlanStep } from '../engine/phase.ts';
import { shadowRouterTarget } from './traffic-inputs.ts';

/**
 * Turning shadow reads off on the way back to blue. The shadow phase turns mirroring off when it
 * ends, but a process killed during it leaves the router mirroring, and the router mirrors again
 * whenever reads are back at 0 % green — so every rollback checks, turns it off, and says so.
 */

/** The plan step, when the router is mirroring now (none when it is not, or cannot say). */
export async function planShadowOff(ctx: PhaseContext): Promise<PlanStep[]> {
  const shadow = ctx.platform.shadow;
  if (!shadow) return [];
  const settings = await shadow.shadowFigures().then((f) => f.settings, () => undefined);
  if (settings === null) return [];
  const what = settings ? `mirroring ${settings.percent} % of GET/HEAD to green` : 'the router did not say whether it mirrors';
  return [{ action: 'router.configureShadow', target: shadowRouterTarget(ctx), detail: `shadow reads off (${what})` }];
}

/**
 * Turns mirroring off when the router mirrors (or cannot say), journaled and printed; returns
 * what was done for the summary, or null when it was already off. A router that refuses is a
 * warning, never a failed rollback: shadow calls never change what clients get.
 */
export async function shadowReadsOff(ctx: PhaseContext, topic: string): Promise<string | null> {
  const shadow = ctx.platform.shadow;
  if (!shadow) return null;
  const settings = await shadow.shadowFigures().then((f) => f.settings, () => undefined);
  if (settings === null) return null;
  const was = settings ? `it mirrored ${settings.percent} % of GET/HEAD to green` : 'the router did not say whether it mirrored';
  try {
    await ctx.journal.step('router.configureShadow', { percent: 0, reason: topic }, () => shadow.configureShadow(null));
  } catch (err) {
    ctx.out.warn(topic, `shadow reads could not be turned off (${(err as Error).message}); ${was}: turn them off with \`PUT ${ctx.env.platform === 'postgres' ? (ctx.env.router?.adminUrl ?? '') : ''}/shadow {"percent":0}\``);
    return null;
  }
  ctx.out.ok(topic, `shadow reads off (${was})`);
  return 'shadow reads off';
}
