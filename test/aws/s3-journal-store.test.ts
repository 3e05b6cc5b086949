import { beforeEach, describe, expect, test } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3JournalStore, journalKey } from '../../lib/aws/s3-journal-store.ts';
import type { NewJournalRecord } from '../../lib/engine/journal-store.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { BUCKET, awsEnv, fakeBucket, inputsOf, mocks, newClients, resetMocks } from './aws-fixtures.ts';

const record = (action: string): NewJournalRecord => ({
  time: '2025-03-01T10:00:00.000Z',
  operator: 'ana',
  host: 'laptop',
  pid: 42,
  env: 'staging',
  phase: 'shift',
  action,
  status: 'ok',
});

beforeEach(() => resetMocks());

describe('S3JournalStore', () => {
  test('appends one object per record with a conditional create and reads them back in order', async () => {
    const objects = fakeBucket();
    const store = await S3JournalStore.open(awsEnv(), newClients(), new RecordingOutput());
    expect(store.location).toBe(`s3://${BUCKET}/journal/staging/`);
    for (const a of ['a', 'b', 'c']) await store.append(record(a));
    expect([...objects.keys()]).toEqual([1, 2, 3].map((n) => journalKey('staging', n)));
    expect(journalKey('staging', 3)).toBe('journal/staging/0000000003.json');
    expect(inputsOf<{ IfNoneMatch: string; Bucket: string }>(mocks.s3, 'PutObject').every((i) => i.IfNoneMatch === '*' && i.Bucket === BUCKET)).toBe(true);
    const all = await new S3JournalStore(awsEnv(), newClients(), new RecordingOutput()).readAll();
    expect(all.map((r) => [r.seq, r.action])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  test('a conditional-write conflict takes the next seq and overwrites nothing', async () => {
    const objects = fakeBucket();
    const mine = new S3JournalStore(awsEnv(), newClients(), new RecordingOutput());
    const theirs = new S3JournalStore(awsEnv(), newClients(), new RecordingOutput());
    await mine.append(record('mine-1')); // seq 1, mine caches lastSeq=1
    await theirs.append(record('theirs-2')); // theirs lists, takes seq 2
    const r = await mine.append(record('mine-3')); // mine tries 2 -> 412 -> 3
    expect(r.seq).toBe(3);
    const puts = inputsOf<{ Key: string }>(mocks.s3, 'PutObject').map((i) => i.Key.replace('journal/staging/', ''));
    expect(puts).toEqual(['0000000001.json', '0000000002.json', '0000000002.json', '0000000003.json']);
    expect(JSON.parse(objects.get(journalKey('staging', 2))!.body).action).toBe('theirs-2');
    const all = await mine.readAll();
    expect(all.map((x) => `${x.seq}:${x.action}`)).toEqual(['1:mine-1', '2:theirs-2', '3:mine-3']);
  });

  test('fails if the bucket refuses the write, with CONNECTION_FAILED naming the journal', async () => {
    fakeBucket();
    mocks.s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const store = await S3JournalStore.open(awsEnv(), newClients(), new RecordingOutput());
    await expect(store.append(record('x'))).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });
});
