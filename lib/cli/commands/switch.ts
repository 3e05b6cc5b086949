import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover switch`. */
export function registerSwitch(program: Command, rt: CliRuntime): void {
  program
    .command('switch')
    .description('switch WRITES to green: hold, fence blue, catch up, flip, release (asks for "go")')
    .action(withSession(rt, 'cutover switch', async (s) => phaseExit(await s.engine.runPhase('switch'), s.out)));
}
