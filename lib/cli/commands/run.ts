import type { Command } from 'commander';
import { runAllExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';
import { envCommandLine } from '../../engine/command-line.ts';

/** `cutover run`: every phase not yet verified, in order, pausing for "go" before the write switch. */
export function registerRun(program: Command, rt: CliRuntime): void {
  program
    .command('run')
    .description('walk every phase with its gates, resuming where it stopped; asks "go" before the write switch')
    .action(withSession(rt, 'cutover run', async (s) => runAllExit(await s.engine.runAll(), s.out, s.globals.dryRun === true, envCommandLine(s.env, 'cutover run'))));
}
