import { describe, expect, test } from 'vitest';
import type { AlarmJudgement } from '../../lib/platform/gate-alarms.ts';
import { duration } from '../../lib/traffic/gate-watch.ts';
import { gateWatchRig } from './fakes/gate-watch-rig.ts';

/**
 * The gate watch at its limits, from the mutation pass (issue 18): a red window stops the watch
 * although the whole watch would pass, only the window counts (not what green did before), the
 * alarms are read while watching and at the end, Ctrl-C ends it as aborted, and the bake ends at
 * its time exactly. A watch that says "go" wrongly is what these fail on.
 */
const alarmsOk: AlarmJudgement = { reasons: [], unproven: null, alarms: [] };

describe('gate watch at its limits', () => {
  test('fails if one window is red, although the whole watch is under the limit', async () => {
    // 10 requests/s; 8 of them fail in each of seconds 25-27: up to 24/100 in that 10 s window (well
    // above 10 %, beyond chance), 24/300 over the whole 30 s (< 10 %)
    const r = gateWatchRig({ greenPerSecond: () => 10, greenFailuresPerSecond: (t) => (t >= 25 && t <= 27 ? 8 : 0), gates: { maxErrorRatio: 0.1 } });
    const result = await r.watch();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.unproven).toBeUndefined();
    expect(result.verdict.reasons[0]).toMatch(/^green error ratio \d+(\.\d+)? % \((16|24)\/\d+\) is above the limit 10 % beyond chance/);
    expect(r.elapsedSeconds()).toBeLessThan(30);
  });

  test('a green that dies mid-watch is sent back at the first evaluation that sees its failures, as with the raw ratio', async () => {
    // the rehearsal's gates (5 %, 5 requests); green answers 20 requests/s, then fails all of them from second 2
    const dies = gateWatchRig({ greenPerSecond: () => 20, greenFailuresPerSecond: (t) => (t >= 2 ? 20 : 0), gates: { maxErrorRatio: 0.05, minRequests: 5 } });
    const early = await dies.watch();
    expect(early.ok).toBe(false);
    // second 2's counts arrive at t = 3: 20 failures of 60 requests
    expect(dies.elapsedSeconds()).toBe(3);
    // after a full 10 s window of health at 10 requests/s, one second of failures is 10 of 100: beyond chance at once
    const late = gateWatchRig({ greenPerSecond: () => 10, greenFailuresPerSecond: (t) => (t >= 10 ? 10 : 0), gates: { maxErrorRatio: 0.05, minRequests: 5 } });
    expect((await late.watch()).ok).toBe(false);
    expect(late.elapsedSeconds()).toBe(11);
  });

  test('failures green served before the watch began do not count', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10, greenBefore: { requests: 100, failures: 50 } });
    const result = await r.watch();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.verdict.figures).toMatchObject({ greenRequests: 300, greenFailures: 0 });
  });

  test('fails if replication lag is unknown, even when the bake time is 0', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10, gates: { minRequests: 0 } });
    const result = await r.watch({ seconds: 0, lag: async () => null });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.verdict.reasons).toEqual(['replication lag is unknown (not streaming: stopped, failed or stalled? `cutover replicate status`)']);
  });

  test('fails if green is slower than the ratio to blue\'s latency carried over, when blue gets no reads now', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10, greenMs: 50, bluePerSecond: () => 0 });
    const result = await r.watch({ baselineBlue: { p99: 1, p90: 5, p50: 1 } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.verdict.reasons[0]).toMatch(/^green p90 50 ms is 5x blue's p90 5 ms, above the limit 3x/);
  });

  test("blue's p99 becomes the baseline while blue serves reads; kept when blue serves none", async () => {
    const served = await gateWatchRig({ greenPerSecond: () => 10 }).watch({ baselineBlue: { p99: 99, p90: 99, p50: 99 } });
    expect(served.ok && served.baselineBlue).toEqual({ p99: 5, p90: 5, p50: 5 });
    const idle = await gateWatchRig({ greenPerSecond: () => 10, bluePerSecond: () => 0 }).watch({ baselineBlue: { p99: 7, p90: 7, p50: 7 } });
    expect(idle.ok && idle.baselineBlue).toEqual({ p99: 7, p90: 7, p50: 7 });
  });

  test('an alarm going to ALARM while watching fails the watch at the next alarm read, with its reason', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    const readAt: number[] = [];
    const result = await r.watch({
      seconds: 60,
      alarms: async () => {
        readAt.push(r.elapsedSeconds());
        return r.elapsedSeconds() >= 20 ? { reasons: ['alarm cutover-lab-green-error-ratio is ALARM: Threshold Crossed'], unproven: null, alarms: [] } : alarmsOk;
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.verdict.reasons).toEqual(['alarm cutover-lab-green-error-ratio is ALARM: Threshold Crossed']);
    // read at the start and every 15 s (the default): the ALARM is seen at 30 s
    expect(readAt).toEqual([0, 15, 30]);
    expect(r.elapsedSeconds()).toBe(30);
  });

  test('the alarms are read again at the end: an ALARM there fails the watch', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    const readAt: number[] = [];
    const result = await r.watch({
      seconds: 10,
      alarmEveryMs: 60_000,
      alarms: async () => {
        readAt.push(r.elapsedSeconds());
        return readAt.length > 1 ? { reasons: ['alarm cutover-lab-green-p99-latency is ALARM: slow'], unproven: null, alarms: [] } : alarmsOk;
      },
    });
    expect(readAt).toEqual([0, 10]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.verdict.reasons).toEqual(['alarm cutover-lab-green-p99-latency is ALARM: slow']);
  });

  test('Ctrl-C ends the watch at once as aborted, never as passed', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    const result = await r.watch({
      lag: async () => {
        if (r.elapsedSeconds() >= 12) r.abort();
        return 40;
      },
    });
    expect(result).toMatchObject({ ok: false, aborted: true });
    expect(r.elapsedSeconds()).toBeLessThan(13);
    expect(result.verdict.figures.lagMs).toBe(40);
    expect(r.done).toEqual(['shift']);
  });

  test('Ctrl-C before the watch evaluates anything: aborted at once, without waiting an interval', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    r.abort();
    expect(await r.watch()).toMatchObject({ ok: false, aborted: true });
    expect(r.elapsedSeconds()).toBe(0);
  });

  test('Ctrl-C while it sleeps: aborted when it wakes, nothing read or judged after', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    let lagReadsAfterAbort = 0;
    let aborted = false;
    const result = await r.watch({
      // the operator's Ctrl-C lands during the sleep that follows this check
      paused: () => {
        if (r.elapsedSeconds() >= 12 && !aborted) {
          aborted = true;
          r.abort();
        }
        return false;
      },
      lag: async () => {
        if (aborted) lagReadsAfterAbort++;
        return 40;
      },
    });
    expect(result).toMatchObject({ ok: false, aborted: true });
    expect(lagReadsAfterAbort).toBe(0);
  });

  test('the bake ends at its time exactly, whatever the evaluation interval', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 100 });
    const result = await r.watch({ seconds: 1, intervalMs: 700 });
    expect(result.ok && result.watchedSeconds).toBe(1);
    expect(r.elapsedSeconds()).toBe(1);
  });

  test('a slow step: the seconds spent waiting for requests are those past the bake', async () => {
    // 1 green request every 3 s: 10 after 30 s, 20 after 60 s
    const r = gateWatchRig({ greenPerSecond: (t) => (t % 3 === 0 ? 1 : 0) });
    const result = await r.watch({ proofWaitSeconds: 120 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.provingSeconds).toBeCloseTo(result.watchedSeconds - 30, 5);
    expect(result.provingSeconds).toBeGreaterThan(25);
    expect(result.provingSeconds).toBeLessThan(32);
    // journaled once, with the label, the wait and the figures when the bake ended
    expect(r.journal.notes('shift.not-proven')).toEqual([expect.objectContaining({ label: 'reads 1 %', waitSeconds: 120, greenRequests: 10, minRequests: 20 })]);
    // progress while waiting counts the wait in its total
    const waiting = r.out.progressUpdates.filter((p) => p.figures?.state === 'waiting-for-requests');
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.every((p) => p.total === 150)).toBe(true);
    expect(r.out.progressUpdates.every((p) => p.done === Math.floor(p.done) && p.done <= 61)).toBe(true);
  });

  test('gates.minRequests 0 with traffic passes without the no-traffic warning', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10, gates: { minRequests: 0 } });
    expect((await r.watch()).ok).toBe(true);
    expect(r.out.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  test('progress lines: every 10 s as plain text, at every evaluation on a TTY, "paused" while paused', async () => {
    const plain = gateWatchRig({ greenPerSecond: () => 10 });
    await plain.watch();
    expect(plain.out.progressUpdates.map((p) => p.done)).toEqual([10, 20, 30]);
    const tty = gateWatchRig({ greenPerSecond: () => 10, tty: true });
    await tty.watch();
    expect(tty.out.progressUpdates).toHaveLength(60);
    const paused = gateWatchRig({ greenPerSecond: () => 10 });
    await paused.watch({ seconds: 10, paused: () => paused.elapsedSeconds() >= 2 && paused.elapsedSeconds() < 25 });
    const states = paused.out.progressUpdates.map((p) => p.figures?.state ?? 'baking');
    expect(states).toEqual(['paused', 'paused']);
  });

  test('a pause ending when a reminder is due is reported as resumed, with its journal notes', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    const result = await r.watch({ seconds: 10, paused: () => r.elapsedSeconds() >= 2 && r.elapsedSeconds() < 62 });
    expect(result.ok).toBe(true);
    expect(r.out.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['reads 1 %: paused; gates still watched']);
    expect(r.out.text()).toMatch(/info shift: reads 1 %: resumed after a pause of 1 min$/m);
    expect(r.journal.notes('shift.paused')).toEqual([{ label: 'reads 1 %' }]);
    expect(r.journal.notes('shift.resumed')).toEqual([{ label: 'reads 1 %', pausedMs: 60_000 }]);
  });

  test('the default pause line names the label and how long, and reminds every minute', async () => {
    const r = gateWatchRig({ greenPerSecond: () => 10 });
    await r.watch({ seconds: 10, paused: () => r.elapsedSeconds() >= 2 && r.elapsedSeconds() < 130 });
    expect(r.out.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'reads 1 %: paused; gates still watched',
      'reads 1 %: paused for 1 min; gates still watched',
      'reads 1 %: paused for 2 min; gates still watched',
    ]);
    const unlabelled = gateWatchRig({ greenPerSecond: () => 10 });
    await unlabelled.watch({ seconds: 10, label: undefined, topic: undefined, paused: () => unlabelled.elapsedSeconds() >= 2 && unlabelled.elapsedSeconds() < 5 });
    expect(unlabelled.out.lines.filter((l) => l.level === 'warn')).toEqual([{ level: 'warn', topic: 'gates', message: 'paused; gates still watched' }]);
    expect(unlabelled.journal.notes('gates.paused')).toEqual([{ label: null }]);
  });

  test('duration: seconds under a minute, then minutes and seconds', () => {
    expect(duration(45_000)).toBe('45 s');
    expect(duration(59_400)).toBe('59 s');
    expect(duration(59_600)).toBe('1 min');
    expect(duration(60_000)).toBe('1 min');
    expect(duration(125_000)).toBe('2 min 5 s');
    expect(duration(3_600_000)).toBe('60 min');
  });
});
