import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover snapshot`: a consistent backup, then the restore-verification gate. */
export function registerSnapshot(program: Command, rt: CliRuntime): void {
  program
    .command('snapshot')
    .description('take a consistent backup of the source and verify it against its manifest')
    .action(withSession(rt, 'cutover snapshot', async (s) => phaseExit(await s.engine.runPhase('snapshot'), s.out)));
}
