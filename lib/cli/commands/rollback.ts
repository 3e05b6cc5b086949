import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';
import { warnIfExitedDuring } from './switch.ts';
import { envCommandLine } from '../../engine/command-line.ts';

/** `cutover rollback`: everyone back to blue from any phase; safe to run twice; takes over a stale lock. */
export function registerRollback(program: Command, rt: CliRuntime): void {
  program
    .command('rollback')
    .description('EMERGENCY: all traffic back to blue from any phase, losing no acknowledged write (with no router configured: the data part, and one line names the traffic move left to you)')
    .option('--force', 'move traffic back to blue although blue cannot have every write green took: after `finalize` (reverse replication is gone), or when blue refused some of green\'s changes (reverse dead letters); those writes stay only on green (stated, not copied)')
    .action(
      withSession(rt, 'cutover rollback', async (s, opts: { force?: boolean }) => {
        const warning = s.globals.dryRun
          ? ''
          : `error rollback: interrupted before the rollback finished: the router may still hold writes (released after switch.maxHoldMs = ` +
          `${s.env.switch.maxHoldMs} ms to where they were going) and blue or green may refuse writes, so client writes may FAIL. ` +
          `Run \`${envCommandLine(s.env, 'cutover rollback')}\` again now: it resumes.`;
        return warnIfExitedDuring(rt, warning, async () => phaseExit(await s.engine.rollback(opts.force ? { force: true } : {}), s.out));
      }),
    );
}
