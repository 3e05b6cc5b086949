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

/** A lag reading for a gate that opens traffic, and why it cannot open it yet whatever the lag. */
export interface LagReading {
  readonly lagMs: number | null;
  /** Set while the reading cannot open the gate: the worker is reconnecting, or its status predates `notBeforeMs`. */
  readonly notYet: string | null;
}

/** How long a gate waits, quietly, for a worker status written since it began (workers write every 250 ms). */
export const FRESH_STATUS_WAIT_MS = 1000;

/**
 * The lag of a replicator that is streaming now: a worker re-establishing a lost connection (a
 * restarted target) applies nothing and will first catch up with what it missed, so its lag, low
 * as it may read, opens nothing; nor does a worker status written before `notBeforeMs` (a starved
 * worker's last word, maybe from before a restart it has not yet seen) — one written since is
 * waited for, quietly, up to FRESH_STATUS_WAIT_MS. Platforms whose status names no worker (AWS
 * DMS) are judged on their lag alone.
 */
export async function freshStreamingLag(replicator: Replicator, notBeforeMs: number): Promise<LagReading> {
  const waitUntil = Date.now() + FRESH_STATUS_WAIT_MS;
  for (;;) {
    let s: Awaited<ReturnType<Replicator['status']>>;
    try {
      s = await replicator.status();
    } catch {
      return { lagMs: null, notYet: null };
    }
    if (s.phase !== 'cdc') return { lagMs: null, notYet: null };
    if (s.reconnectingSince) {
      const ms = Math.max(0, Date.now() - Date.parse(s.reconnectingSince));
      return { lagMs: s.lagMs, notYet: `replication is reconnecting (a connection lost ${ms} ms ago${s.error ? `: ${s.error.slice(0, 160)}` : ''}): it applies nothing until it is back, then catches up with what it missed` };
    }
    const writtenAt = s.worker ? Date.parse(s.worker.heartbeatAt) : Number.NaN;
    if (!Number.isFinite(writtenAt) || writtenAt >= notBeforeMs) return { lagMs: s.lagMs, notYet: null };
    if (Date.now() >= waitUntil) {
      return { lagMs: s.lagMs, notYet: `the replication worker (pid ${s.worker!.pid}) has written no status since this check began (its last is ${Math.round(Date.now() - writtenAt)} ms old): its lag is not known to be current` };
    }
    await new Promise((r) => setTimeout(r, 100));
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
