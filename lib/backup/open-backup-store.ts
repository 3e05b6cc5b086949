import type { Readable } from 'node:stream';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { FolderBackupStore, s3BackupLocation, type BackupStore } from './backup-store.ts';
import type { S3BackupStore, S3BackupStoreProps } from './s3-backup-store.ts';

/** The environment's backup store: its `backup.s3` bucket when set, else the `backup.dir` folder. */
export function openBackupStore(env: Pick<ResolvedPostgresEnvironment, 'backup' | 'backupDir'>): BackupStore {
  return env.backup.s3 ? new LazyS3BackupStore(env.backup.s3) : new FolderBackupStore(env.backupDir);
}

/**
 * The S3 store, its AWS SDK loaded on the first call: loading the SDK costs seconds of CPU, and
 * every snapshot command opens a store, most of them a folder.
 */
export class LazyS3BackupStore implements BackupStore {
  readonly location: string;
  private store: Promise<S3BackupStore> | undefined;

  constructor(private readonly props: S3BackupStoreProps) {
    this.location = s3BackupLocation(props);
  }

  /** The S3 store itself (loads the SDK once). */
  open(): Promise<S3BackupStore> {
    this.store ??= import('./s3-backup-store.ts').then((m) => new m.S3BackupStore(this.props));
    return this.store;
  }

  async put(key: string, body: Readable | Buffer | string): Promise<void> {
    // the S3 store listens for the body's errors; until it is loaded, this does (an unheard
    // 'error' event would end the process)
    let bodyError: unknown;
    const early = (err: unknown): void => void (bodyError ??= err);
    if (typeof body === 'object' && 'on' in body) body.on('error', early);
    let store: S3BackupStore;
    try {
      store = await this.open();
    } finally {
      if (typeof body === 'object' && 'off' in body) body.off('error', early);
    }
    if (bodyError) throw bodyError;
    return store.put(key, body);
  }
  async get(key: string): Promise<Readable> {
    return (await this.open()).get(key);
  }
  async list(prefix?: string): Promise<string[]> {
    return (await this.open()).list(prefix);
  }
  async exists(key: string): Promise<boolean> {
    return (await this.open()).exists(key);
  }
  async remove(folder: string): Promise<void> {
    return (await this.open()).remove(folder);
  }
  async delete(key: string): Promise<void> {
    return (await this.open()).delete(key);
  }
}
