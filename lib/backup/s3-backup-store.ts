import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { isNoSuchKey } from '../platform/s3-conditional.ts';
import { CutoverError } from '../errors.ts';
import { backupObjectNotFound, checkKey, s3BackupLocation, s3KeyPrefix, type BackupStore } from './backup-store.ts';

export interface S3BackupStoreProps {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible server, e.g. `http://127.0.0.1:9000`. @default - AWS S3 in `region` */
  readonly endpoint?: string;
  /** Path-style URLs (`http://host/bucket/key`), which most S3-compatible servers need. @default - true when `endpoint` is set, else false */
  readonly forcePathStyle?: boolean;
  /** Keys are stored under `<prefix>/`. @default - none: keys at the bucket root */
  readonly prefix?: string;
  /** Keys per ListObjectsV2 page. @default 1000 */
  readonly pageSize?: number;
  /**
   * Multipart part size in bytes. A table file may have at most 10,000 parts, so the default
   * allows 160 GiB (compressed) per table; up to 4 parts are buffered in memory at once.
   * @default 16 MiB
   */
  readonly partSize?: number;
  /** Parts uploaded at once; memory use is up to `queueSize` × `partSize`. @default 4 */
  readonly queueSize?: number;
}

const AUTH_ERROR_NAMES = /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|InvalidToken|AllAccessDisabled/;
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A bucket (AWS S3 or an S3-compatible server) as the backup store. Credentials come from the
 * standard AWS SDK chain (environment, profile, instance role), never from the config file.
 * Puts stream through `@aws-sdk/lib-storage` (multipart above one part); an upload that fails is
 * aborted, so an object is visible under its key only once it is whole.
 */
