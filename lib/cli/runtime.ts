import type { Command } from 'commander';
import type { Output } from '../output/output.ts';
import type { GlobalOptions } from './global-options.ts';
import type { CliIo } from './io.ts';
import { openSession, outputFor, type Session } from './session.ts';

/** What command files get: the io, the abort signal, and wrappers that set the exit code. */
export interface CliRuntime {
  readonly io: CliIo;
  readonly signal: AbortSignal;
  exitCode: number;
  /** Output mode chosen by the last command (main prints errors in JSON when it was `--json`). */
  json: boolean;
}

type Positional = unknown[];

/**
 * Wraps an action that needs an environment: config loaded and validated once, engine built,
 * platform closed afterwards. The action returns the exit code.
 */
export function withSession<O>(rt: CliRuntime, command: string, fn: (s: Session, opts: O, args: Positional) => Promise<number>) {
  return async (...raw: unknown[]): Promise<void> => {
    const { opts, args, globals } = split<O>(raw);
    rt.json = Boolean(globals.json);
    const session = await openSession(globals, rt.io, command, rt.signal);
    try {
      rt.exitCode = await fn(session, opts, args);
    } finally {
      await session.close();
    }
  };
}

/** Wraps an action that needs no environment (`rehearse`, `mappings check`). */
export function withoutSession<O>(rt: CliRuntime, fn: (out: Output, opts: O, globals: GlobalOptions, args: Positional) => Promise<number>) {
  return async (...raw: unknown[]): Promise<void> => {
    const { opts, args, globals } = split<O>(raw);
    rt.json = Boolean(globals.json);
    rt.exitCode = await fn(outputFor(globals, rt.io), opts, globals, args);
  };
}

function split<O>(raw: unknown[]): { opts: O; args: Positional; globals: GlobalOptions } {
  const cmd = raw[raw.length - 1] as Command;
  const opts = raw[raw.length - 2] as O;
  return { opts, args: raw.slice(0, -2), globals: cmd.optsWithGlobals() as GlobalOptions };
}
