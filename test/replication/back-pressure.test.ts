import { describe, expect, test } from 'vitest';
import { BackPressure } from '../../lib/replication/back-pressure.ts';

function stream() {
  const calls: string[] = [];
  return { calls, flow: { pause: () => calls.push('pause'), resume: () => calls.push('resume') } };
}

describe('BackPressure', () => {
  test('the stream reads again only once no holder is full: one holder\'s resume does not undo another\'s pause', () => {
    const s = stream();
    const pressure = new BackPressure(s.flow);
    const queue = {};
    const open = {};
    pressure.flowOf(open).pause();
    pressure.flowOf(queue).pause();
    pressure.flowOf(queue).resume();
    expect(s.calls).toEqual(['pause', 'pause']);
    expect(pressure.paused).toBe(true);
    pressure.flowOf(open).resume();
    expect(s.calls).toEqual(['pause', 'pause', 'resume']);
    expect(pressure.paused).toBe(false);
  });

  test('a holder that did not pause the stream changes nothing by letting go (release, resume)', () => {
    const s = stream();
    const pressure = new BackPressure(s.flow);
    const full = {};
    pressure.flowOf(full).pause();
    pressure.release({});
    pressure.flowOf({}).resume();
    expect(s.calls).toEqual(['pause']);
    pressure.release(full);
    pressure.release(full);
    expect(s.calls).toEqual(['pause', 'resume']);
  });
});
