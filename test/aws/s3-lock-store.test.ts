import { beforeEach, describe, expect, test } from 'vitest';
import { S3LockStore, lockKey } from '../../lib/aws/s3-lock-store.ts';
import type { LockHolder } from '../../lib/engine/journal-store.ts';
import { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { awsEnv, fakeBucket, fakeTime, inputsOf, mocks, newClients, resetMocks } from './aws-fixtures.ts';

const ana: LockHolder = { operator: 'ana', host: 'ana-laptop', pid: 4242, command: 'cutover switch', since: '2025-03-01T09:58:00.000Z' };
const bo: LockHolder = { operator: 'bo', host: 'bo-laptop', pid: 77, command: 'cutover rollback', since: '2025-03-01T10:00:00.000Z' };

beforeEach(() => resetMocks());

describe('S3LockStore', () => {
  test('acquire creates lock/<env>.json conditionally; release deletes it', async () => {
    const objects = fakeBucket();
    const lock = new S3LockStore(awsEnv(), newClients(), new RecordingOutput());
    await lock.acquire(ana);
    expect(inputsOf<{ Key: string; IfNoneMatch: string }>(mocks.s3, 'PutObject')).toEqual([
      expect.objectContaining({ Key: 'lock/staging.json', IfNoneMatch: '*' }),
    ]);
    expect(await lock.current()).toEqual(ana);
    await lock.release();
    expect(objects.has(lockKey('staging'))).toBe(false);
    expect(await lock.current()).toBeNull();
  });

  test('fails if another operator holds the lock, naming the holder and since when', async () => {
    fakeBucket();
    const time = fakeTime(new Date('2025-03-01T10:00:00Z'));
    await new S3LockStore(awsEnv(), newClients(), new RecordingOutput(), time).acquire(ana);
    const err = (await new S3LockStore(awsEnv(), newClients(), new RecordingOutput(), time).acquire(bo).catch((e: unknown) => e)) as CutoverError;
    expect(err).toBeInstanceOf(CutoverError);
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain('ana@ana-laptop (pid 4242, `cutover switch`) since 2025-03-01T09:58:00.000Z');
  });

  test('fails if rollback tries to take over a fresh lock from a host that cannot be proven dead', async () => {
    fakeBucket();
    const time = fakeTime(new Date('2025-03-01T10:00:00Z'));
    await new S3LockStore(awsEnv(), newClients(), new RecordingOutput(), time).acquire(ana);
    await expect(new S3LockStore(awsEnv(), newClients(), new RecordingOutput(), time).acquire(bo, { takeOverStale: true })).rejects.toMatchObject({
      code: 'LOCKED',
    });
  });

  test('takeover of a stale lock replaces it with If-Match on the holder ETag', async () => {
    const objects = fakeBucket();
    const time = fakeTime(new Date('2025-03-01T11:00:00Z')); // ana's lock is an hour old
    await new S3LockStore(awsEnv(), newClients(), new RecordingOutput(), time).acquire(ana);
    const etag = objects.get(lockKey('staging'))!.etag;
    const out = new RecordingOutput();
    const rescuer = new S3LockStore(awsEnv(), newClients(), out, time);
    await rescuer.acquire(bo, { takeOverStale: true });
    expect(inputsOf<{ IfMatch?: string }>(mocks.s3, 'PutObject').at(-1)!.IfMatch).toBe(etag);
    expect(await rescuer.current()).toEqual(bo);
    expect(out.text()).toContain('taking over the lock of ana@ana-laptop');
  });

  test('release leaves a lock held by someone else', async () => {
    fakeBucket();
    await new S3LockStore(awsEnv(), newClients(), new RecordingOutput()).acquire(ana);
    await new S3LockStore(awsEnv(), newClients(), new RecordingOutput()).release();
    expect(inputsOf(mocks.s3, 'DeleteObject')).toEqual([]);
  });
});
