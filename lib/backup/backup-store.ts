import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CutoverError } from '../errors.ts';

// the role and its key rules are shared by both control planes (lib/platform/backup-store.ts)
export { backupObjectNotFound, checkKey, isBackupKey, s3BackupLocation, s3KeyPrefix, type BackupStore } from '../platform/backup-store.ts';
import { backupObjectNotFound, checkKey, type BackupStore } from '../platform/backup-store.ts';

/** A folder as the backup store; objects are written to a temp name and renamed when complete. */
export class FolderBackupStore implements BackupStore {
  constructor(private readonly dir: string) {}

  get location(): string {
    return this.dir;
  }

  async put(key: string, body: Readable | Buffer | string): Promise<void> {
    const file = path.join(this.dir, checkKey(key));
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.partial-${process.pid}`;
    const out = createWriteStream(tmp);
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      await new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        out.end(body, () => resolve());
      });
    } else {
      await pipeline(body, out);
    }
    await rename(tmp, file);
  }

  async get(key: string): Promise<Readable> {
    const file = path.join(this.dir, checkKey(key));
    try {
      await stat(file);
    } catch {
      throw backupObjectNotFound(key, this.dir);
    }
    return createReadStream(file);
  }

  async list(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string) => {
      let entries;
      try {
        entries = await readdir(path.join(this.dir, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(key);
        else if (!e.name.includes('.partial-') && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk('');
    return out.sort();
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(path.join(this.dir, checkKey(key)));
      return true;
    } catch {
      return false;
    }
  }

  async remove(folder: string): Promise<void> {
    await rm(path.join(this.dir, checkKey(folder)), { recursive: true, force: true });
  }

  async delete(key: string): Promise<void> {
    await rm(path.join(this.dir, checkKey(key)), { force: true });
  }
}
