import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './phase.ts';

/** The real clock: wall time and an abortable sleep. Tests inject their own `Clock`. */
export const systemClock: Clock = {
  now: () => new Date(),
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await delay(ms, undefined, signal ? { signal } : undefined);
  },
};
