import { afterEach, describe, expect, test, vi } from 'vitest';
import { TARGET_TURN_MAX_MS, TargetsTurn } from '../../lib/replication/catch-up-batching.ts';
import { BackPressure } from '../../lib/replication/back-pressure.ts';
import { catchUpTakesTurns } from '../../lib/replication/shared-cores.ts';

describe('a worker catching up takes turns with the target where they share too few cores', () => {
  test('only when both databases are on this host and it has fewer than 3 cores; CUTOVER_CATCH_UP_TURNS decides instead', () => {
    const local = ['postgres://u:p@127.0.0.1:5432/a', 'postgres://u:p@localhost:6543/b'];
    expect(catchUpTakesTurns(local, 2, undefined)).toBe(true);
    expect(catchUpTakesTurns(['postgres://u@[::1]:5432/a', 'postgres://u@127.0.0.2/b', 'postgres:///c?host=/run/postgresql'], 1, undefined)).toBe(true);
    expect(catchUpTakesTurns(local, 3, undefined)).toBe(false);
    // one database elsewhere: its backend (or walsender) has cores of its own
    expect(catchUpTakesTurns([local[0]!, 'postgres://u:p@db.internal:5432/b'], 2, undefined)).toBe(false);
    expect(catchUpTakesTurns(['postgres://u@10.0.0.5/a', 'postgres://u@10.0.0.6/b'], 2, undefined)).toBe(false);
    expect(catchUpTakesTurns(['not a url'], 2, undefined)).toBe(false);
    expect(catchUpTakesTurns(local, 2, 'off')).toBe(false);
    expect(catchUpTakesTurns(['postgres://u@10.0.0.5/a'], 64, 'on')).toBe(true);
  });

  describe('TargetsTurn', () => {
    afterEach(() => void vi.useRealTimers());

    /** A stream's own pause/resume, recorded. */
    function recordedStream() {
      const calls: string[] = [];
      return { calls, stream: { pause: () => void calls.push('pause'), resume: () => void calls.push('resume') } };
    }

    test('pauses the stream from a batch\'s start to its end, once, and for TARGET_TURN_MAX_MS at most', () => {
      vi.useFakeTimers();
      const { calls, stream } = recordedStream();
      const pressure = new BackPressure(stream);
      const turn = new TargetsTurn(pressure.flowOf([]));
      turn.end(); // no turn: nothing to end
      expect(calls).toEqual([]);
      turn.start();
      turn.start(); // a second batch joins the turn
      expect(calls).toEqual(['pause']);
      expect(pressure.paused).toBe(true);
      turn.end();
      expect(calls).toEqual(['pause', 'resume']);
      turn.start();
      vi.advanceTimersByTime(TARGET_TURN_MAX_MS - 1);
      expect(pressure.paused).toBe(true);
      vi.advanceTimersByTime(1); // a batch this slow is not waiting for a core; keepalives need answers
      expect(pressure.paused).toBe(false);
      turn.end();
      expect(calls).toEqual(['pause', 'resume', 'pause', 'resume']);
    });

    test('its end does not resume a stream another holder keeps paused (the queue full)', () => {
      const { calls, stream } = recordedStream();
      const pressure = new BackPressure(stream);
      const queue = pressure.flowOf({});
      const turn = new TargetsTurn(pressure.flowOf([]));
      turn.start();
      queue.pause();
      turn.end();
      expect(pressure.paused).toBe(true);
      expect(calls.at(-1)).toBe('pause');
      queue.resume();
      expect(calls.at(-1)).toBe('resume');
      expect(pressure.paused).toBe(false);
    });
  });
});
