import type { PhaseContext } from '../engine/phase.ts';

/**
 * What apply found, kept for verify of the same run (the engine passes one context object to
 * plan, apply and verify). Verify falls back to reading afresh when there is no memo.
 */
export function outcomeMemo<T>(): { set(ctx: PhaseContext, value: T): void; get(ctx: PhaseContext): T | undefined } {
  const memo = new WeakMap<PhaseContext, T>();
  return {
    set: (ctx, value) => void memo.set(ctx, value),
    get: (ctx) => memo.get(ctx),
  };
}
