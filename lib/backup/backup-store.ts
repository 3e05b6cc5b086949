import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CutoverError } from '../errors.ts';

/**
 * Where backups live, by key (`<snapshot id>/manifest.json`, `<id>/tables/<schema.table>.copy.gz`).
 * The folder store is the local default; an S3 store (the AWS bucket or an S3-compatible server)
 * implements the same four calls.
 */
export interface BackupStore {
  /** Human-readable location, for messages (`/path/to/backups`, `s3://bucket/prefix`). */
  readonly location: string;
  /** Writes `body` to `key`; resolves once the whole object is stored (never a partial object). */
  put(key: string, body: Readable | Buffer | string): Promise<void>;
  /** Reads `key`; BACKUP_NOT_FOUND-style PRECONDITION_FAILED when absent. */
  get(key: string): Promise<Readable>;
  /** Keys under `prefix`, sorted. */
  list(prefix?: string): Promise<string[]>;
  exists(key: string): Promise<boolean>;
}

function checkKey(key: string): string {
  if (!key || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '')) {
    throw new CutoverError('INTERNAL', `invalid backup key ${JSON.stringify(key)}`);
  }
  return key;
}

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
      throw new CutoverError('PRECONDITION_FAILED', `backup object ${key} not found in ${this.dir}`, {
        received: key,
        fix: 'run `cutover snapshot` first, or pick an id that `cutover restore --list` shows',
      });
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
}
