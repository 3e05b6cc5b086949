import type { ResolvedEnvironment } from '../../../lib/config/load.ts';
import type { Clock, PhaseContext } from '../../../lib/engine/phase.ts';
import { RecordingOutput } from '../../../lib/output/output.ts';
import type { Platform } from '../../../lib/platform/roles.ts';
import { MemoryJournal } from './memory-journal.ts';

export const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      });
    }),
};

export function phaseContext(env: ResolvedEnvironment, platform: Platform, extra: { journal?: MemoryJournal; options?: Record<string, unknown>; signal?: AbortSignal } = {}): PhaseContext & { journal: MemoryJournal; out: RecordingOutput } {
  return {
    env,
    platform,
    out: new RecordingOutput(),
    journal: extra.journal ?? new MemoryJournal(),
    clock: realClock,
    signal: extra.signal ?? new AbortController().signal,
    options: extra.options ?? {},
  };
}
