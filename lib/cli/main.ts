import { CommanderError, type Command } from 'commander';
import { CutoverError, asCutoverError } from '../errors.ts';
import { ignoreBrokenPipe } from '../output/output.ts';
import { processIo, type CliIo } from './io.ts';
import { buildProgram } from './program.ts';
import type { CliRuntime } from './runtime.ts';

/**
 * The `cutover` CLI (bin/cutover.mjs). Returns the exit code: 0 success, 1 a gate or check said
 * no, 2 usage, config or connection error, 3 internal error. This is the only place errors are caught.
 * `io` lets tests run it in-process.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const abort = new AbortController();
  const rt: CliRuntime = { io, signal: abort.signal, exitCode: 0, json: argv.includes('--json') };
  // SIGTERM (`kill PID`, a supervisor stopping it) is a Ctrl-C too: stop at the next safe point
  // and clean up, rather than die mid-step; a second signal quits at once
  const onSigint = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(signal === 'SIGTERM' ? 143 : 130);
    io.stderr.write(`interrupt${signal === 'SIGTERM' ? ' (SIGTERM)' : ''}: stopping at the next safe point (Ctrl-C again to quit now; re-run the command to resume)\n`);
    abort.abort();
  };
  const isProcess = io.stdout === process.stdout;
  ignoreBrokenPipe(io.stdout); // `cutover … | head`: no EPIPE stack
  ignoreBrokenPipe(io.stderr);
  if (isProcess) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
  }
  const program = buildProgram(rt);
  try {
    await program.parseAsync(argv, { from: 'node' });
    return rt.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      // commander printed `error: …` (not in --json mode, where the one JSON error below stands alone)
      const e = usageError(err, program, argv);
      io.stderr.write(rt.json ? JSON.stringify(e.toJSON(), null, 2) + '\n' : `  fix:      ${e.details.fix}\n`);
      return 2;
    }
    const e = asCutoverError(err);
    io.stderr.write(rt.json ? JSON.stringify(e.toJSON(), null, 2) + '\n' : e.describe() + '\n');
    return e.exitCode;
  } finally {
    if (isProcess) {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  }
}

/** A commander parse error as the kit's USAGE error, with a fix naming the command's help. */
function usageError(err: CommanderError, program: Command, argv: readonly string[]): CutoverError {
  const path: string[] = [];
  let cmd = program;
  for (const token of argv.slice(2)) {
    if (token.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (!sub) continue;
    path.push(token);
    cmd = sub;
  }
  const message = err.message.replace(/^error:\s*/, '');
  return new CutoverError('USAGE', message, { fix: `see \`npx cutover ${[...path, '--help'].join(' ')}\` for the commands and options it takes` });
}
