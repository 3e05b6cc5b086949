import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brief, phase, runSmallRehearsal } from './run-rehearsal.ts';

describe('rehearsal --fault kill-replicator --backup-store s3', () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal('kill-replicator', 's3');
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('the worker was killed -9 and replication resumed to an equal target', () => {
    expect(r.out.text(), brief(r)).toMatch(/kill -9 \d+/);
    expect(phase(r.report, 'replicate').outcome, brief(r)).toBe('ok');
    expect(r.report.validation.equal).toBe(true);
    expect(r.report.ledger.missing, brief(r)).toBe(0);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.code, brief(r)).toBe(0);
  });

  test('the snapshot went through the S3 client to the S3-compatible server, and was verified there', () => {
    expect(r.out.text(), brief(r)).toMatch(/backups go to s3:\/\/cutover-rehearsal\/rehearsal at http:\/\/127\.0\.0\.1:\d+/);
    expect(phase(r.report, 'snapshot').outcome, brief(r)).toBe('ok');
    expect(existsSync(path.join(r.dir, 'state', 'backups'))).toBe(false);
    const stored = readdirSync(path.join(r.dir, 's3', 'cutover-rehearsal'), { recursive: true }).map(String);
    expect(stored.some((f) => f.includes('manifest.json'))).toBe(true);
  });
});
