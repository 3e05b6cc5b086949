import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { rehearse } from '../../lib/rehearsal/rehearse.ts';

// the servers fail to start the way the test says (no server is started)
let failure: Error = new Error('unset');
vi.mock(import('../../lib/rehearsal/rehearsal-servers.ts'), async (original) => ({
  ...(await original()),
  startRehearsalServers: async () => {
    throw failure;
  },
}));

/** Issue #13: `--orders 200000` died with `INTERNAL: Maximum call stack size exceeded` and exited 0. */
describe('a rehearsal that fails never exits 0', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearse-exit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('an internal error (a bug) exits 3 and says INTERNAL; a connection error exits 2', async () => {
    failure = new RangeError('Maximum call stack size exceeded');
    const out = new RecordingOutput();
    expect(await rehearse({ dir, orders: 200_000 }, out)).toBe(3);
    expect(out.text()).toContain('INTERNAL: Maximum call stack size exceeded');

    failure = new CutoverError('CONNECTION_FAILED', 'cannot reach the legacy server', { fix: 'start it' });
    const again = new RecordingOutput();
    expect(await rehearse({ dir }, again)).toBe(2);
    expect(again.text()).toContain('cannot reach the legacy server');
  });
});
