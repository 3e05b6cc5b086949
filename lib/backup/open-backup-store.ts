import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { FolderBackupStore, type BackupStore } from './backup-store.ts';
import { S3BackupStore } from './s3-backup-store.ts';

/** The environment's backup store: its `backup.s3` bucket when set, else the `backup.dir` folder. */
export function openBackupStore(env: Pick<ResolvedPostgresEnvironment, 'backup' | 'backupDir'>): BackupStore {
  return env.backup.s3 ? new S3BackupStore(env.backup.s3) : new FolderBackupStore(env.backupDir);
}
