import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover finalize`. */
export function registerFinalize(program: Command, rt: CliRuntime): void {
  program
    .command('finalize')
    .description('finish: stop reverse replication, drop slots, mark the cutover complete (backups are kept)')
    .action(withSession(rt, 'cutover finalize', async (s) => phaseExit(await s.engine.runPhase('finalize'), s.out)));
}
