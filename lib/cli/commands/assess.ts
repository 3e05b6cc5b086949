import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover assess`: pre-flight facts and data-quality findings; exit 1 when there is a blocker. */
export function registerAssess(program: Command, rt: CliRuntime): void {
  program
    .command('assess')
    .description('pre-flight: connectivity, tables, sizes and data-quality findings (read-only)')
    .action(withSession(rt, 'cutover assess', async (s) => phaseExit(await s.engine.runPhase('assess'), s.out)));
}
