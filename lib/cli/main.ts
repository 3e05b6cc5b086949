import { CommanderError } from 'commander';
import { asCutoverError } from '../errors.ts';
import { processIo, type CliIo } from './io.ts';
import { buildProgram } from './program.ts';
import type { CliRuntime } from './runtime.ts';

/**
 * The `cutover` CLI (bin/cutover.mjs). Returns the exit code: 0 success, 1 a gate or check said
 * no, 2 usage, config or connection error. This is the only place errors are caught.
 * `io` lets tests run it in-process.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const abort = new AbortController();
  const rt: CliRuntime = { io, signal: abort.signal, exitCode: 0, json: argv.includes('--json') };
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    io.stderr.write('interrupt: stopping at the next safe point (Ctrl-C again to quit now; re-run the command to resume)\n');
    abort.abort();
  };
  const isProcess = io.stdout === process.stdout;
  if (isProcess) process.on('SIGINT', onSigint);
  try {
    await buildProgram(rt).parseAsync(argv, { from: 'node' });
    return rt.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // commander printed the usage error
    const e = asCutoverError(err);
    io.stderr.write(rt.json ? JSON.stringify(e.toJSON(), null, 2) + '\n' : e.describe() + '\n');
    return e.exitCode;
  } finally {
    if (isProcess) process.off('SIGINT', onSigint);
  }
}
