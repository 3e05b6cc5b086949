import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { openTransactionTooLarge } from '../../lib/replication/open-transaction-memory.ts';

const MB = 1024 * 1024;

describe('a source transaction too large for the worker\'s memory', () => {
  test('is refused once the heap is nearly full, with the figures and the fix; a small transaction or a heap with room is not', () => {
    expect(openTransactionTooLarge(50_000, { used: 95 * MB, limit: 100 * MB })).toBeNull();
    expect(openTransactionTooLarge(500_000, { used: 60 * MB, limit: 100 * MB })).toBeNull();
    const err = openTransactionTooLarge(500_000, { used: 90 * MB, limit: 100 * MB })!;
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.message).toMatch(/more than 500000 changes .*heap 90 of 100 MB/);
    expect(err.details.fix).toContain('NODE_OPTIONS=--max-old-space-size=200');
  });

  test('the stream stops with that error before the process runs out of memory (a child with a 64 MB heap fed one transaction that never commits)', async () => {
    const child = fileURLToPath(new URL('./_big-open-transaction.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', child], { timeout: 60_000 });
    const reported = JSON.parse(stdout.trim()) as { code: string; message: string; fix: string };
    expect(reported.code).toBe('PRECONDITION_FAILED');
    expect(reported.message).toMatch(/a source transaction of more than \d+ changes does not fit in the replication worker's memory/);
    expect(reported.fix).toMatch(/--max-old-space-size=\d+/);
  }, 90_000);
});
