import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FileJournalStore } from '../../lib/engine/file-journal-store.ts';
import type { NewJournalRecord } from '../../lib/engine/journal-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'cutover-journal-'));
  dirs.push(d);
  return path.join(d, 'state', 'journal.jsonl');
}

const rec = (action: string): NewJournalRecord => ({ time: new Date().toISOString(), operator: 'op', host: 'h', pid: 1, env: 'lab', phase: 'assess', action, status: 'info' });

describe('FileJournalStore', () => {
  test('reading a journal that does not exist creates nothing', async () => {
    const file = tempFile();
    expect(await new FileJournalStore(file).readAll()).toEqual([]);
    expect(existsSync(path.dirname(file))).toBe(false);
  });

  test('sequence numbers stay gap-free and unique when two stores append at once', async () => {
    const file = tempFile();
    const a = new FileJournalStore(file);
    const b = new FileJournalStore(file);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append(rec(`a${i}`))));
    const seqs = (await a.readAll()).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test('a line torn by kill -9 is skipped and the next append still gets the next seq', async () => {
    const file = tempFile();
    const j = new FileJournalStore(file);
    await j.append(rec('one'));
    appendFileSync(file, '{"seq":2,"time":"2025-'); // killed mid-write
    const fresh = new FileJournalStore(file);
    const r = await fresh.append(rec('two'));
    expect(r.seq).toBe(2);
    expect((await fresh.readAll()).map((x) => x.action)).toEqual(['one', 'two']);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });
});
