import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, selectEnvironment, type ResolvedEnvironment } from '../../lib/config/load.ts';
import { Engine, type EngineFlags, type PhaseRegistry } from '../../lib/engine/engine.ts';
import { FileJournalStore } from '../../lib/engine/file-journal-store.ts';
import { FileLockStore } from '../../lib/engine/file-lock-store.ts';
import type { Clock } from '../../lib/engine/phase.ts';
import type { Prompter } from '../../lib/engine/prompter.ts';
import { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { assessPhase } from '../../lib/phases/assess-phase.ts';
import { replicatePhase } from '../../lib/phases/replicate-phase.ts';
import { snapshotPhase } from '../../lib/phases/snapshot-phase.ts';
import { validatePhase } from '../../lib/phases/validate-phase.ts';
import { FakePlatform, fakeRollback, fakeTrafficPhases, type FakeOptions } from '../_helpers/fake-platform.ts';

/** A `postgres` environment in a temp folder (state under `<dir>/.cutover/<name>`). */
export function tempEnvironment(options: { name?: string; protected?: boolean } = {}): { dir: string; env: ResolvedEnvironment; dispose(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-engine-'));
  const name = options.name ?? 'lab';
  const raw = {
    environments: {
      [name]: {
        platform: 'postgres',
        ...(options.protected !== undefined ? { protected: options.protected } : {}),
        source: { url: 'postgres://u@127.0.0.1:1/a' },
        target: { url: 'postgres://u@127.0.0.1:2/b' },
        mappings: { forward: 'forward.json', reverse: 'reverse.json' },
        gates: { maxLagMs: 100 },
      },
    },
  };
  const file = path.join(dir, 'cutover.config.json');
  writeFileSync(file, JSON.stringify(raw));
  const env = selectEnvironment(parseConfig(raw, file), name);
  return { dir, env, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function fakeRegistry(): PhaseRegistry {
  return { assess: assessPhase, snapshot: snapshotPhase, replicate: replicatePhase, validate: validatePhase, ...fakeTrafficPhases() };
}

/** The CutoverError `p` rejects with; anything else (or no rejection) fails the test. */
export async function rejection(p: Promise<unknown>): Promise<CutoverError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CutoverError);
  return err as CutoverError;
}

/** A clock whose sleeps return at once (time still advances by the slept amount). */
export function fastClock(): Clock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    async sleep(ms: number) {
      offset += ms;
    },
  };
}

export interface EngineFixture {
  readonly engine: Engine;
  readonly fake: FakePlatform;
  readonly out: RecordingOutput;
  readonly env: ResolvedEnvironment;
  readonly journal: FileJournalStore;
  readonly lock: FileLockStore;
  /** Another engine on the same environment, state and fake (a second command). */
  another(flags?: EngineFlags, prompter?: Prompter, command?: string): Engine;
}

export function engineFixture(
  env: ResolvedEnvironment,
  opts: { fake?: FakeOptions; flags?: EngineFlags; prompter?: Prompter; command?: string; preemptTimeoutMs?: number; configFile?: string; phases?: PhaseRegistry; clock?: Clock; signal?: AbortSignal; rollback?: typeof fakeRollback } = {},
): EngineFixture {
  const fake = new FakePlatform(opts.fake);
  const out = new RecordingOutput();
  const journal = FileJournalStore.inStateDir(env.stateDir);
  const lock = FileLockStore.inStateDir(env.stateDir);
  const make = (flags: EngineFlags | undefined, prompter: Prompter | undefined, command: string | undefined) =>
    new Engine({
      env,
      platform: fake,
      out,
      journal: FileJournalStore.inStateDir(env.stateDir),
      lock: FileLockStore.inStateDir(env.stateDir),
      phases: opts.phases ?? fakeRegistry(),
      rollback: opts.rollback ?? fakeRollback,
      command: command ?? 'cutover test',
      flags,
      prompter,
      clock: opts.clock ?? fastClock(),
      preemptTimeoutMs: opts.preemptTimeoutMs,
      configFile: opts.configFile,
      signal: opts.signal,
    });
  return { engine: make(opts.flags, opts.prompter, opts.command), fake, out, env, journal, lock, another: make };
}
