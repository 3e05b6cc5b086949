import type { Command } from 'commander';
import { cancelStep } from '../../phases/cancel-step.ts';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover cancel`: before the write switch, remove every trace of the kit from both databases. */
export function registerCancel(program: Command, rt: CliRuntime): void {
  program
    .command('cancel')
    .description(
      'before the write switch: stop the workers, drop the kit\'s slots, publications, replication origins and _cutover schema on both databases ' +
        '(--dry-run lists them); backups and the target\'s rows are kept; refused once writes are on green (use rollback); safe to run twice',
    )
    .action(withSession(rt, 'cutover cancel', async (s) => phaseExit(await s.engine.runStandalone(cancelStep), s.out)));
}
