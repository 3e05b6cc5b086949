import type { PhaseContext } from '../engine/phase.ts';
import type { Replicator } from '../platform/roles.ts';

/**
 * Facts the traffic phases read from the context, in one place so every phase reads them the
 * same way on every platform.
 */

/**
 * Lag of a replicator that is streaming changes, as the replicator measures it against the source;
 * null when it is not streaming (stopped, failed, loading, or stalled: heartbeat too old), so every
 * gate fails on it.
 */
export async function streamingLagMs(replicator: Replicator): Promise<number | null> {
  try {
    const s = await replicator.status();
    if (s.phase !== 'cdc') return null;
    return s.lagMs;
  } catch {
    return null;
  }
}

/**
 * Age of the last passing validation, from `ctx.options.lastValidationAt` (ISO time or Date),
 * which the engine passes from its journal. undefined when the engine does not say (the
 * `validate` phase having verified is then the only evidence, and the age is not judged).
 */
export function validationAgeSeconds(ctx: PhaseContext): number | undefined {
  const at = ctx.options.lastValidationAt;
  if (at === undefined || at === null) return undefined;
  const ms = at instanceof Date ? at.getTime() : Date.parse(String(at));
  if (!Number.isFinite(ms)) return undefined;
  return Math.max(0, (ctx.clock.now().getTime() - ms) / 1000);
}

/** Where smoke checks reach green directly: `--smoke-url`, else the postgres env's `apps.green.url`. */
export function greenAppUrl(ctx: PhaseContext): string | undefined {
  if (typeof ctx.options.smokeUrl === 'string') return ctx.options.smokeUrl;
  return ctx.env.platform === 'postgres' ? ctx.env.apps.green?.url : undefined;
}

/** Names the router in plan steps and messages. */
export function routerTarget(ctx: PhaseContext): string {
  if (ctx.env.platform === 'postgres') return `router ${ctx.env.router?.adminUrl ?? '(router.adminUrl not set)'}`;
  return 'ALB listener';
}

/** What mirrors shadow reads: the kit's router (on aws: the one named in `shadowRouter`, in front of blue). */
export function shadowRouterTarget(ctx: PhaseContext): string {
  if (ctx.env.platform === 'aws' && ctx.env.shadowRouter) return `router ${ctx.env.shadowRouter.adminUrl} (in front of blue, behind the ALB)`;
  return routerTarget(ctx);
}
