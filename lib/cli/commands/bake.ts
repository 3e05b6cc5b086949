import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover bake`. */
export function registerBake(program: Command, rt: CliRuntime): void {
  program
    .command('bake')
    .description('hold with every gate green for bake.seconds before finalize')
    .action(withSession(rt, 'cutover bake', async (s) => phaseExit(await s.engine.runPhase('bake'), s.out)));
}
