import type { Command } from 'commander';
import { CutoverError } from '../../errors.ts';
import { redactUrl } from '../../phases/endpoints.ts';
import { withSession, type CliRuntime } from '../runtime.ts';
import { envCommandLine } from '../../engine/command-line.ts';
import { engineOfUrl } from '../../engines/engine-of-url.ts';

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
    .requiredOption('--target-url <url>', 'URL of the empty database to restore into (PostgreSQL; MySQL/MariaDB for a MySQL-family source)')
    .action(
      withSession<RestoreOptions>(rt, 'cutover restore', async (s, o) => {
        // a MySQL-family source's backup restores into MySQL/MariaDB (lib/backup/mysql-snapshotter.ts)
        const mysqlSource = s.env.platform !== 'aws' && engineOfUrl(s.env.source.url) === 'mysql';
        if (mysqlSource ? !/^(mysql|mariadb):\/\/[^/\s]/.test(o.targetUrl) : !/^postgres(ql)?:\/\/[^/\s]/.test(o.targetUrl)) {
          throw new CutoverError('USAGE', `--target-url is not a ${mysqlSource ? 'MySQL/MariaDB' : 'PostgreSQL'} URL`, {
            received: redactUrl(o.targetUrl),
            allowed: mysqlSource ? 'mysql://user[:password]@host[:port]/database' : 'postgres://user[:password]@host[:port]/database',
            fix: mysqlSource
              ? 'pass the URL of an EMPTY database, e.g. --target-url mysql://kit@127.0.0.1:3306/restore_check'
              : 'pass the URL of an EMPTY database, e.g. --target-url postgres://app@127.0.0.1:5432/restore_check',
          });
        }
        if (o.id !== undefined) {
          // an unknown id is bad input: refused (exit 2) before anything is confirmed, locked or journaled
          const snapshotter = (await s.engine.platform()).snapshotter;
          const ids = (await snapshotter.list()).map((m) => m.id);
          const partial = ids.includes(o.id) ? undefined : (await snapshotter.partials?.())?.find((p) => p.id === o.id);
          if (partial) {
            throw new CutoverError('USAGE', `backup "${o.id}" is partial: it has no manifest (its snapshot was stopped or is still running), so it cannot be restored`, {
              received: o.id,
              allowed: ids.length ? ids.join(', ') : '(no complete backup yet)',
              fix: ids.length ? 'pass one of the complete backups above, or leave --id out for the latest' : `run \`${envCommandLine(s.env, 'cutover snapshot')}\` (it also removes a partial backup whose snapshot is no longer running)`,
            });
          }
          if (!ids.includes(o.id)) {
            throw new CutoverError('USAGE', `no backup with id "${o.id}"`, {
              received: o.id,
              allowed: ids.length ? ids.join(', ') : '(no backups yet: run `cutover snapshot` first)',
              fix: ids.length ? 'pass one of the ids above, or leave --id out for the latest' : `run \`${envCommandLine(s.env, 'cutover snapshot')}\` first`,
            });
          }
        }
        // what the restore would refuse (no backup yet, a target with tables or out of reach), read
        // only: refused before anything is confirmed, locked or journaled, and a dry run fails alike
        await (await s.engine.platform()).snapshotter.checkRestore({ id: o.id, targetUrl: o.targetUrl });
        const target = redactUrl(o.targetUrl);
        const result = await s.engine.runAction(
          {
            phase: 'snapshot',
            action: 'restore',
            inputs: { id: o.id ?? 'latest', targetUrl: target },
            mutates: true,
            plan: [{ action: 'snapshotter.restore', target, detail: `backup ${o.id ?? 'latest'}; then counts and sha256 against the manifest` }],
          },
          (ctx) => ctx.platform.snapshotter.restore({ id: o.id, targetUrl: o.targetUrl, signal: ctx.signal }),
        );
        if (!result) return 0; // dry-run
        for (const p of result.problems) s.out.error('restore', p);
        s.out.result(result, result.ok ? `restore into ${target}: verified` : `restore into ${target}: ${result.problems.length} problem(s)`);
        return result.ok ? 0 : 1;
      }),
    );
}
