import { describe, expect, test } from 'vitest';
import { gateWatchRig as rig } from './fakes/gate-watch-rig.ts';

/** watchGates against a scripted router on a fake clock (./fakes/gate-watch-rig.ts). */
describe('gate watch', () => {
  test('fails if green served no request: not proven after the bake and a bounded wait, never green', async () => {
    const r = rig({ greenPerSecond: () => 0 });
    const result = await r.watch({ proofWaitSeconds: 60 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.unproven).toBe(true);
    expect(result.verdict.reasons[0]).toMatch(/^not proven: only 0 green requests in 90 s \(minimum 20, gates\.minRequests\).*fix: send real traffic/);
    // the bake (30 s) plus the wait (60 s), not a second more
    expect(r.elapsedSeconds()).toBeGreaterThanOrEqual(90);
    expect(r.elapsedSeconds()).toBeLessThan(91);
    expect(r.out.text()).toMatch(/info shift: reads 1 %: not proven: only 0 green requests in 30 s \(minimum 20, gates.minRequests\): baking up to 60 s more for them/);
    expect(r.journal.notes('shift.not-proven')).toHaveLength(1);
  });

  test('without gates.minRequestsWaitSeconds the wait is the bake time, at least 120 s', async () => {
    const r = rig({ greenPerSecond: () => 0 });
    expect((await r.watch({ seconds: 30 })).ok).toBe(false);
    expect(Math.floor(r.elapsedSeconds())).toBe(150);
    const prod = rig({ greenPerSecond: () => 0 });
    expect((await prod.watch({ seconds: 300 })).ok).toBe(false);
    expect(Math.floor(prod.elapsedSeconds())).toBe(600);
    const configured = rig({ greenPerSecond: () => 0, gates: { minRequestsWaitSeconds: 5 } });
    expect((await configured.watch({ seconds: 30 })).ok).toBe(false);
    expect(Math.floor(configured.elapsedSeconds())).toBe(35);
  });

  test('a slow step keeps baking until the minimum is reached, then passes with its figures', async () => {
    // 1 green request every 3 s: 10 after 30 s, 20 after 60 s
    const r = rig({ greenPerSecond: (t) => (t % 3 === 0 ? 1 : 0) });
    const result = await r.watch({ proofWaitSeconds: 120 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.verdict.figures.greenRequests).toBeGreaterThanOrEqual(20);
    expect(result.watchedSeconds).toBeGreaterThanOrEqual(58);
    expect(result.watchedSeconds).toBeLessThan(62);
    expect(result.provingSeconds).toBeGreaterThan(25);
  });

  test('a step with enough traffic passes at the end of its bake, not before', async () => {
    const r = rig({ greenPerSecond: () => 10 });
    const result = await r.watch();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.provingSeconds).toBe(0);
    expect(result.watchedSeconds).toBe(30);
    expect(result.verdict.figures).toMatchObject({ greenRequests: 300, greenErrorRatio: 0, greenLatencyMs: 5, lagMs: 40 });
    expect(r.out.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  test('fails if the whole step is above the error ratio although no single window had enough requests', async () => {
    // 1 request/s: every 10 s window has 10 < 20 requests; 1 in 2 fails
    const r = rig({ greenPerSecond: () => 2, failEvery: 2, gates: { minRequests: 40 } });
    const result = await r.watch();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.unproven).toBeUndefined();
    expect(result.verdict.reasons[0]).toMatch(/green error ratio 50 %/);
  });

  test('prints a progress line about every 10 s with requests, error ratio, latency (p90 of 30 requests) and lag', async () => {
    const r = rig({ greenPerSecond: () => 3 });
    await r.watch({ progressFigures: { reads: '1%' } });
    const p = r.out.progressUpdates;
    expect(p.length).toBeGreaterThanOrEqual(2);
    expect(p.length).toBeLessThanOrEqual(3);
    expect(p[0]).toMatchObject({ topic: 'shift', total: 30, unit: 's', figures: { reads: '1%', errorRatio: '0%', p90Ms: 5, lagMs: 40 } });
    expect(p[0]!.done).toBeGreaterThanOrEqual(10);
    expect(p[0]!.figures!.requests).toBe(30);
    expect(p[1]!.done - p[0]!.done).toBeGreaterThanOrEqual(10);
  });

  test('progress shows requests below the minimum as N/min', async () => {
    const r = rig({ greenPerSecond: () => 0 });
    await r.watch({ proofWaitSeconds: 10 });
    expect(r.out.progressUpdates[0]!.figures).toMatchObject({ requests: '0/20' });
    expect(r.out.progressUpdates.at(-1)!.figures).toMatchObject({ state: 'waiting-for-requests' });
  });

  test('a pause prints a line when it begins, then every minute, and one when it ends', async () => {
    const r = rig({ greenPerSecond: () => 5 });
    let paused = false;
    const watching = r.watch({
      seconds: 10,
      paused: () => {
        const t = r.elapsedSeconds();
        paused = t >= 2 && t < 150;
        return paused;
      },
      pausedMessage: (ms) => `paused at 1 % for ${Math.round(ms / 1000)} s`,
    });
    const result = await watching;
    expect(result.ok).toBe(true);
    const pauses = r.out.lines.filter((l) => l.level === 'warn' && l.message.startsWith('paused at 1 %')).map((l) => l.message);
    expect(pauses).toEqual(['paused at 1 % for 0 s', 'paused at 1 % for 60 s', 'paused at 1 % for 120 s']);
    expect(r.out.text()).toMatch(/info shift: reads 1 %: resumed after a pause of 2 min 28 s/);
    expect(r.journal.notes('shift.paused')).toHaveLength(1);
    expect(r.journal.notes('shift.resumed')).toHaveLength(1);
  });

  test('gates.minRequests 0 passes a step without traffic, with a warning', async () => {
    const r = rig({ greenPerSecond: () => 0, gates: { minRequests: 0 } });
    const result = await r.watch();
    expect(result.ok).toBe(true);
    expect(r.out.text()).toMatch(/warn shift: reads 1 %: no green request in 30 s: green's health is not proven by traffic \(gates.minRequests is 0\)/);
  });
});