export class S3BackupStore implements BackupStore {
  readonly location: string;
  private readonly client: S3Client;
  /** `''` or `prefix/`: prepended to every key. */
  private readonly keyPrefix: string;
  private readonly pageSize: number;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(private readonly props: S3BackupStoreProps) {
    const prefix = s3KeyPrefix(props.prefix);
    this.keyPrefix = prefix ? `${checkKey(prefix)}/` : '';
    this.location = s3BackupLocation(props);
    this.pageSize = props.pageSize ?? 1000;
    this.partSize = props.partSize ?? 16 * 1024 * 1024;
    this.queueSize = props.queueSize ?? 4;
    const config: S3ClientConfig = {
      region: props.region,
      endpoint: props.endpoint,
      forcePathStyle: props.forcePathStyle ?? props.endpoint !== undefined,
      maxAttempts: 5,
      retryMode: 'adaptive',
    };
    // Some S3-compatible servers reject the CRC32 checksums recent SDKs add to every request by
    // default; against them, send and check checksums only where an operation requires one.
    if (props.endpoint) Object.assign(config, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    this.client = new S3Client(config);
  }

  async put(key: string, body: Readable | Buffer | string): Promise<void> {
    // A failed upload stops reading a stream body and destroys it (an AbortError 'error' event),
    // so its producer never waits on us; listening keeps that event from crashing the process.
    let bodyError: unknown;
    if (body instanceof Readable) body.on('error', (err) => (bodyError ??= err));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.props.bucket, Key: this.objectKey(key), Body: body },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false, // a failed multipart upload is aborted: its parts are deleted, no object appears
    });
    try {
      await upload.done();
    } catch (err) {
      if (err === bodyError) throw err; // the producer failed (e.g. COPY): its error, not a storage one
      throw this.failure(err, `write ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.props.bucket, Key: this.objectKey(key) }));
      if (!(res.Body instanceof Readable)) throw new CutoverError('INTERNAL', `GetObject ${key} in ${this.location} returned no Node.js stream`);
      return res.Body;
    } catch (err) {
      if (isNoSuchKey(err) && !isNoSuchBucket(err)) throw backupObjectNotFound(key, this.location);
      throw this.failure(err, `read ${key}`);
    }
  }

  async list(prefix = ''): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.props.bucket, Prefix: this.keyPrefix + prefix, MaxKeys: this.pageSize, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key.slice(this.keyPrefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.failure(err, `list ${prefix || 'the backups'}`);
    }
    return keys.sort();
  }

  /**
   * Lists from the key instead of HeadObject: a HEAD answer has no body, so a missing bucket and
   * a missing key are the same bare 404. The key itself sorts first among keys it prefixes.
   */
  async exists(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    try {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.props.bucket, Prefix: objectKey, MaxKeys: 1 }));
      return page.Contents?.[0]?.Key === objectKey;
    } catch (err) {
      throw this.failure(err, `look for ${key}`);
    }
  }

  /** One DeleteObject per key (a snapshot has a few objects; DeleteObjects needs Content-MD5, which some S3-compatible servers reject). */
  async remove(folder: string): Promise<void> {
    for (const key of await this.list(`${checkKey(folder)}/`)) await this.delete(key);
  }

  /** DeleteObject: on a versioned bucket (the kit's, with object lock) a delete marker; S3 answers 204 for a missing key too. */
  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.props.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      throw this.failure(err, `delete ${key}`);
    }
  }

  private objectKey(key: string): string {
    return this.keyPrefix + checkKey(key);
  }

  private get endpointLabel(): string {
    return this.props.endpoint ? new URL(this.props.endpoint).origin : `AWS S3 (${this.props.region})`;
  }

  /** An SDK failure as the kit's error: what failed, where, and what to change. */
  private failure(err: unknown, action: string): CutoverError {
    if (err instanceof CutoverError) return err;
    const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const name = e.name ?? 'Error';
    const { bucket } = this.props;
    if (name === 'CredentialsProviderError') {
      return new CutoverError('AUTH_FAILED', `no AWS credentials found to ${action} in ${this.location}`, {
        received: name,
        fix: 'export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE: the backup store uses the standard AWS SDK credential chain and never reads credentials from the config file',
        cause: err,
      });
    }
    if (AUTH_ERROR_NAMES.test(name) || e.$metadata?.httpStatusCode === 403) {
      return new CutoverError('AUTH_FAILED', `${this.endpointLabel} refused to ${action} in ${this.location}: ${name}`, {
        received: name,
        fix: `use credentials (AWS SDK chain: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) allowed s3:ListBucket on ${bucket} and s3:GetObject, s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload on its objects`,
        cause: err,
      });
    }
    if (isNoSuchBucket(err)) {
      const endpointFlag = this.props.endpoint ? ` --endpoint-url ${this.endpointLabel}` : '';
      return new CutoverError('CONNECTION_FAILED', `bucket ${bucket} does not exist at ${this.endpointLabel}`, {
        received: bucket,
        fix: `create it (aws s3 mb s3://${bucket}${endpointFlag}) or correct backup.s3.bucket in the config`,
        cause: err,
      });
    }
    if (NETWORK_ERROR_CODES.has(e.code ?? '') || name === 'TimeoutError') {
      return new CutoverError('CONNECTION_FAILED', `cannot reach ${this.endpointLabel} to ${action} in ${this.location}: ${e.code ?? name}`, {
        received: this.endpointLabel,
        fix: this.props.endpoint ? 'start the S3-compatible server, or correct backup.s3.endpoint in the config' : 'check the network path to S3 (proxy, VPC endpoint) and backup.s3.region',
        cause: err,
      });
    }
    return new CutoverError('CONNECTION_FAILED', `cannot ${action} in ${this.location}: ${name}: ${e.message ?? ''}`, {
      received: name,
      fix: 'check backup.s3 in the config and the bucket, then re-run',
      cause: err,
    });
  }
}

function isNoSuchBucket(err: unknown): boolean {
  return (err as { name?: string })?.name === 'NoSuchBucket';
}
