import { describe, expect, test } from 'vitest';
import { SWITCH_STEPS, switchPhase } from '../../lib/traffic/switch-phase.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';

/**
 * The switch's pre-checks at their limits, from the mutation pass (issue 18): lag at the limit
 * passes and one ms more refuses (the shift and bake gates' rule, docs/config-reference.md), and a refusal is journaled and printed with the figures it judged, before anything
 * pauses.
 */
const env = testEnvironment({ gates: { maxLagMs: 1000 }, switch: { catchUpTimeoutMs: 200, maxHoldMs: 5000, sequenceGap: 100 } });

function readyPlatform(lagMs: number | null) {
  const p = fakePlatform();
  p.fakeRouter!.readWeightGreen = 100;
  p.blue.write();
  p.forward.lagMs = lagMs;
  return p;
}

describe('switch pre-checks', () => {
  test('lag one ms above the limit refuses; lag exactly at the limit switches (one rule with the gates)', async () => {
    const p = readyPlatform(1001);
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toBe('switch refused before anything paused: replication lag 1001 ms is above the limit 1000 ms: wait (`cutover replicate wait`) and retry');
    expect(p.log).toEqual([]);
    const at = readyPlatform(1000);
    expect((await switchPhase.apply(phaseContext(env, at))).ok).toBe(true);
  });

  test('a refusal is journaled and printed with the figures it judged, and reports writes still on blue', async () => {
    const p = readyPlatform(1500);
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.figures).toEqual({ readWeightGreen: 100, lagMs: 1500, writeTarget: 'blue' });
    const reason = 'replication lag 1500 ms is above the limit 1000 ms: wait (`cutover replicate wait`) and retry';
    expect(ctx.journal.notes('switch.refused')).toEqual([{ reason, readWeightGreen: 100, lagMs: 1500 }]);
    expect(ctx.out.lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', topic: 'switch', message: reason }]);
    // the journal keeps the limit the lag was judged against
    const check = ctx.journal.entries.find((e) => e.action === SWITCH_STEPS.checkLag && e.status === 'started');
    expect(check?.inputs).toEqual({ maxLagMs: 1000 });
  });

  test('fails if forward replication says a source column added during replication is not replicated: refused before anything paused, naming the column and the fix', async () => {
    const p = readyPlatform(5);
    p.forward.statusExtra = () => ({ unreplicatedColumns: ['public.t_order.gift_note'] });
    const ctx = phaseContext(env, p);
    const outcome = await switchPhase.apply(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.figures).toMatchObject({ writeTarget: 'blue' });
    expect(outcome.summary).toMatch(/^switch refused before anything paused: source column\(s\) public\.t_order\.gift_note added on the source during replication are NOT replicated .*the write switch would leave them behind\. Fix: add each to its target table \(public\.t_order\) and to the forward mapping \S*forward\.json — or remove it there with a remove-column rule if it is not wanted — then `npx cutover replicate stop .*`, `npx cutover replicate start .*`, `npx cutover validate --repair .*`, and `npx cutover switch .*` again$/);
    // nothing held, fenced or started: the router and the fences were only read
    expect(p.log.filter((l) => !l.endsWith('.status') && !l.startsWith('router.state') && !l.startsWith('fence.isRefusingWrites'))).toEqual([]);
    expect(p.fakeRouter!.writeTarget).toBe('blue');
    expect(ctx.journal.notes('switch.refused')).toHaveLength(1);
    // the same platform without the column switches
    p.forward.statusExtra = () => ({});
    expect((await switchPhase.apply(phaseContext(env, p))).ok).toBe(true);
  });
});
