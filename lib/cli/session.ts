import { loadConfig, selectEnvironment, type ResolvedEnvironment } from '../config/load.ts';
import { Engine } from '../engine/engine.ts';
import { terminalPrompter } from '../engine/prompter.ts';
import { createStateStores } from '../engine/state-stores.ts';
import { StreamOutput, type Output } from '../output/output.ts';
import { loadPhaseRegistry, loadRollbackRunner } from '../phases/registry.ts';
import { createPlatform } from '../platform/create-platform.ts';
import type { GlobalOptions } from './global-options.ts';
import type { CliIo } from './io.ts';

/** The output of a command: JSON when `--json`, else a TTY view or plain lines. */
export function outputFor(globals: GlobalOptions, io: CliIo): Output {
  return new StreamOutput({ mode: globals.json ? 'json' : undefined, stdout: io.stdout, stderr: io.stderr });
}

export interface Session {
  readonly env: ResolvedEnvironment;
  readonly engine: Engine;
  readonly out: Output;
  readonly globals: GlobalOptions;
  close(): Promise<void>;
}

/** Loads and validates the config once, picks the environment, and builds the engine for one command. */
export async function openSession(globals: GlobalOptions, io: CliIo, command: string, signal: AbortSignal): Promise<Session> {
  const out = outputFor(globals, io);
  const config = await loadConfig({ file: globals.config, cwd: io.cwd, env: io.env });
  const env = selectEnvironment(config, globals.env);
  const stores = await createStateStores(env, out);
  const { journal, lock } = stores;
  const engine = new Engine({
    env,
    out,
    journal,
    lock,
    platform: () => createPlatform(env, out),
    phases: loadPhaseRegistry,
    rollback: loadRollbackRunner,
    command,
    flags: { dryRun: globals.dryRun, yes: globals.yes, forceUnlock: globals.forceUnlock },
    prompter: terminalPrompter(io.stdin, io.stderr),
    signal,
    // fix/next lines repeat --config so that they can be copied as they are
    configFile: globals.config,
  });
  return {
    env,
    engine,
    out,
    globals,
    async close() {
      await engine.close();
      stores.close();
    },
  };
}
