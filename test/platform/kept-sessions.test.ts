import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { KeptSessions } from '../../lib/platform/kept-sessions.ts';

/** A session that records being ended and can lose its connection ('end'). */
class FakeSession extends EventEmitter {
  ended = 0;
  async end(): Promise<void> {
    this.ended++;
  }
}

describe('KeptSessions (prepare\'s sessions kept for the call inside the write hold)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('hands the pair out once, for the same key only; another key closes them', () => {
    const kept = new KeptSessions<FakeSession, FakeSession>(60_000);
    const [a, b] = [new FakeSession(), new FakeSession()];
    kept.keep('forward', a, b);
    expect(kept.take('forward')).toEqual([a, b]);
    expect(kept.take('forward')).toBeNull(); // once
    expect([a.ended, b.ended]).toEqual([0, 0]); // the taker closes them
    const [c, d] = [new FakeSession(), new FakeSession()];
    kept.keep('forward', c, d);
    expect(kept.take('reverse')).toBeNull();
    expect([c.ended, d.ended]).toEqual([1, 1]);
  });

  test('a session whose connection ended meanwhile is not handed out: both are closed', () => {
    const kept = new KeptSessions<FakeSession, FakeSession>(60_000);
    const [a, b] = [new FakeSession(), new FakeSession()];
    kept.keep('forward', a, b);
    b.emit('end');
    expect(kept.take('forward')).toBeNull();
    expect([a.ended, b.ended]).toEqual([1, 1]);
  });

  test('closed when not taken in time, and when another pair is kept', () => {
    vi.useFakeTimers();
    const kept = new KeptSessions<FakeSession, FakeSession>(1_000);
    const [a, b] = [new FakeSession(), new FakeSession()];
    kept.keep('forward', a, b);
    const [c, d] = [new FakeSession(), new FakeSession()];
    kept.keep('forward', c, d); // replaces: the first pair is closed
    expect([a.ended, b.ended]).toEqual([1, 1]);
    vi.advanceTimersByTime(1_000);
    expect([c.ended, d.ended]).toEqual([1, 1]);
    expect(kept.take('forward')).toBeNull();
  });
});
