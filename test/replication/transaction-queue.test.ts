import { describe, expect, test } from 'vitest';
import { TransactionQueue, type FlowControl } from '../../lib/replication/transaction-queue.ts';

function txn(lsn: string, changes: number, bytes?: number) {
  return { commitLsn: lsn, changes: Array.from({ length: changes }, (_, i) => i), bytes };
}

function flow() {
  const calls: string[] = [];
  const f: FlowControl = { pause: () => calls.push('pause'), resume: () => calls.push('resume') };
  return { f, calls };
}

describe('TransactionQueue', () => {
  test('takes whole transactions in commit order, up to the batch size in changes', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 5 });
    for (const [i, n] of [3, 2, 4, 1].entries()) q.push(txn(`0/${i + 1}0`, n), f);
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/10', '0/20']);
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/30', '0/40']);
    expect(q.take(null, f)).toBeNull();
    expect(q.queuedChanges).toBe(0);
  });

  test('says when a full batch is waiting: the current limit in changes (the slow start\'s smaller one first) or the batch bytes', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 100, firstBatch: 10, batchBytes: 1000 });
    q.push(txn('0/10', 9), f);
    expect(q.fullBatchWaiting).toBe(false);
    q.push(txn('0/20', 1), f);
    expect(q.fullBatchWaiting).toBe(true); // 10: the slow start's first limit
    q.take(null, f);
    q.push(txn('0/30', 39, 500), f);
    expect(q.fullBatchWaiting).toBe(false); // the limit is 40 now
    q.push(txn('0/40', 1, 500), f);
    expect(q.fullBatchWaiting).toBe(true); // 40 changes, and 1,000 bytes
    q.take(null, f);
    q.push(txn('0/50', 2, 1200), f);
    expect(q.fullBatchWaiting).toBe(true); // bytes alone
  });

  test('a transaction larger than the batch size goes alone, never split', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 5 });
    q.push(txn('0/10', 12), f);
    q.push(txn('0/20', 1), f);
    expect(q.take(null, f)!.map((t) => t.changes.length)).toEqual([12]);
    expect(q.take(null, f)!.map((t) => t.changes.length)).toEqual([1]);
  });

  test('slow start: the first batch is small, each next one up to four times larger, until the batch size; clear() starts slow again', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 100, firstBatch: 2 });
    for (let i = 1; i <= 200; i++) q.push(txn(`0/${i.toString(16)}0`, 1), f);
    const sizes = [q.take(null, f)!.length, q.take(null, f)!.length, q.take(null, f)!.length, q.take(null, f)!.length];
    expect(sizes).toEqual([2, 8, 32, 100]);
    q.clear();
    q.push(txn('1/10', 1), f);
    q.push(txn('1/20', 1), f);
    q.push(txn('1/30', 1), f);
    expect(q.take(null, f)!.length).toBe(2);
  });

  test('skips transactions committed before the applied position (applied before a restart)', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 2 });
    q.push(txn('0/10', 1), f);
    q.push(txn('0/20', 1), f);
    q.push(txn('0/30', 1), f);
    // the first batch would hold only skipped transactions: take() goes on to the next
    expect(q.take('0/21', f)!.map((t) => t.commitLsn)).toEqual(['0/30']);
    expect(q.length).toBe(0);
  });

  test('empty transactions count as one change each, so a batch of them is bounded', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 3 });
    for (let i = 1; i <= 7; i++) q.push(txn(`0/${i}0`, 0), f);
    expect(q.take(null, f)!.length).toBe(3);
  });

  test('pauses the stream above pauseAt changes and resumes it below resumeAt', () => {
    const { f, calls } = flow();
    const q = new TransactionQueue({ batchSize: 4, pauseAt: 10, resumeAt: 5 });
    for (let i = 1; i <= 6; i++) q.push(txn(`0/${i}0`, 2), f);
    expect(calls).toEqual(['pause']);
    q.take(null, f); // 8 left
    expect(calls).toEqual(['pause']);
    q.take(null, f); // 4 left
    expect(calls).toEqual(['pause', 'resume']);
  });

  test('wide rows: a batch takes whole transactions up to batchBytes bytes (one larger goes alone), whatever the batch size in changes', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 1000, batchBytes: 100 });
    for (const [i, bytes] of [40, 40, 40, 250, 10].entries()) q.push(txn(`0/${i + 1}0`, 2, bytes), f);
    expect(q.queuedBytes).toBe(380);
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/10', '0/20']);
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/30']);
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/40']);
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/50']);
    expect(q.queuedBytes).toBe(0);
  });

  test('pauses the stream above pauseAtBytes queued bytes and resumes it below resumeAtBytes, however few the changes', () => {
    const { f, calls } = flow();
    const q = new TransactionQueue({ batchSize: 1000, batchBytes: 100, pauseAtBytes: 250, resumeAtBytes: 100 });
    for (let i = 1; i <= 3; i++) q.push(txn(`0/${i}0`, 1, 100), f);
    expect(calls).toEqual(['pause']);
    q.take(null, f); // 200 left
    expect(calls).toEqual(['pause']);
    q.take(null, f); // 100 left
    expect(calls).toEqual(['pause']);
    q.take(null, f); // 0 left
    expect(calls).toEqual(['pause', 'resume']);
  });

  test('requeue puts taken transactions first in line again, with their changes and bytes counted', () => {
    const { f } = flow();
    const q = new TransactionQueue({ batchSize: 2 });
    q.push(txn('0/10', 1, 5), f);
    q.push(txn('0/20', 1, 5), f);
    q.push(txn('0/30', 1, 5), f);
    const first = q.take(null, f)!;
    q.requeue(first);
    expect(q.queuedChanges).toBe(3);
    expect(q.queuedBytes).toBe(15);
    expect(q.oldest?.commitLsn).toBe('0/10');
    expect(q.take(null, f)!.map((t) => t.commitLsn)).toEqual(['0/10', '0/20']);
  });
});
