import type { Command } from 'commander';
import { formatStatus } from '../status-view.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover status`: where things stand, and the next command. */
export function registerStatus(program: Command, rt: CliRuntime): void {
  program
    .command('status')
    .description('phase, traffic, replication, last validation, lock holder and the next command')
    .action(
      withSession(rt, 'cutover status', async (s) => {
        const report = await s.engine.status();
        s.out.result(report, formatStatus(report));
        return 0;
      }),
    );
}
