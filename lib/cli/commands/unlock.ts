import type { Command } from 'commander';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover unlock --force`: removes the operator lock of a holder that is gone. */
export function registerUnlock(program: Command, rt: CliRuntime): void {
  program
    .command('unlock')
    .description('remove the operator lock of a holder that is no longer running (warns)')
    .option('--force', 'required: confirms you know the holder is gone')
    .action(
      withSession<{ force?: boolean }>(rt, 'cutover unlock', async (s, o) => {
        const previous = await s.engine.unlock(o.force === true);
        s.out.result({ removed: previous });
        return 0;
      }),
    );
}
