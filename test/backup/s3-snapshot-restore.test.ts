import { existsSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresSnapshotter, type PostgresSnapshotManifest } from '../../lib/backup/postgres-snapshotter.ts';
import { S3BackupStore } from '../../lib/backup/s3-backup-store.ts';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { postgresEnvironmentSchema } from '../../lib/config/postgres-environment.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { startS3rver, type TestS3Server } from '../_helpers/s3rver.ts';
import { sql, tableDigest, testEnvironment } from '../replication/_env.ts';

const BUCKET = 'cutover-backups';
const PREFIX = 'cutover/lab';

const SCHEMA = `
  create table customers (id serial primary key, name text not null, email text unique);
  create table orders (id bigint generated always as identity primary key, customer_id int references customers(id),
                       total numeric(12,2), doc jsonb, note text);`;

/** Snapshot and restore of the `postgres` platform with `backup.s3` pointing at an S3-compatible server. */
describe('PostgresSnapshotter with backup.s3', () => {
  let server: TestS3Server | undefined;
  let source: Awaited<ReturnType<typeof startTestPostgres>> | undefined;
  let endpoint: string;
  let bucket: S3Client;
  let env: ResolvedPostgresEnvironment;
  let manifest: PostgresSnapshotManifest;
  const out = new RecordingOutput();
  const withBackup = (s3: Record<string, unknown>): ResolvedPostgresEnvironment => ({
    ...env,
    backup: postgresEnvironmentSchema.shape.backup.parse({ s3: { endpoint, prefix: PREFIX, ...s3 } }),
  });
  const objectBytes = async (key: string) => Buffer.from(await (await bucket.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
  const putObject = (key: string, body: Buffer) => bucket.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

  beforeAll(async () => {
    server = await startS3rver(BUCKET);
    const pg = (source = await startTestPostgres());
    endpoint = server.endpoint;
    bucket = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
    await sql(pg.url, SCHEMA);
    await sql(
      pg.url,
      `insert into customers (name, email) select 'customer ' || g, 'c' || g || '@example.com' from generate_series(1, 300) g;
       insert into orders (customer_id, total, doc, note)
         select 1 + g % 300, g * 1.25, jsonb_build_object('g', g), case when g % 7 = 0 then null else E'tab\\there ' || g end
         from generate_series(1, 2000) g;`,
    );
    env = testEnvironment(pg.url, pg.url);
    env = withBackup({ bucket: BUCKET });
  });
  afterAll(async () => {
    bucket?.destroy();
    await Promise.all([source?.dispose(), server?.close()]);
  });

  test('snapshot puts the table files and the manifest in the bucket under the prefix, and nothing in a folder', async () => {
    manifest = await new PostgresSnapshotter(env, out).snapshot();
    const listed = await bucket.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([
      `${PREFIX}/${manifest.id}/manifest.json`,
      `${PREFIX}/${manifest.id}/tables/public.customers.copy.gz`,
      `${PREFIX}/${manifest.id}/tables/public.orders.copy.gz`,
    ]);
    const stored = JSON.parse((await objectBytes(`${PREFIX}/${manifest.id}/manifest.json`)).toString()) as PostgresSnapshotManifest;
    expect(stored.tables.map((t) => [t.name, t.rows, t.file])).toEqual([
      ['public.customers', 300, `${manifest.id}/tables/public.customers.copy.gz`],
      ['public.orders', 2000, `${manifest.id}/tables/public.orders.copy.gz`],
    ]);
    expect(gunzipSync(await objectBytes(`${PREFIX}/${stored.tables[0]!.file}`)).toString().split('\n')[0]).toBe('1\tcustomer 1\tc1@example.com');
    expect(existsSync(env.backupDir)).toBe(false);
    expect(out.lines.map((l) => l.message).join('\n')).toContain(`${manifest.id} in s3://${BUCKET}/${PREFIX} at ${endpoint}`);
    expect((await new PostgresSnapshotter(env, out).verify(manifest.id)).ok).toBe(true);
  });

  test('restore from the bucket into an empty database verifies row counts and sha256 against the manifest', async () => {
    await source!.createDatabase('restored');
    const restoredUrl = source!.urlFor('restored');
    expect(await new PostgresSnapshotter(env, out).restore({ targetUrl: restoredUrl })).toEqual({ ok: true, problems: [] });
    for (const t of ['customers', 'orders']) expect(await tableDigest(restoredUrl, t)).toEqual(await tableDigest(source!.url, t));
    expect(out.lines.map((l) => l.message).join('\n')).toContain(`${manifest.id} restored and verified: 2 tables, counts and checksums match`);
  });

  test('fails if a table object in the bucket is corrupted, restoring nothing', async () => {
    const key = `${PREFIX}/${manifest.id}/tables/public.orders.copy.gz`;
    const original = await objectBytes(key);
    const flipped = Buffer.from(original);
    flipped[flipped.length >> 1]! ^= 0xff;
    await source!.createDatabase('corrupt');
    const corruptUrl = source!.urlFor('corrupt');
    try {
      await putObject(key, flipped);
      const snapshotter = new PostgresSnapshotter(env, out);
      const err = await snapshotter.restore({ targetUrl: corruptUrl }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'GATE_FAILED',
        message: expect.stringMatching(new RegExp(`^backup object ${manifest.id}/tables/public\\.orders\\.copy\\.gz in s3://${BUCKET}/${PREFIX} at .* is damaged: sha256 [0-9a-f]{64} differs from the manifest's ${manifest.tables[1]!.sha256} \\(loading it failed: `)),
        details: { fix: expect.stringMatching(/nothing was restored/) },
      });
      expect((await sql(corruptUrl, "select count(*)::int as n from pg_tables where schemaname = 'public'")).rows[0].n).toBe(0);
      expect((await snapshotter.verify(manifest.id)).problems.join('\n')).toMatch(/public\.orders/);
    } finally {
      await putObject(key, original);
    }
  });

  test('fails if a table object was replaced by other valid gzip, by its sha256', async () => {
    const key = `${PREFIX}/${manifest.id}/tables/public.customers.copy.gz`;
    const original = await objectBytes(key);
    await source!.createDatabase('replaced');
    try {
      const replaced = gzipSync(gunzipSync(original), { level: 9 }); // same rows, other bytes (snapshots use level 1)
      expect(replaced.equals(original)).toBe(false);
      await putObject(key, replaced);
      const err = await new PostgresSnapshotter(env, out).restore({ targetUrl: source!.urlFor('replaced') }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'GATE_FAILED', message: expect.stringContaining(`differs from the manifest's ${manifest.tables[0]!.sha256}`) });
    } finally {
      await putObject(key, original);
    }
  });

  test('fails if the configured bucket does not exist, instead of falling back to a folder', async () => {
    const missing = withBackup({ bucket: 'no-such-bucket' });
    await expect(new PostgresSnapshotter(missing, out).snapshot()).rejects.toMatchObject({
      code: 'CONNECTION_FAILED',
      message: `bucket no-such-bucket does not exist at ${endpoint}`,
    });
    expect(existsSync(missing.backupDir)).toBe(false);
  });

  test('fails with the store\'s error, not a broken pipe, if a large table\'s multipart upload fails', async () => {
    // ~6 MiB of incompressible bytes: more than one 5 MiB part after gzip, so the upload is multipart.
    await sql(source!.url, `create table blobs (id int primary key, data bytea);
      insert into blobs select g, (select decode(string_agg(md5(random()::text || g || s), ''), 'hex') from generate_series(1, 65536) s) from generate_series(1, 6) g`);
    const s3 = mockClient(S3Client);
    try {
      // the sweep for partial backups and the in-progress marker come first: an empty bucket, one small put
      s3.on(ListObjectsV2Command).resolves({ Contents: [] });
      s3.on(PutObjectCommand).resolves({});
      s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
      s3.on(UploadPartCommand).rejects(Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }));
      // The abort takes a moment, as over a network: the COPY pipeline sees its sink closed first.
      s3.on(AbortMultipartUploadCommand).callsFake(() => new Promise((resolve) => setTimeout(() => resolve({}), 100)));
      const store = new S3BackupStore({ bucket: BUCKET, region: 'us-east-1', endpoint, partSize: 5 * 1024 * 1024, queueSize: 1 });
      await expect(new PostgresSnapshotter(env, out, store).snapshot()).rejects.toMatchObject({
        code: 'CONNECTION_FAILED',
        message: expect.stringContaining('cannot write snap-'),
      });
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    } finally {
      s3.restore();
    }
  });
});
