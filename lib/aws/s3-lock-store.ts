import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import type { LockHolder, LockStore } from '../engine/journal-store.ts';
import { isProvablyDead } from '../engine/operator.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { resolveAdapterOptions, type AwsAdapterOptions, type ResolvedAdapterOptions } from './adapter-options.ts';
import type { AwsClients } from './aws-clients.ts';
import { awsResourcesFor } from './aws-resource-names.ts';
import { isNoSuchKey, isPreconditionFailed } from '../platform/s3-conditional.ts';
import { throttledCaller } from './throttle-retry.ts';

export function lockKey(envName: string): string {
  return `lock/${envName}.json`;
}

export interface S3LockStoreOptions extends AwsAdapterOptions {
  readonly bucket?: string;
  /**
   * A holder on another host can never be proven dead from here; `takeOverStale` also takes a
   * lock older than this (an operator whose laptop died mid-cutover). @default 900000 (15 min)
   */
  readonly staleAfterMs?: number;
}

/**
 * The operator lock in the backup bucket: `lock/<env>.json`, created with `If-None-Match: *`
 * (exactly one creator wins). On conflict the holder is read and named. A takeover (stale holder,
 * or `force`) replaces the object with `If-Match: <ETag>` of the holder we judged, so two
 * rescuers cannot both win. `release` deletes the object when we hold it.
 */
export class S3LockStore implements LockStore {
  private readonly opts: ResolvedAdapterOptions;
  private readonly call: ReturnType<typeof throttledCaller>;
  private readonly staleAfterMs: number;
  private bucketName: string | undefined;
  private mine: LockHolder | undefined;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly out: Output,
    options: S3LockStoreOptions = {},
  ) {
    this.opts = resolveAdapterOptions(options);
    this.call = throttledCaller(this.opts, (m) => this.out.warn('lock', m));
    this.staleAfterMs = options.staleAfterMs ?? 900_000;
    this.bucketName = options.bucket;
  }

  private async bucket(): Promise<string> {
    this.bucketName ??= (await awsResourcesFor(this.env.name, this.clients.ssm)).backupBucketName;
    return this.bucketName;
  }

  private async put(holder: LockHolder, condition: { IfNoneMatch: string } | { IfMatch: string }): Promise<void> {
    const bucket = await this.bucket();
    await this.call('PutObject', () =>
      this.clients.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: lockKey(this.env.name), Body: JSON.stringify(holder), ContentType: 'application/json', ...condition }),
      ),
    );
  }

  private async read(): Promise<{ holder: LockHolder; etag: string } | null> {
    const bucket = await this.bucket();
    try {
      const res = await this.call('GetObject', () => this.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: lockKey(this.env.name) })));
      const holder = JSON.parse((await res.Body?.transformToString('utf8')) ?? '{}') as LockHolder;
      return { holder, etag: res.ETag ?? '' };
    } catch (err) {
      if (isNoSuchKey(err)) return null;
      throw err;
    }
  }

  private describe(h: LockHolder): string {
    return `${h.operator}@${h.host} (pid ${h.pid}, \`${h.command}\`) since ${h.since}`;
  }

  async acquire(holder: LockHolder, options: { takeOverStale?: boolean; force?: boolean } = {}): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.put(holder, { IfNoneMatch: '*' });
        this.mine = holder;
        return;
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err;
      }
      const current = await this.read();
      if (!current) continue; // released between our put and our read: try again
      const h = current.holder;
      if (h.host === holder.host && h.pid === holder.pid) {
        this.mine = h; // re-entrant: this process already holds it
        return;
      }
      const ageMs = this.opts.now().getTime() - Date.parse(h.since);
      const dead = isProvablyDead(h);
      const stale = dead || ageMs > this.staleAfterMs;
      if (options.force || (options.takeOverStale && stale)) {
        const why = options.force ? 'forced (--force-unlock)' : dead ? 'holder process is gone' : `lock is ${Math.round(ageMs / 60_000)} min old`;
        this.out.warn('lock', `taking over the lock of ${this.describe(h)}: ${why}`);
        try {
          await this.put(holder, { IfMatch: current.etag });
          this.mine = holder;
          return;
        } catch (err) {
          if (!isPreconditionFailed(err)) throw err;
          continue; // someone else changed it first: judge the new holder
        }
      }
      throw new CutoverError('LOCKED', `environment ${this.env.name} is locked by ${this.describe(h)}`, {
        received: h,
        fix: dead
          ? 'the holder process is gone: re-run with --force-unlock'
          : `wait for that command to finish, or ask ${h.operator}; --force-unlock only if the holder is certainly dead`,
      });
    }
    throw new CutoverError('LOCKED', `environment ${this.env.name}: the lock changed hands repeatedly while acquiring it`, {
      fix: 're-run the command',
    });
  }

  async release(): Promise<void> {
    const current = await this.read();
    if (!current) return;
    const me = this.mine;
    if (!me || current.holder.host !== me.host || current.holder.pid !== me.pid) {
      this.out.warn('lock', `not releasing the lock held by ${this.describe(current.holder)}`);
      return;
    }
    const bucket = await this.bucket();
    await this.call('DeleteObject', () => this.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: lockKey(this.env.name) })));
    this.mine = undefined;
  }

  async current(): Promise<LockHolder | null> {
    return (await this.read())?.holder ?? null;
  }
}
