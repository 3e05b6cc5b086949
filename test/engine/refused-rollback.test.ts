import { afterEach, describe, expect, test } from 'vitest';
import { formatStatus } from '../../lib/cli/status-view.ts';
import { findLast, unfinishedRollback } from '../../lib/engine/journal-history.ts';
import { CutoverError } from '../../lib/errors.ts';
import { fakeRollback } from '../_helpers/fake-platform.ts';
import { engineFixture, rejection, tempEnvironment } from './engine-fixture.ts';

/**
 * A rollback refused before it changed anything (after finalize: "the cutover is finalized …
 * nothing was changed") used to be journaled as a failed rollback: `status` then said "the
 * rollback failed: writes may be failing until it finishes; re-run it" — a re-run is refused
 * again — and `cancel` refused because "the rollback failed". Such an error says so
 * (`changedNothing`) and the run is journaled as refused.
 */
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});

const refusingRollback = (changedNothing: boolean) => ({
  ...fakeRollback,
  async run(): Promise<never> {
    throw new CutoverError('PRECONDITION_FAILED', 'the cutover is finalized: nothing was changed, writes stay on green', { changedNothing });
  },
});

describe('a rollback refused before it changed anything', () => {
  test('is journaled as refused, not failed: status does not advise re-running it', async () => {
    const t = tempEnvironment();
    disposers.push(t.dispose);
    const f = engineFixture(t.env, { flags: { yes: true } });
    await f.engine.runAll();
    const refused = engineFixture(t.env, { flags: { yes: true }, rollback: refusingRollback(true) });
    const err = await rejection(refused.engine.rollback());
    expect(err.code).toBe('PRECONDITION_FAILED');
    const records = await f.journal.readAll();
    const last = findLast(records, (r) => r.phase === 'rollback' && r.action === 'run' && r.status !== 'started');
    expect(last).toMatchObject({ status: 'info', inputs: { refused: 'PRECONDITION_FAILED' } });
    expect(unfinishedRollback(records)).toBeNull();
    const status = formatStatus(await f.engine.status());
    expect(status).not.toMatch(/rollback failed|re-run it/);
  });

  test('one that may have changed something is still journaled as failed', async () => {
    const t = tempEnvironment();
    disposers.push(t.dispose);
    const f = engineFixture(t.env, { flags: { yes: true } });
    await f.engine.runAll();
    const failing = engineFixture(t.env, { flags: { yes: true }, rollback: refusingRollback(false) });
    await rejection(failing.engine.rollback());
    expect(unfinishedRollback(await f.journal.readAll())).toMatchObject({ how: 'failed' });
  });
});
