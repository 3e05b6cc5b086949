import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { WorkerStatusFile } from '../../lib/replication/status-file.ts';
import { AppliedRateWindow, WorkerStatusWriter } from '../../lib/replication/status-writer.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'status-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AppliedRateWindow', () => {
  test('averages the rows of the last five seconds per second', () => {
    const w = new AppliedRateWindow();
    w.add(1000, 10_000);
    w.add(3000, 12_000);
    expect(w.perSecond(14_000)).toBe(1000); // 4,000 rows over 4 s
    expect(w.perSecond(16_000)).toBe(750); // the first entry left the window: 3,000 rows over the 4 s since the second
    expect(w.perSecond(17_000)).toBe(600); // 3,000 over 5 s: the span is capped at the window
    expect(w.perSecond(17_001)).toBe(0); // and then it is gone
  });

  test('a window younger than a second is divided by a full second', () => {
    const w = new AppliedRateWindow();
    w.add(500, 1000);
    expect(w.perSecond(1100)).toBe(500);
    expect(new AppliedRateWindow().perSecond(0)).toBe(0);
  });
});

describe('WorkerStatusWriter', () => {
  const status = (n: number) => ({ stream: `s${n}` }) as unknown as WorkerStatusFile;
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { stream: string };

  test('writes the newest state; requests while a write is under way end with the newest state on disk', async () => {
    const file = path.join(dir, 'a.json');
    let n = 0;
    const w = new WorkerStatusWriter(file, () => status(++n), 0);
    for (let i = 0; i < 5; i++) w.write();
    await w.settled();
    expect(read(file).stream).toBe(`s${n}`);
    expect(n).toBeLessThan(5); // coalesced: not one write per request
  });

  test('a throttled request still lands as one trailing write', async () => {
    const file = path.join(dir, 'b.json');
    let current = 1;
    const w = new WorkerStatusWriter(file, () => status(current), 10_000);
    w.write(true);
    await w.settled();
    current = 2;
    w.write(); // inside the interval: deferred
    await w.settled();
    expect(read(file).stream).toBe('s1');
    w.write(true); // forced: written now, and the trailing timer is dropped
    await w.settled();
    expect(read(file).stream).toBe('s2');
  });
});
