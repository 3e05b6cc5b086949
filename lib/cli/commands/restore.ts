import type { Command } from 'commander';
import { redactUrl } from '../../phases/endpoints.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

interface RestoreOptions {
  readonly id?: string;
  readonly targetUrl: string;
}

/** `cutover restore --target-url URL [--id ID]`: restores a backup into an empty database and checks it. */
export function registerRestore(program: Command, rt: CliRuntime): void {
  program
    .command('restore')
    .description('restore a backup into an EMPTY database and verify row counts and checksums')
    .option('--id <id>', 'backup id (default: the latest)')
    .requiredOption('--target-url <url>', 'PostgreSQL URL of the empty database to restore into')
    .action(
      withSession<RestoreOptions>(rt, 'cutover restore', async (s, o) => {
        const target = redactUrl(o.targetUrl);
        const result = await s.engine.runAction(
          {
            phase: 'snapshot',
            action: 'restore',
            inputs: { id: o.id ?? 'latest', targetUrl: target },
            mutates: true,
            plan: [{ action: 'snapshotter.restore', target, detail: `backup ${o.id ?? 'latest'}; then counts and sha256 against the manifest` }],
          },
          (ctx) => ctx.platform.snapshotter.restore({ id: o.id, targetUrl: o.targetUrl }),
        );
        if (!result) return 0; // dry-run
        for (const p of result.problems) s.out.error('restore', p);
        s.out.result(result, result.ok ? `restore into ${target}: verified` : `restore into ${target}: ${result.problems.length} problem(s)`);
        return result.ok ? 0 : 1;
      }),
    );
}
