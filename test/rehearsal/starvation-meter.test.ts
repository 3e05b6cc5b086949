import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { StarvationMeter, starvationLine } from '../../lib/rehearsal/starvation-meter.ts';

describe('StarvationMeter', () => {
  test('an event loop kept busy for 300 ms is measured as that late; on Linux the main thread was runnable that long', async () => {
    const meter = new StarvationMeter();
    meter.start();
    // its sampling timer is armed on the loop's next turn
    await new Promise((r) => setTimeout(r, 50));
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // the loop cannot run a timer meanwhile
    }
    // the histogram records the lateness when its timer finally runs
    await new Promise((r) => setTimeout(r, 60));
    const s = meter.stop();
    expect(s.seconds).toBeGreaterThanOrEqual(0.3);
    expect(s.eventLoopDelayMs.max).toBeGreaterThanOrEqual(250);
    if (existsSync('/proc/self/schedstat')) {
      // busy the whole time: on a CPU, or waiting for one (a loaded machine)
      expect(s.cpuSeconds! + s.cpuWaitSeconds!).toBeGreaterThanOrEqual(0.25);
    } else {
      expect(s.cpuSeconds).toBeNull();
    }
    expect(starvationLine(s)).toMatch(/s of load.*; event loop late p99 [\d.]+ ms, max [\d.]+ ms$/);
  });

  test('the line names the CPU wait when it is known, and only the load time when not', () => {
    const known = { seconds: 60.1, cpuSeconds: 8.2, cpuWaitSeconds: 12.3, eventLoopDelayMs: { p50: 21, p99: 850, max: 4100 } };
    expect(starvationLine(known)).toBe('waited 12.3 s for a CPU in 60.1 s of load (ran 8.2 s); event loop late p99 850 ms, max 4100 ms');
    expect(starvationLine({ ...known, cpuSeconds: null, cpuWaitSeconds: null })).toBe('60.1 s of load; event loop late p99 850 ms, max 4100 ms');
  });
});
