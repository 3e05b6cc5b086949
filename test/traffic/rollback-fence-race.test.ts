import { afterEach, describe, expect, test } from 'vitest';
import type { Side } from '../../lib/platform/roles.ts';
import { runRollback } from '../../lib/traffic/rollback.ts';
import { switchPhase } from '../../lib/traffic/switch-phase.ts';
import { startRouterRig, type RouterRig } from '../router/router-rig.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';

/**
 * The rollback-after-switch 503 (issue 12): `npm start -- --fault rollback-after-switch` now and
 * then failed one request with HTTP 503. Cause: the rollback moves reads to blue first; at its
 * flip, lifting blue's write fence ends every older session of blue's database — the blue app's
 * pooled sessions, opened read-only while blue was fenced — and a request handed one of those
 * sessions at that moment fails (the app answers 503 UNAVAILABLE). Blue's reads were never
 * retried, so the client saw it; a held write released to blue could meet the same.
 *
 * Here the timing is injected, not waited for: the real router and the real rollback sequence,
 * with app stand-ins that answer 503 exactly where the real blue app did (while the fence is lifted).
 */
// maxHoldMs 3000: the switch keeps a fifth of the cap, at least 1 s, back to undo (undoReserveMs), so a
// 1 s cap would leave its catch-up no time at all
const env = testEnvironment({ switch: { catchUpTimeoutMs: 200, maxHoldMs: 3000, sequenceGap: 100 } });

let rig: RouterRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

async function send(url: string, method: 'GET' | 'POST'): Promise<{ status: number; side: string | null }> {
  const res = await fetch(url, { method, body: method === 'POST' ? '{"customerId":1}' : undefined });
  await res.text();
  return { status: res.status, side: res.headers.get('x-cutover-upstream') };
}

/** A real router after a switch to green: reads 100 % green, writes to green, blue fenced. */
async function switched() {
  rig = await startRouterRig();
  const p = fakePlatform({ router: rig.client });
  await rig.client.setReadWeight(100);
  p.blue.write();
  const sw = await switchPhase.apply(phaseContext(env, p));
  expect(sw.ok, sw.summary).toBe(true);
  expect((await rig.client.state()).writeTarget).toBe('green');
  return { rig, p };
}

/** Runs `during` inside the fence call on `side` (after the fence changed), as the race did. */
function duringFence(p: ReturnType<typeof fakePlatform>, call: 'allowWrites' | 'refuseWrites', side: Side, during: () => void): void {
  const original = p.fence[call].bind(p.fence);
  p.fence[call] = async (s: Side) => {
    await original(s);
    if (s === side) during();
  };
}

describe('rollback while the fence is lifted on blue', () => {
  test('a read on blue that meets a session the fence lift is ending is retried: the client gets 200, not 503', async () => {
    const { rig, p } = await switched();
    let read: Promise<{ status: number; side: string | null }> | null = null;
    duringFence(p, 'allowWrites', 'blue', () => {
      // lifting blue's fence ended the app's pooled sessions: the next request it serves fails once
      rig.blue.unavailableNext = 1;
      read = send(`${rig.router.url}/orders/1`, 'GET');
    });
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok, outcome.summary).toBe(true);
    expect(read).not.toBeNull();
    expect(await read!).toEqual({ status: 200, side: 'blue' });
    // blue did answer 503 once: the router retried it instead of passing it on
    expect(rig.blue.unavailableNext).toBe(0);
    const m = await rig.client.metrics();
    expect(m.upstreams.blue.status5xx).toBe(1);
    expect(m.clientFailures).toBe(0);
  });

  test('a held write released to blue that meets an ended session ("503, not applied") is sent again: 200, not 503', async () => {
    const { rig, p } = await switched();
    let write: Promise<{ status: number; side: string | null }> | null = null;
    duringFence(p, 'refuseWrites', 'green', () => {
      // writes are held now: this one waits for the rollback's release
      write = send(`${rig.router.url}/orders`, 'POST');
    });
    duringFence(p, 'allowWrites', 'blue', () => {
      rig.blue.unavailableNext = 1;
      rig.blue.unavailableNotApplied = true;
    });
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok, outcome.summary).toBe(true);
    expect(await write!).toEqual({ status: 200, side: 'blue' });
    expect(rig.blue.received.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect((await rig.client.metrics()).clientFailures).toBe(0);
  });

  test('a write already on its way to green that green refuses after its fence ("503, not applied") goes to blue', async () => {
    const { rig, p } = await switched();
    // green answers writes late: the hold's drain (at most maxHoldMs) gives up before this one
    // is answered, green is fenced, and green's app then refuses it
    rig.green.writeDelayMs = 3500;
    const write = send(`${rig.router.url}/orders`, 'POST');
    await new Promise((r) => setTimeout(r, 50));
    duringFence(p, 'refuseWrites', 'green', () => {
      rig.green.unavailableNext = 1;
      rig.green.unavailableNotApplied = true;
    });
    const outcome = await runRollback(phaseContext(env, p));
    expect(outcome.ok, outcome.summary).toBe(true);
    expect(await write).toEqual({ status: 200, side: 'blue' });
    expect(rig.green.received.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(rig.blue.received.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  test('a read on blue that keeps failing is answered after one retry (never retried forever)', async () => {
    const { rig } = await switched();
    await rig.client.setReadWeight(0);
    rig.blue.unavailableNext = 5;
    expect(await send(`${rig.router.url}/orders/1`, 'GET')).toEqual({ status: 503, side: 'blue' });
    expect(rig.blue.unavailableNext).toBe(3);
  });
});
