import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { verifiedPhases } from '../../lib/engine/journal-history.ts';
import { scriptedPrompter } from '../../lib/engine/prompter.ts';
import type { ValidateOptions, ValidationReport } from '../../lib/platform/roles.ts';
import { formatStatus } from '../../lib/cli/status-view.ts';
import type { FakePlatform } from '../_helpers/fake-platform.ts';
import { engineFixture, rejection, tempEnvironment } from '../engine/engine-fixture.ts';

/**
 * `validate --repair` is a mutation (finding 3): confirmation and lock, refused once writes are on
 * green, and it reports the result after repairing. `validate --table` is partial (finding 7).
 */
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});
const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
afterAll(() => void live.kill('SIGKILL'));

function env(options: { protected?: boolean } = {}) {
  const t = tempEnvironment(options);
  disposers.push(t.dispose);
  return t.env;
}

function journalBytes(stateDir: string): string | null {
  const f = path.join(stateDir, 'journal.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8') : null;
}

/** A validator that finds 2 missing rows and repairs them when asked; equal afterwards. */
function repairingValidator(fake: FakePlatform): { calls: ValidateOptions[] } {
  const calls: ValidateOptions[] = [];
  let repairedYet = false;
  const base = fake.validator.validate;
  fake.validator.validate = async (o: ValidateOptions = {}) => {
    calls.push(o);
    const equal: ValidationReport = await base();
    if (repairedYet) return equal;
    const t = equal.tables[0]!;
    const report = { ...equal, equal: false, tables: [{ ...t, targetRows: 8, missing: [{ id: 7 }, { id: 8 }] }] };
    if (!o.repair) return report;
    repairedYet = true;
    return { ...report, repaired: 2 };
  };
  return { calls };
}

describe('validate --repair', () => {
  test('fails on a protected environment without a typed confirmation: ABORTED, nothing repaired or journaled', async () => {
    const f = engineFixture(env({ protected: true }));
    const v = repairingValidator(f.fake);
    const err = await rejection(f.engine.runPhase('validate', { repair: true }));
    expect(err.code).toBe('ABORTED');
    expect(v.calls).toHaveLength(0);
    expect(journalBytes(f.env.stateDir)).toBeNull();
    // plain validate reads only: no confirmation
    expect((await f.engine.runPhase('validate')).ok).toBe(false);
    // typed name: runs
    const p = scriptedPrompter(['lab']);
    expect((await f.another({}, p).runPhase('validate', { repair: true })).ok).toBe(true);
    expect(p.asked[0]).toContain('cutover validate changes the protected environment "lab"');
  });

  test('fails while another command holds the lock: LOCKED, nothing repaired', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    const v = repairingValidator(f.fake);
    mkdirSync(f.env.stateDir, { recursive: true });
    writeFileSync(path.join(f.env.stateDir, 'lock.json'), JSON.stringify({ operator: 'bob', host: os.hostname(), pid: live.pid, command: 'cutover shift', since: '2025-02-03T04:05:06.000Z' }));
    expect((await rejection(f.engine.runPhase('validate', { repair: true }))).code).toBe('LOCKED');
    expect(v.calls).toHaveLength(0);
  });

  test('after repairing it says how many statements it applied, validates again and reports that result (exit-0 run)', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    const v = repairingValidator(f.fake);
    const run = await f.engine.runPhase('validate', { repair: true });
    expect(run.ok).toBe(true);
    expect(v.calls.map((c) => c.repair === true)).toEqual([true, false]);
    expect(run.verify?.summary).toMatch(/^after 2 repair statement\(s\): equal/);
    expect((run.apply?.result as { equal: boolean; repaired: number })).toMatchObject({ equal: true, repaired: 2 });
    expect(f.out.lines.some((l) => l.level === 'ok' && l.message.includes('repair: 2 statement(s) applied'))).toBe(true);
    expect(verifiedPhases(await f.journal.readAll()).has('validate')).toBe(true);
  });

  test('fails once writes have switched to green: PRECONDITION_FAILED with the fix, nothing run or journaled; allowed again after a rollback', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    await f.engine.runAll();
    const v = repairingValidator(f.fake);
    const bytes = journalBytes(f.env.stateDir);
    const err = await rejection(f.engine.runPhase('validate', { repair: true }));
    expect(err.code).toBe('PRECONDITION_FAILED');
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain('writes have switched to green');
    expect(err.details.fix).toContain('npx cutover validate --env lab');
    expect(err.details.fix).toContain('npx cutover rollback --env lab');
    expect(v.calls).toHaveLength(0);
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    // the dry-run says so too, and changes nothing
    const dry = await f.another({ dryRun: true }).runPhase('validate', { repair: true });
    expect(dry.wouldRefuse?.code).toBe('PRECONDITION_FAILED');
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    // read-only validate is still fine after the switch
    expect((await f.engine.runPhase('validate')).ok).toBe(false);
    await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    expect((await f.engine.runPhase('validate', { repair: true })).ok).toBe(true);
  });
});

describe('validate --table (partial)', () => {
  test('a one-table validation is journaled and shown as partial and does not open the shift gate', async () => {
    const f = engineFixture(env(), { flags: { yes: true }, fake: { validationEqual: false } });
    for (const name of ['assess', 'snapshot', 'replicate'] as const) await f.engine.runPhase(name);
    expect((await f.engine.runPhase('validate')).ok).toBe(false);
    f.fake.options.validationEqual = true;
    const partial = await f.engine.runPhase('validate', { tables: ['public.t'] });
    expect(partial.ok).toBe(true); // the table checked is equal (exit 0)
    expect(partial.verify?.summary).toContain('partial check of public.t (does not open the shift gate)');
    const records = await f.journal.readAll();
    expect(records.filter((r) => r.phase === 'validate' && (r.action === 'verify' || r.action === 'run') && r.status === 'ok').every((r) => r.figures?.partial === true)).toBe(true);
    expect(verifiedPhases(records).has('validate')).toBe(false);
    expect((await rejection(f.engine.runPhase('shift'))).code).toBe('PHASE_OUT_OF_ORDER');
    const s = await f.engine.status();
    expect(s.phases.find((p) => p.name === 'validate')?.state).toBe('failed');
    expect(s.validation).toMatchObject({ equal: false });
    expect(s.partialValidation).toMatchObject({ equal: true });
    expect(formatStatus(s)).toContain('later partial check (does not open the gate): equal');
    // a full validation opens it
    expect((await f.engine.runPhase('validate')).ok).toBe(true);
    expect((await f.engine.runPhase('shift')).ok).toBe(true);
  });
});
