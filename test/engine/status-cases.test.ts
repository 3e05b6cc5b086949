import { afterEach, describe, expect, test } from 'vitest';
import { formatStatus } from '../../lib/cli/status-view.ts';
import { CutoverError } from '../../lib/errors.ts';
import { engineFixture, tempEnvironment } from './engine-fixture.ts';

/** `status` cases of findings 6/11/12 that need no second process (those are in rollback-preempt.test.ts). */
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});
function env() {
  const t = tempEnvironment();
  disposers.push(t.dispose);
  return t.env;
}

describe('status', () => {
  test('after a rollback and a re-switch, the phase line is the switch, not the rolled-back finalize', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    await f.engine.runAll();
    await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    await f.engine.runPhase('shift');
    await f.engine.runPhase('switch');
    const s = await f.engine.status();
    expect(s.phases.find((p) => p.name === 'finalize')?.state).toBe('rolled-back');
    expect(s.phase).toMatchObject({ current: 'switch', state: 'verified' });
    expect(s.next.command).toBe('npx cutover bake --env lab');
  });

  test('a dead forward worker: next is replicate start (not replicate wait), and its lag is unknown, not 0 ms', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    for (const name of ['assess', 'snapshot'] as const) await f.engine.runPhase(name);
    await f.engine.runPhase('replicate', {}, { verify: false });
    Object.assign(f.fake.state.forward, { phase: 'failed', lagMs: 0 });
    const s = await f.engine.status();
    expect(s.next.command).toBe('npx cutover replicate start --env lab');
    expect(s.next.why).toContain('not running');
    expect(s.replication.forward).toMatchObject({ phase: 'failed', lagMs: null, lagBytes: null, appliedRowsPerSec: 0 });
    expect(formatStatus(s)).toContain('replication failed, lag unknown, 0 rows/s');
  });

  test('a failed validation seconds old is not "(stale)"; an old one is', async () => {
    const f = engineFixture(env(), { flags: { yes: true }, fake: { validationEqual: false } });
    await f.engine.runPhase('validate');
    const s = await f.engine.status();
    expect(s.validation).toMatchObject({ equal: false, fresh: true });
    expect(formatStatus(s)).not.toContain('(stale)');
    const old = await f.another({ yes: true }).status();
    const later = { ...old, validation: { ...old.validation!, ageSeconds: 999_999, fresh: false } };
    expect(formatStatus(later)).toContain('(stale)');
  });

  test('a refused run (bad input, no connection) does not mark a healthy phase failed', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    for (const name of ['assess', 'snapshot'] as const) await f.engine.runPhase(name);
    await f.engine.runPhase('replicate');
    expect((await f.engine.status()).phases.find((p) => p.name === 'replicate')?.state).toBe('verified');
    f.fake.forward.start = async () => {
      throw new CutoverError('USAGE', 'unknown wave "nosuch"');
    };
    await expect(f.engine.runPhase('replicate', { wave: 'nosuch' })).rejects.toThrow('unknown wave');
    f.fake.validator.validate = async () => {
      throw new CutoverError('CONNECTION_FAILED', 'cannot connect to the source database');
    };
    await expect(f.engine.runPhase('validate')).rejects.toThrow('cannot connect');
    const s = await f.engine.status();
    expect(s.phases.find((p) => p.name === 'replicate')?.state).toBe('verified');
    expect(s.phases.find((p) => p.name === 'validate')?.state).toBe('not-run');
    expect(s.next.command).toBe('npx cutover validate --env lab');
    expect(s.next.why).not.toContain('failed');
    const records = await f.journal.readAll();
    expect(records.filter((r) => r.action === 'run' && r.inputs?.refused).map((r) => `${r.phase} ${r.inputs?.refused}`)).toEqual(['replicate USAGE', 'validate CONNECTION_FAILED']);
  });

  test('fix and next lines carry --config when the command was given one', async () => {
    const t = tempEnvironment();
    disposers.push(t.dispose);
    const f = engineFixture(t.env, { flags: { yes: true }, configFile: '../night config.json' });
    const err = await f.engine.runPhase('snapshot').then(() => null, (e: unknown) => e as CutoverError);
    expect(err?.details.fix).toContain("npx cutover assess --config '../night config.json' --env lab");
    expect((await f.engine.status()).next.command).toBe("npx cutover assess --config '../night config.json' --env lab");
  });
});
