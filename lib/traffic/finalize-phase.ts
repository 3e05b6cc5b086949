import type { Phase } from '../engine/phase.ts';

/**
 * Ends the cutover after the bake: reverse replication stopped and its slot dropped, forward
 * replication's leftovers dropped, the cutover marked complete. Backups are kept; blue stays
 * read-only. After this, `rollback` can no longer drain green into blue.
 */
export const finalizePhase: Phase = {
  name: 'finalize',
  requires: ['bake'],
  command: 'cutover finalize',
  mutates: true,

  async plan() {
    return [
      { action: 'reverse.stop', target: 'reverse replication' },
      { action: 'reverse.teardown', target: 'green database', detail: 'drop slot and publication' },
      { action: 'forward.teardown', target: 'blue database', detail: 'drop slot and publication' },
      { action: 'cutover.complete', target: 'journal', detail: 'backups are kept' },
    ];
  },

  async apply(ctx) {
    const { forward, reverse } = ctx.platform;
    const j = ctx.journal;
    const done = j.completedSteps();
    const once = async (action: string, fn: () => Promise<unknown>) => {
      if (!done.includes(action)) await j.step(action, {}, fn);
    };
    await once('reverse.stop', () => reverse.stop());
    await once('reverse.teardown', () => reverse.teardown());
    await once('forward.stop', () => forward.stop());
    await once('forward.teardown', () => forward.teardown());
    await once('cutover.complete', async () => ({ completedAt: ctx.clock.now().toISOString() }));
    return { ok: true, summary: 'cutover complete: replication torn down, backups kept', figures: { complete: true } };
  },

  async verify(ctx) {
    const [f, r] = await Promise.all([ctx.platform.forward.status(), ctx.platform.reverse.status()]);
    const running = [f, r].filter((s) => s.phase === 'cdc' || s.phase === 'full-load').map((s) => s.direction);
    return running.length
      ? { ok: false, summary: `replication still running: ${running.join(', ')}` }
      : { ok: true, summary: 'replication stopped and torn down' };
  },

  async rollback() {
    return { ok: false, summary: 'finalize cannot be rolled back: replication slots are gone; restore from backups (`cutover restore`) if needed' };
  },
};
