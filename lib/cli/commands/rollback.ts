import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover rollback`: everyone back to blue from any phase; safe to run twice; takes over a stale lock. */
export function registerRollback(program: Command, rt: CliRuntime): void {
  program
    .command('rollback')
    .description('EMERGENCY: all traffic back to blue from any phase, losing no acknowledged write')
    .action(withSession(rt, 'cutover rollback', async (s) => phaseExit(await s.engine.rollback(), s.out)));
}
