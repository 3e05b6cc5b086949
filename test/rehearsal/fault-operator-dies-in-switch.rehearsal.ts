import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault operator-dies-in-switch', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('operator-dies-in-switch');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('`cutover switch` was killed -9 while writes were held; the re-run decided by the journal and the cutover finished', () => {
    expect(r.report.faults?.map((f) => f.name), brief(r)).toEqual(['operator-dies-in-switch']);
    expect(r.out.text(), brief(r)).toMatch(/kill -9 \d+ \(the operator's `cutover switch`\) while writes were held/);
    const journal = readFileSync(path.join(r.dir, 'state', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; status: string });
    const holds = journal.filter((j) => j.action === 'router.holdWrites' && j.status === 'started');
    expect(holds.length).toBeGreaterThanOrEqual(1);
    // killed before the point of no return: undone, then switched again; after it: finished
    const undone = journal.some((j) => j.action === 'switch.undone' && j.status === 'ok');
    const flips = journal.filter((j) => j.action === 'switch.flip' && j.status === 'ok').length;
    expect(undone ? flips === 1 : flips >= 1).toBe(true);
    expect(phase(r.report, 'switch').outcome, brief(r)).toBe('ok');
    expect(phase(r.report, 'finalize').outcome, brief(r)).toBe('ok');
    expect(r.report.ledger.checkedOn).toBe('green');
  });

  test('the held writes were released to the authoritative side: none failed, none lost', () => {
    expect(r.report.ledger.acknowledged).toBeGreaterThan(10);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.ledger.mismatched, brief(r)).toBe(0);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.code, brief(r)).toBe(0);
  });
});
