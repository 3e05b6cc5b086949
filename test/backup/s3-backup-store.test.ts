import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { findPartialBackups, IN_PROGRESS_FILE, sweepPartialBackups } from '../../lib/backup/partial-backups.ts';
import { S3BackupStore, type S3BackupStoreProps } from '../../lib/backup/s3-backup-store.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { CutoverError } from '../../lib/errors.ts';
import { startS3rver, useS3rverCredentials, type TestS3Server } from '../_helpers/s3rver.ts';

const BUCKET = 'cutover-backups';
const MiB = 1024 * 1024;

/** `count` MiB of random bytes as a stream, and their SHA-256. */
function randomStream(count: number): { stream: Readable; sha256: string } {
  const chunks = Array.from({ length: count }, () => randomBytes(MiB));
  const sha256 = chunks.reduce((h, c) => h.update(c), createHash('sha256')).digest('hex');
  return { stream: Readable.from(chunks), sha256 };
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  return Buffer.concat(await stream.toArray());
}

/** The port of a socket that was just closed: nothing listens there. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('S3BackupStore against an S3-compatible server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-s3-'));
  let server: TestS3Server | undefined;
  let endpoint: string;
  const store = (props: Partial<S3BackupStoreProps> = {}) => new S3BackupStore({ bucket: BUCKET, region: 'us-east-1', endpoint, ...props });

  beforeAll(async () => {
    server = await startS3rver(BUCKET);
    endpoint = server.endpoint;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('put and get round-trip a string, a Buffer and a stream', async () => {
    const s = store();
    expect(s.location).toBe(`s3://${BUCKET} at ${endpoint}`);
    await s.put('round/text.json', '{"ok":true}\n');
    await s.put('round/bytes.bin', Buffer.from([0, 1, 2, 255]));
    await s.put('round/stream.txt', Readable.from(['a\n', 'b\n']));
    expect((await bytesOf(await s.get('round/text.json'))).toString()).toBe('{"ok":true}\n');
    expect([...(await bytesOf(await s.get('round/bytes.bin')))]).toEqual([0, 1, 2, 255]);
    expect((await bytesOf(await s.get('round/stream.txt'))).toString()).toBe('a\nb\n');
  });

  test('remove deletes every object of one snapshot folder and nothing else (a failed snapshot\'s clean-up)', async () => {
    const s = store({ prefix: 'rm' });
    await s.put('snap-a/tables/t.copy.gz', 'a');
    await s.put('snap-a/manifest.json', '{}');
    await s.put('snap-ab/manifest.json', '{}');
    await s.remove('snap-a');
    expect(await s.list()).toEqual(['snap-ab/manifest.json']);
    await s.remove('snap-a'); // idempotent
  });

  test('a killed snapshot\'s partial backup in a bucket: named with its owner, removed once the owner is provably gone; delete removes one object', async () => {
    const s = store({ prefix: 'partial' });
    // a pid above the kernel's largest (2^22) never runs: the owner is provably gone
    const marker = { id: 'snap-killed', pid: 2 ** 22 + 1, host: os.hostname(), processStart: null, startedAt: '2026-12-07T06:00:00.000Z', toolVersion: '0.0.0' };
    await s.put(`snap-killed/${IN_PROGRESS_FILE}`, JSON.stringify(marker));
    await s.put('snap-killed/tables/public.t.copy.gz', 'half');
    await s.put(`snap-other/${IN_PROGRESS_FILE}`, JSON.stringify({ ...marker, id: 'snap-other', host: 'another-host.example' }));
    await s.put(`snap-done/${IN_PROGRESS_FILE}`, JSON.stringify(marker));
    await s.put('snap-done/manifest.json', '{}');
    expect((await findPartialBackups(s)).map((p) => [p.id, p.objects, p.ownerGone])).toEqual([
      ['snap-killed', 2, true],
      ['snap-other', 1, false],
    ]);
    await sweepPartialBackups(s, new RecordingOutput());
    expect(await s.list()).toEqual(['snap-done/in-progress.json', 'snap-done/manifest.json', 'snap-other/in-progress.json']);
    await s.delete('snap-done/in-progress.json');
    await s.delete('snap-done/in-progress.json'); // idempotent
    expect(await s.list()).toEqual(['snap-done/manifest.json', 'snap-other/in-progress.json']);
  });

  test('a stream larger than two parts is uploaded in parts and reads back whole', async () => {
    const send = vi.spyOn(S3Client.prototype, 'send');
    try {
      const { stream, sha256 } = randomStream(12);
      await store({ partSize: 5 * MiB }).put('big/table.copy.gz', stream);
      const sent = send.mock.calls.map(([command]) => command.constructor.name);
      expect(sent.filter((n) => n === 'UploadPartCommand')).toHaveLength(3);
      expect(sent).toContain('CompleteMultipartUploadCommand');
      const back = await bytesOf(await store().get('big/table.copy.gz'));
      expect(back.length).toBe(12 * MiB);
      expect(createHash('sha256').update(back).digest('hex')).toBe(sha256);
    } finally {
      send.mockRestore();
    }
  });

  test('keys live under the prefix; list filters by prefix, strips the store prefix and sorts', async () => {
    const prefixed = store({ prefix: 'teams/lab/' });
    expect(prefixed.location).toBe(`s3://${BUCKET}/teams/lab at ${endpoint}`);
    for (const key of ['snap-b/manifest.json', 'snap-a/tables/public.orders.copy.gz', 'snap-a/manifest.json']) await prefixed.put(key, key);
    expect(await prefixed.list()).toEqual(['snap-a/manifest.json', 'snap-a/tables/public.orders.copy.gz', 'snap-b/manifest.json']);
    expect(await prefixed.list('snap-a/')).toEqual(['snap-a/manifest.json', 'snap-a/tables/public.orders.copy.gz']);
    expect(await store().list('teams/')).toEqual(['teams/lab/snap-a/manifest.json', 'teams/lab/snap-a/tables/public.orders.copy.gz', 'teams/lab/snap-b/manifest.json']);
    expect((await bytesOf(await store().get('teams/lab/snap-b/manifest.json'))).toString()).toBe('snap-b/manifest.json');
  });

  test('exists is true for a stored key only, not for a prefix of one', async () => {
    const s = store({ prefix: 'exists' });
    await s.put('snap-1/manifest.json', '{}');
    expect(await s.exists('snap-1/manifest.json')).toBe(true);
    expect(await s.exists('snap-1/manifest')).toBe(false);
    expect(await s.exists('snap-2/manifest.json')).toBe(false);
  });

  test('fails if the key is missing, with PRECONDITION_FAILED naming the key and the bucket', async () => {
    const err = await store({ prefix: 'team' }).get('snap-x/manifest.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CutoverError);
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED', details: { received: 'snap-x/manifest.json' } });
    expect((err as CutoverError).message).toBe(`backup object snap-x/manifest.json not found in s3://${BUCKET}/team at ${endpoint}`);
    expect((err as CutoverError).details.fix).toMatch(/cutover snapshot/);
  });

  test('fails if the bucket does not exist, naming the bucket, the endpoint and how to create it', async () => {
    const missing = store({ bucket: 'no-such-bucket' });
    for (const call of [() => missing.get('a/manifest.json'), () => missing.list(), () => missing.exists('a'), () => missing.put('a/b', 'x')]) {
      const err = (await call().catch((e: unknown) => e)) as CutoverError;
      expect(err).toMatchObject({ code: 'CONNECTION_FAILED', message: `bucket no-such-bucket does not exist at ${endpoint}` });
      expect(err.details.fix).toBe(`create it (aws s3 mb s3://no-such-bucket --endpoint-url ${endpoint}) or correct backup.s3.bucket in the config`);
    }
  });

  test('fails if the server refuses the access key, with AUTH_FAILED naming the credential chain', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'NOT-A-KEY');
    try {
      const err = (await store().list().catch((e: unknown) => e)) as CutoverError;
      expect(err).toMatchObject({ code: 'AUTH_FAILED', details: { received: 'InvalidAccessKeyId' } });
      expect(err.message).toContain(`s3://${BUCKET} at ${endpoint}`);
      expect(err.details.fix).toMatch(/AWS_PROFILE or AWS_ACCESS_KEY_ID/);
    } finally {
      useS3rverCredentials();
    }
  });

  test('fails if no credentials are found, saying they come from the AWS SDK chain and not the config', async () => {
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) vi.stubEnv(name, undefined);
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    vi.stubEnv('AWS_CONFIG_FILE', path.join(dir, 'no-config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(dir, 'no-credentials'));
    try {
      const err = (await store().list().catch((e: unknown) => e)) as CutoverError;
      expect(err).toMatchObject({ code: 'AUTH_FAILED', details: { received: 'CredentialsProviderError' } });
      expect(err.details.fix).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
      expect(err.details.fix).toMatch(/never reads credentials from the config file/);
    } finally {
      vi.unstubAllEnvs();
      useS3rverCredentials();
    }
  });

  test('fails if nothing listens at the endpoint, with CONNECTION_FAILED naming it', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const err = (await store({ endpoint: dead }).list().catch((e: unknown) => e)) as CutoverError;
    expect(err).toMatchObject({ code: 'CONNECTION_FAILED', message: expect.stringContaining(`cannot reach ${dead}`) });
    expect(err.details.fix).toMatch(/start the S3-compatible server, or correct backup.s3.endpoint/);
  });

  test('fails if a key could escape the prefix', async () => {
    await expect(store({ prefix: 'lab' }).put('../other/manifest.json', '{}')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(() => store({ prefix: '/abs' })).toThrow(/invalid backup key/);
  });
});

describe('S3BackupStore with a mocked S3 client', () => {
  let s3: AwsClientStub<S3Client>;
  const store = () => new S3BackupStore({ bucket: BUCKET, region: 'eu-west-1', prefix: 'lab', pageSize: 2, partSize: 5 * MiB });
  const uploadFailure = () => Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });

  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  beforeEach(() => {
    s3.reset();
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    // The abort takes a moment, as over a network.
    s3.on(AbortMultipartUploadCommand).callsFake(() => new Promise((resolve) => setTimeout(() => resolve({}), 50)));
  });
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());

  test('list follows every ListObjectsV2 page', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'lab/a/manifest.json' }, { Key: 'lab/a/tables/t.copy.gz' }], IsTruncated: true, NextContinuationToken: 't1' })
      .resolvesOnce({ Contents: [{ Key: 'lab/b/manifest.json' }], IsTruncated: false });
    expect(await store().list()).toEqual(['a/manifest.json', 'a/tables/t.copy.gz', 'b/manifest.json']);
    const inputs = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { Bucket: BUCKET, Prefix: 'lab/', MaxKeys: 2, ContinuationToken: undefined },
      { Bucket: BUCKET, Prefix: 'lab/', MaxKeys: 2, ContinuationToken: 't1' },
    ]);
  });

  test('fails if a part cannot be stored: the multipart upload is aborted and the producer is stopped', async () => {
    s3.on(UploadPartCommand).rejects(uploadFailure());
    // Endless, like a COPY that keeps producing: once every part in flight has failed nobody reads
    // it, so unless put destroys it the producer would wait on backpressure forever.
    const stream = Readable.from(
      (function* () {
        for (let i = 0; ; i++) yield Buffer.alloc(MiB, i);
      })(),
    );
    const err = (await store().put('snap/tables/t.copy.gz', stream).catch((e: unknown) => e)) as CutoverError;
    expect(err).toBeInstanceOf(CutoverError);
    expect(err).toMatchObject({ code: 'CONNECTION_FAILED', details: { received: 'InternalError' } });
    expect(err.message).toContain(`write snap/tables/t.copy.gz in s3://${BUCKET}/lab`);
    expect(s3.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: 'lab/snap/tables/t.copy.gz', UploadId: 'upload-1' }]);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(stream.destroyed).toBe(true);
  });

  test('fails with the producer\'s own error if the stream breaks mid-upload, and aborts the upload', async () => {
    s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
    const broken = new Error('COPY failed: connection to the source lost');
    const stream = Readable.from(
      (async function* () {
        for (let i = 0; i < 6; i++) yield randomBytes(MiB);
        throw broken;
      })(),
    );
    await expect(store().put('snap/tables/t.copy.gz', stream)).rejects.toBe(broken);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });
});
