import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ResolvedAwsEnvironment } from '../config/load.ts';
import type { JournalRecord, JournalStore, NewJournalRecord } from '../engine/journal-store.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { resolveAdapterOptions, type AwsAdapterOptions, type ResolvedAdapterOptions } from './adapter-options.ts';
import type { AwsClients } from './aws-clients.ts';
import { awsResourcesFor } from './aws-resource-names.ts';
import { isConditionalConflict, isPreconditionFailed } from '../platform/s3-conditional.ts';
import { throttledCaller } from './throttle-retry.ts';

/** Digits of the sequence in the object key: lexical order = numeric order up to 10^10 records. */
export const JOURNAL_SEQ_DIGITS = 10;

export function journalPrefix(envName: string): string {
  return `journal/${envName}/`;
}

export function journalKey(envName: string, seq: number): string {
  return `${journalPrefix(envName)}${String(seq).padStart(JOURNAL_SEQ_DIGITS, '0')}.json`;
}

/**
 * The journal in the backup bucket: one object per record, `journal/<env>/<seq>.json`, created
 * with `If-None-Match: *` so a record is never overwritten (the bucket's object lock then keeps it).
 * Two operators appending at once: the loser gets 412 and takes the next sequence number, so seq
 * stays gap-free and unique. `readAll` lists the prefix and reads the objects in key order.
 */
export class S3JournalStore implements JournalStore {
  public readonly location: string;
  private readonly opts: ResolvedAdapterOptions;
  private readonly call: ReturnType<typeof throttledCaller>;
  /** Highest seq this process knows to exist (avoids a listing per append). */
  private lastSeq: number | undefined;

  constructor(
    private readonly env: ResolvedAwsEnvironment,
    private readonly clients: AwsClients,
    private readonly out: Output,
    options: AwsAdapterOptions & { bucket?: string } = {},
  ) {
    this.opts = resolveAdapterOptions(options);
    this.call = throttledCaller(this.opts, (m) => this.out.warn('journal', m));
    this.bucketName = options.bucket;
    this.location = `s3://${options.bucket ?? `<backup-bucket-name of ${env.name}>`}/${journalPrefix(env.name)}`;
  }

  private bucketName: string | undefined;

  /** The store with its bucket resolved from SSM, so `location` names the real bucket. */
  static async open(env: ResolvedAwsEnvironment, clients: AwsClients, out: Output, options: AwsAdapterOptions = {}): Promise<S3JournalStore> {
    const bucket = (await awsResourcesFor(env.name, clients.ssm)).backupBucketName;
    return new S3JournalStore(env, clients, out, { ...options, bucket });
  }

  private async bucket(): Promise<string> {
    this.bucketName ??= (await awsResourcesFor(this.env.name, this.clients.ssm)).backupBucketName;
    return this.bucketName;
  }

  private async listKeys(): Promise<string[]> {
    const bucket = await this.bucket();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('ListObjectsV2', () =>
        this.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: journalPrefix(this.env.name), ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) if (o.Key && /\/\d+\.json$/.test(o.Key)) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  private static seqOf(key: string): number {
    return Number(/(\d+)\.json$/.exec(key)![1]);
  }

  async append(record: NewJournalRecord): Promise<JournalRecord> {
    const bucket = await this.bucket();
    if (this.lastSeq === undefined) {
      const keys = await this.listKeys();
      this.lastSeq = keys.length ? S3JournalStore.seqOf(keys[keys.length - 1]!) : 0;
    }
    let seq = this.lastSeq + 1;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const full: JournalRecord = { seq, ...record };
      try {
        await this.call('PutObject', () =>
          this.clients.s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: journalKey(this.env.name, seq),
              Body: JSON.stringify(full),
              ContentType: 'application/json',
              IfNoneMatch: '*',
            }),
          ),
        );
        this.lastSeq = seq;
        return full;
      } catch (err) {
        if (isPreconditionFailed(err)) {
          seq += 1; // another operator wrote this seq: take the next one
          continue;
        }
        if (isConditionalConflict(err)) {
          await this.opts.sleep(50 + Math.random() * 100); // same seq, in-flight race: retry
          continue;
        }
        throw new CutoverError('CONNECTION_FAILED', `cannot append to the journal ${this.location}: ${(err as Error).message}`, {
          received: (err as Error).name,
          fix: 'check access to the backup bucket (s3:PutObject on journal/*) and re-run; the step did not run',
          cause: err,
        });
      }
    }
    throw new CutoverError('INTERNAL', `journal append at ${this.location} lost 1000 races in a row`);
  }

  async readAll(): Promise<JournalRecord[]> {
    const bucket = await this.bucket();
    const keys = await this.listKeys();
    const records: JournalRecord[] = new Array(keys.length);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const i = next++;
        const res = await this.call('GetObject', () => this.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[i] })));
        const text = (await res.Body?.transformToString('utf8')) ?? '';
        records[i] = JSON.parse(text) as JournalRecord;
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, keys.length) }, worker));
    if (keys.length) this.lastSeq = Math.max(this.lastSeq ?? 0, S3JournalStore.seqOf(keys[keys.length - 1]!));
    return records;
  }
}
