import type { Readable } from 'node:stream';
import { CutoverError } from '../errors.ts';

/**
 * Where backups live, by key (`<snapshot id>/manifest.json`, `<id>/tables/<schema.table>.copy.gz`).
 * The folder store is the local default; `S3BackupStore` (the AWS bucket or an S3-compatible
 * server) implements the same calls. `openBackupStore` picks one from the environment.
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
  /** Deletes every object under `<folder>/` (a snapshot's id), partial ones included. Idempotent. */
  remove(folder: string): Promise<void>;
  /** Deletes one object (a finished snapshot's in-progress marker). Idempotent. */
  delete(key: string): Promise<void>;
}

/** A key (or key prefix) is relative and has no empty or `..` segment, so no store can be escaped. */
export function isBackupKey(key: string): boolean {
  return !!key && !key.startsWith('/') && !key.split('/').some((p) => p === '..' || p === '');
}

export function checkKey(key: string): string {
  if (!isBackupKey(key)) throw new CutoverError('INTERNAL', `invalid backup key ${JSON.stringify(key)}`);
  return key;
}

/** The error every store gives for a missing object: the same words whether folder or bucket. */
export function backupObjectNotFound(key: string, location: string): CutoverError {
  return new CutoverError('PRECONDITION_FAILED', `backup object ${key} not found in ${location}`, {
    received: key,
    fix: `run \`cutover snapshot\` first, or pass an --id that has <id>/manifest.json in ${location}`,
  });
}

/** Where an S3 backup store's objects are, without the SDK: the key prefix as stored (no trailing `/`). */
export function s3KeyPrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/\/+$/, '');
}

/**
 * `s3://bucket/prefix`, plus the endpoint when it is not AWS (its origin only: never a path or
 * user info). Light on purpose: plans print it without loading the S3 client.
 */
export function s3BackupLocation(s3: { readonly bucket: string; readonly prefix?: string; readonly endpoint?: string }): string {
  const prefix = s3KeyPrefix(s3.prefix);
  const url = `s3://${s3.bucket}${prefix ? `/${prefix}` : ''}`;
  return s3.endpoint ? `${url} at ${new URL(s3.endpoint).origin}` : url;
}
