import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { summarizePhases, writesSwitchedToGreen } from '../../lib/engine/journal-history.ts';
import type { PhaseRegistry } from '../../lib/engine/engine.ts';
import type { ShadowMirror } from '../../lib/platform/roles.ts';
import { shadowPhase } from '../../lib/traffic/shadow-phase.ts';
import { shiftPhase } from '../../lib/traffic/shift-phase.ts';
import { switchPhase } from '../../lib/traffic/switch-phase.ts';
import { engineFixture, fakeRegistry, rejection, tempEnvironment } from '../engine/engine-fixture.ts';

/**
 * Found by hand (PostgreSQL 17 → 17, the kit's router, a client writing through it): once the
 * write switch had finished,
 * - `cutover switch` again exited 1 with "forward replication is not streaming: run `cutover
 *   replicate start`" (refused then) and journaled the switch as failed;
 * - `cutover shift --to 50` sent half the reads to blue, which gets green's writes only through
 *   reverse replication (a client could miss its own write), then journaled the shift as failed;
 * - `cutover shadow` asked to move reads back to blue (`shift --to 0`) and journaled the shadow
 *   phase as failed;
 * so `status` said `switch=failed`, `shadow=failed` and pointed back at `shadow` while writes were
 * on green. A re-run of the switch is now "nothing to do", and the two read moves are refused
 * before anything is changed or journaled.
 */
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});

function journalBytes(stateDir: string): string | null {
  const f = path.join(stateDir, 'journal.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8') : null;
}

/** The walk up to a finished write switch (fake traffic phases), then the real shadow, shift and switch phases on the same journal. */
async function switched() {
  const t = tempEnvironment();
  disposers.push(t.dispose);
  const phases: Record<string, unknown> = { ...fakeRegistry() };
  const f = engineFixture(t.env, { flags: { yes: true }, phases: phases as PhaseRegistry });
  for (const name of ['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch'] as const) expect((await f.engine.runPhase(name)).ok, name).toBe(true);
  // as the real switch leaves it: forward replication stopped
  await f.fake.forward.stop();
  Object.assign(phases, { shadow: shadowPhase, shift: shiftPhase, switch: switchPhase });
  const records = () => f.journal.readAll();
  return { f, records, since: writesSwitchedToGreen(await records())!.time };
}

describe('traffic commands after the write switch', () => {
  test('switch again: nothing to do, exit 0, switch still verified, nothing held, fenced or started', async () => {
    const { f, records, since } = await switched();
    const calls = f.fake.calls.length;
    const again = await f.another({ yes: true }).runPhase('switch');
    expect(again.ok).toBe(true);
    expect(again.apply?.summary).toBe(`writes already on green since the write switch at ${since}: nothing to do`);
    expect(f.fake.calls.slice(calls).filter((c) => !c.startsWith('router.state'))).toEqual([]);
    expect(f.fake.state.router).toMatchObject({ writeTarget: 'green', readWeightGreen: 100, writesHeld: false });
    expect(summarizePhases(await records()).find((p) => p.name === 'switch')?.state).toBe('verified');
    // the switch's time stays the first one's
    expect(writesSwitchedToGreen(await records())!.time).toBe(since);
    // the dry-run says the same
    const dry = await f.another({ dryRun: true }).runPhase('switch');
    expect(dry.plan).toEqual([expect.objectContaining({ action: 'none', detail: expect.stringContaining('nothing to switch') })]);
  });

  test('fails if the router lost the switch: the re-run says so and changes nothing', async () => {
    const { f } = await switched();
    f.fake.state.router.writeTarget = 'blue'; // a restarted router
    const again = await f.another({ yes: true }).runPhase('switch');
    expect(again.ok).toBe(false);
    expect(again.apply?.summary).toMatch(/router sends writes to blue .*nothing was changed; run `npx cutover rollback/);
    expect(f.fake.state.router.writeTarget).toBe('blue');
    expect(f.fake.state.refusingWrites).toEqual({ blue: true, green: false });
  });

  test('fails if shift --to moves reads toward blue: PRECONDITION_FAILED, exit 1, router and journal untouched', async () => {
    const { f } = await switched();
    const bytes = journalBytes(f.env.stateDir);
    const err = await rejection(f.another({ yes: true }).runPhase('shift', { to: 50 }));
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/^shift --to 50 is refused: writes are on green since the write switch at \S+, and it would send 50 % of reads to blue.*nothing was changed$/);
    expect(err.details.fix).toContain('npx cutover rollback --env lab');
    expect(f.fake.state.router.readWeightGreen).toBe(100);
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    const dry = await f.another({ dryRun: true }).runPhase('shift', { to: 0 });
    expect(dry.wouldRefuse?.code).toBe('PRECONDITION_FAILED');
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    // plain `shift` (reads already at 100 %) is still fine: nothing to do
    const again = await f.another({ yes: true }).runPhase('shift');
    expect(again.ok).toBe(true);
    expect(again.apply?.summary).toBe('reads already at 100 % green');
  });

  test('fails if shadow runs: PRECONDITION_FAILED, journal untouched; after a rollback both are allowed again', async () => {
    const { f } = await switched();
    const bytes = journalBytes(f.env.stateDir);
    const err = await rejection(f.another({ yes: true }).runPhase('shadow'));
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.message).toMatch(/^shadow is refused: writes are on green since the write switch/);
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    expect((await f.another({ dryRun: true }).runPhase('shadow')).wouldRefuse).toBeUndefined();
    expect((await f.another({ dryRun: true }).runPhase('shift', { to: 50 })).wouldRefuse).toBeUndefined();
  });

  test('shadow while reads are partly on green (before the switch) is refused without taking back the shadow gate', async () => {
    const t = tempEnvironment();
    disposers.push(t.dispose);
    const phases: Record<string, unknown> = { ...fakeRegistry() };
    const f = engineFixture(t.env, { flags: { yes: true }, phases: phases as PhaseRegistry });
    for (const name of ['assess', 'snapshot', 'replicate', 'validate', 'shadow'] as const) expect((await f.engine.runPhase(name)).ok, name).toBe(true);
    expect((await f.engine.runPhase('shift', { to: 50 })).ok).toBe(true);
    Object.assign(phases, { shadow: shadowPhase });
    // the kit's router is there (its mirror is never reached: the phase refuses first)
    Object.assign(f.fake, { shadow: {} as ShadowMirror });
    const err = await rejection(f.another({ yes: true }).runPhase('shadow'));
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.message).toMatch(/reads are at 50 % green/);
    // the shift can go on: its shadow gate still stands
    const summary = summarizePhases(await f.journal.readAll());
    expect(summary.find((p) => p.name === 'shadow')?.state).toBe('verified');
    expect((await f.engine.runPhase('shift')).ok).toBe(true);
  });
});
