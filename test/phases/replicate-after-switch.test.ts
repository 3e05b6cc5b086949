import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { engineFixture, rejection, tempEnvironment } from '../engine/engine-fixture.ts';

/**
 * `replicate start` once writes are on green (after the write switch, or after finalize) used to
 * run: it created a new slot and publication on blue and started a full load into green, which
 * stopped at the first duplicate key and left the slot on blue retaining WAL (found by hand on
 * PostgreSQL 16 → 14). Forward replication copies blue into green: it is refused then, with
 * nothing started or journaled, and allowed again after a rollback.
 */
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});

function env() {
  const t = tempEnvironment();
  disposers.push(t.dispose);
  return t.env;
}

function journalBytes(stateDir: string): string | null {
  const f = path.join(stateDir, 'journal.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8') : null;
}

describe('replicate start once writes are on green', () => {
  test('fails after the write switch: PRECONDITION_FAILED naming the switch and the fix, nothing started or journaled; allowed again after a rollback', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    for (const name of ['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch'] as const) expect((await f.engine.runPhase(name)).ok, name).toBe(true);
    const starts = f.fake.state.forward.starts;
    const bytes = journalBytes(f.env.stateDir);
    const err = await rejection(f.engine.runPhase('replicate'));
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.message).toMatch(/writes are on green since the write switch at .*nothing was changed/);
    expect(err.details.fix).toContain('npx cutover rollback --env lab');
    expect(f.fake.state.forward.starts).toBe(starts);
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    // the dry-run says so too
    const dry = await f.another({ dryRun: true }).runPhase('replicate');
    expect(dry.wouldRefuse?.code).toBe('PRECONDITION_FAILED');
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    // after a rollback writes are on blue again: forward replication may run
    await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    expect((await f.engine.runPhase('replicate')).ok).toBe(true);
  });

  test('fails after finalize, naming it', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    await f.engine.runAll();
    const starts = f.fake.state.forward.starts;
    const err = await rejection(f.engine.runPhase('replicate'));
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.message).toMatch(/finalize/);
    expect(f.fake.state.forward.starts).toBe(starts);
  });
});
