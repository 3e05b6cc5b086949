import type { Command } from 'commander';
import { backupListing, formatBackupListing } from '../../backup/backup-listing.ts';
import { openBackupStore } from '../../backup/open-backup-store.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

/** `cutover backup list`: the backups the kit's snapshots made for this environment, complete or not. Reads only. */
export function registerBackup(program: Command, rt: CliRuntime): void {
  const backup = program.command('backup').description('the backups `cutover snapshot` made (list)');
  backup
    .command('list')
    .description('list the backups of this environment: id, time, tables, rows, and whether each is complete (restorable) or partial / still being written')
    .addHelpText(
      'after',
      '\nReads the backup store only (backup.dir, backup.s3, or the RDS snapshots on platform "aws"); changes nothing, so --dry-run prints the same list. ' +
        '"complete" backups have a manifest and can be given to `cutover restore --id`; "in-progress" ones are still being written (or by another host); ' +
        '"partial" ones were left by a snapshot that was killed: never restorable, the next `cutover snapshot` removes them.\n' +
        'With --json: { location, backups: [{ id, state, time, tables, rows, bytes, position, objects?, owner?, created? }] }, oldest first.',
    )
    .action(
      withSession(rt, 'cutover backup list', async (s) => {
        const snapshotter = (await s.engine.platform()).snapshotter;
        const [manifests, partials] = await Promise.all([snapshotter.list(), snapshotter.partials?.() ?? Promise.resolve([])]);
        const backups = backupListing(manifests, partials);
        const location = s.env.platform === 'aws' ? null : openBackupStore(s.env).location;
        s.out.result({ location, backups }, formatBackupListing(backups, location));
        return 0;
      }),
    );
}
