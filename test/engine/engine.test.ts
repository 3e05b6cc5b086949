import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { verifiedPhases } from '../../lib/engine/journal-history.ts';
import { PHASE_ORDER } from '../../lib/engine/phase.ts';
import { scriptedPrompter } from '../../lib/engine/prompter.ts';
import { CutoverError } from '../../lib/errors.ts';
import { engineFixture, fakeRegistry, tempEnvironment } from './engine-fixture.ts';
import type { Phase } from '../../lib/engine/phase.ts';
import { evaluateGates } from '../../lib/traffic/gates.ts';
import { validationAgeSeconds } from '../../lib/traffic/traffic-inputs.ts';

const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});
const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
afterAll(() => void live.kill('SIGKILL'));

function env(options: { protected?: boolean; name?: string } = {}) {
  const t = tempEnvironment(options);
  disposers.push(t.dispose);
  return t.env;
}

async function rejection(p: Promise<unknown>): Promise<CutoverError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CutoverError);
  return err as CutoverError;
}

function journalBytes(stateDir: string): string | null {
  const f = path.join(stateDir, 'journal.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8') : null;
}

describe('Engine', () => {
  test('fails if a phase runs before its prerequisite: PHASE_OUT_OF_ORDER names the phase and its command', async () => {
    const f = engineFixture(env());
    const err = await rejection(f.engine.runPhase('snapshot'));
    expect(err.code).toBe('PHASE_OUT_OF_ORDER');
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain('assess');
    expect(err.details.fix).toContain('npx cutover assess --env lab');
    expect(f.fake.calls).not.toContain('snapshotter.snapshot');
    expect(journalBytes(f.env.stateDir)).toBeNull();
  });

  test('runAll walks every phase in order and journals each with who, where and what', async () => {
    const f = engineFixture(env(), { flags: { yes: true }, command: 'cutover run' });
    const result = await f.engine.runAll();
    expect(result.ok).toBe(true);
    const records = await f.journal.readAll();
    expect([...verifiedPhases(records).keys()]).toEqual([...PHASE_ORDER]);
    for (const r of records) {
      expect(r).toMatchObject({ env: 'lab', host: os.hostname(), pid: process.pid });
      expect(typeof r.time).toBe('string');
      expect(typeof r.operator).toBe('string');
      expect(r.operator.length).toBeGreaterThan(0);
    }
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    const snapApply = records.find((r) => r.phase === 'snapshot' && r.action === 'apply' && r.status === 'ok')!;
    expect(snapApply.figures).toMatchObject({ id: 'snap-1', tables: 1, rows: 10 });
    const flip = records.find((r) => r.phase === 'switch' && r.action === 'switch.flip' && r.status === 'ok');
    expect(flip).toBeDefined();
    expect(f.fake.state.router.writeTarget).toBe('green');
    expect(existsSync(path.join(f.env.stateDir, 'lock.json'))).toBe(false);
    // a second walk skips everything
    const again = await f.another({ yes: true }, undefined, 'cutover run').runAll();
    expect(again.runs).toHaveLength(0);
  });

  test('a failing gate stops the walk with ok false and journals the verify as failed', async () => {
    const f = engineFixture(env(), { flags: { yes: true }, fake: { validationEqual: false } });
    const result = await f.engine.runAll();
    expect(result).toMatchObject({ ok: false, stoppedAt: 'validate' });
    const records = await f.journal.readAll();
    expect(records.find((r) => r.phase === 'validate' && r.action === 'verify' && r.status === 'failed')?.figures).toMatchObject({ equal: false, missing: 1 });
    expect(f.fake.calls.some((c) => c.startsWith('router.setReadWeight'))).toBe(false);
    const status = await f.engine.status();
    expect(status.validation).toMatchObject({ equal: false });
    expect(status.next.command).toBe('npx cutover validate --env lab');
  });

  test('--dry-run changes nothing: same journal bytes, same platform state, no lock', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    await f.engine.runPhase('assess');
    await f.engine.runPhase('snapshot');
    const bytes = journalBytes(f.env.stateDir);
    const state = f.fake.snapshotState();
    const dry = f.another({ dryRun: true });
    const run = await dry.runPhase('replicate');
    expect(run.dryRun).toBe(true);
    expect(run.plan.map((s) => s.action)).toEqual(['forward.start', 'forward.status']);
    await dry.runAll();
    await dry.rollback();
    await dry.runAction({ phase: 'replicate', action: 'stop', mutates: true, plan: [{ action: 'forward.stop', target: 'x' }] }, async (ctx) => ctx.platform.forward.stop());
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    expect(f.fake.snapshotState()).toBe(state);
    expect(existsSync(path.join(f.env.stateDir, 'lock.json'))).toBe(false);
    expect(f.out.lines.filter((l) => l.level === 'step').length).toBeGreaterThan(5);
  });

  test('fails if a protected environment has no terminal to confirm and no --yes: ABORTED, nothing changed', async () => {
    const f = engineFixture(env({ name: 'prod' }));
    await f.another({ yes: true }).runPhase('assess');
    const bytes = journalBytes(f.env.stateDir);
    const err = await rejection(f.engine.runPhase('snapshot'));
    expect(err.code).toBe('ABORTED');
    expect(err.exitCode).toBe(1);
    expect(journalBytes(f.env.stateDir)).toBe(bytes);
    expect(f.fake.state.snapshots).toHaveLength(0);
  });

  test('a protected environment runs when its name is typed, and aborts on a wrong answer', async () => {
    const f = engineFixture(env({ protected: true }));
    await f.engine.runPhase('assess'); // read-only: no confirmation
    expect((await rejection(f.another({}, scriptedPrompter(['prod'])).runPhase('snapshot'))).code).toBe('ABORTED');
    const p = scriptedPrompter(['lab']);
    expect((await f.another({}, p).runPhase('snapshot')).ok).toBe(true);
    expect(p.asked[0]).toContain('"lab"');
  });

  test('the write switch asks for "go" even in an unprotected environment', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    for (const name of ['assess', 'snapshot', 'replicate', 'validate', 'shift'] as const) expect((await f.engine.runPhase(name)).ok).toBe(true);
    expect((await rejection(f.another({}).runPhase('switch'))).code).toBe('ABORTED');
    expect(f.fake.state.router.writeTarget).toBe('blue');
    const run = await f.another({}, scriptedPrompter(['go'])).runPhase('switch');
    expect(run.ok).toBe(true);
    expect(f.fake.state.router.writeTarget).toBe('green');
  });

  test('fails if a live process holds the lock: LOCKED names the holder and since', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    mkdirSync(f.env.stateDir, { recursive: true });
    await f.engine.runPhase('assess');
    writeFileSync(path.join(f.env.stateDir, 'lock.json'), JSON.stringify({ operator: 'bob', host: os.hostname(), pid: live.pid, command: 'cutover shift', since: '2025-02-03T04:05:06.000Z' }));
    const err = await rejection(f.engine.runPhase('snapshot'));
    expect(err.code).toBe('LOCKED');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('bob@');
    expect(err.message).toContain('since 2025-02-03T04:05:06.000Z');
    // rollback alone may pre-empt a live holder: test/engine/rollback-preempt.test.ts
  });

  test('rollback takes over a stale lock (holder provably dead) and journals the takeover', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    await f.engine.runAll();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(path.join(f.env.stateDir, 'lock.json'), JSON.stringify({ operator: 'bob', host: os.hostname(), pid: dead, command: 'cutover finalize', since: '2025-02-03T04:05:06.000Z' }));
    expect((await rejection(f.another({ yes: true }, undefined, 'cutover shift').runPhase('shift'))).code).toBe('LOCKED');
    const run = await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    expect(run.ok).toBe(true);
    expect(f.fake.state.router).toMatchObject({ readWeightGreen: 0, writeTarget: 'blue' });
    const records = await f.journal.readAll();
    expect(records.some((r) => r.phase === 'engine' && r.action === 'lock.takeover')).toBe(true);
    expect(f.out.lines.some((l) => l.level === 'warn' && l.message.includes('took over the lock'))).toBe(true);
    expect(verifiedPhases(records).has('shift')).toBe(false);
    const status = await f.engine.status();
    expect(status.phases.find((p) => p.name === 'shift')?.state).toBe('rolled-back');
    expect(status.next.command).toBe('npx cutover shift --env lab');
  });

  test('status shows phase, traffic, replication, validation age, lock and next command', async () => {
    const f = engineFixture(env(), { flags: { yes: true } });
    for (const name of ['assess', 'snapshot'] as const) await f.engine.runPhase(name);
    await f.engine.runPhase('replicate', {}, { verify: false });
    let s = await f.engine.status();
    expect(s.phase).toMatchObject({ current: 'replicate', state: 'applied' });
    expect(s.next.command).toBe('npx cutover replicate wait --max-lag-ms 100 --env lab');
    expect(s.replication.forward).toMatchObject({ phase: 'cdc', lagMs: 5 });
    expect((await f.engine.verifyPhase('replicate', { timeoutMs: 1000 })).ok).toBe(true);
    await f.engine.runPhase('validate');
    s = await f.engine.status();
    expect(s.traffic).toEqual({ readWeightGreen: 0, writeTarget: 'blue', writesHeld: false });
    expect(s.validation).toMatchObject({ equal: true, fresh: true });
    expect(s.validation!.ageSeconds).toBeLessThan(5);
    expect(s.lock).toBeNull();
    // after validate comes the shadow comparison, then the shift
    expect(s.next.command).toBe('npx cutover shadow --env lab');
  });

  test('fails if the last passing validation grows older than gates.maxValidationAgeSeconds during a shift: the engine hands the traffic gates its time from the journal', async () => {
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset), sleep: async (ms: number) => void (offset += ms) };
    const ages: (number | undefined)[] = [];
    // a shift whose bake outlives the validation: the gates re-read the age each window, as
    // lib/traffic/gate-watch.ts does with validationAgeSeconds(ctx)
    const registry = fakeRegistry();
    const shift: Phase = {
      ...registry.shift!,
      async apply(ctx) {
        ages.push(validationAgeSeconds(ctx));
        await ctx.clock.sleep(ctx.env.gates.maxValidationAgeSeconds * 1000);
        const age = validationAgeSeconds(ctx);
        ages.push(age);
        const v = evaluateGates({ lagMs: 0, validationAgeSeconds: age, gates: ctx.env.gates });
        return { ok: v.ok, summary: v.ok ? 'gates green' : v.reasons.join('; ') };
      },
    };
    const f = engineFixture(env(), { flags: { yes: true }, phases: { ...registry, shift }, clock });
    for (const name of ['assess', 'snapshot', 'replicate', 'validate'] as const) expect((await f.engine.runPhase(name)).ok).toBe(true);
    offset += 60_000;
    const run = await f.engine.runPhase('shift');
    expect(ages[0]).toBeGreaterThanOrEqual(60);
    expect(ages[0]).toBeLessThan(120);
    expect(run.ok).toBe(false);
    expect(run.apply?.summary).toMatch(/last passing validation is \d+ s old, above the limit 3600 s/);
  });

  test('the replicate gate says no when lag stays above the limit, after its timeout', async () => {
    const f = engineFixture(env(), { flags: { yes: true }, fake: { lagMs: 5000 } });
    for (const name of ['assess', 'snapshot'] as const) await f.engine.runPhase(name);
    const run = await f.engine.runPhase('replicate', { timeoutMs: 3000 });
    expect(run.ok).toBe(false);
    expect(run.verify?.summary).toContain('not caught up');
  });

  test('assess sizes what the mapping copies: selected tables and their rows, not every table read', async () => {
    const assessTables = [
      { name: 'legacy.orders', rows: 1000, bytes: 8192, primaryKey: ['id'], selected: true },
      { name: 'legacy.audit_log', rows: 5_000_000, bytes: 1 << 30, primaryKey: ['id'], selected: false },
    ];
    const f = engineFixture(env(), { flags: { yes: true }, fake: { assessTables } });
    const run = await f.engine.runPhase('assess');
    expect(run.verify?.summary).toMatch(/^1 selected table\(s\) of 2 read, about 1000 row\(s\) \(statistics\)/);
    expect(run.verify?.figures).toMatchObject({ tables: 1, rows: 1000 });
  });

  test('a wait stopped by the operator (Ctrl-C) says so, not that the timeout passed', async () => {
    const stop = new AbortController();
    const f = engineFixture(env(), { flags: { yes: true }, fake: { lagMs: 5000 }, signal: stop.signal });
    for (const name of ['assess', 'snapshot'] as const) await f.engine.runPhase(name);
    await f.engine.runPhase('replicate', {}, { verify: false });
    stop.abort();
    const wait = await f.engine.verifyPhase('replicate', { timeoutMs: 120_000 });
    expect(wait.ok).toBe(false);
    expect(wait.verify?.summary).toMatch(/^stopped by the operator after \d+ ms, before catching up: phase cdc, lag 5000 ms \(limit 100 ms\)/);
    expect(wait.verify?.summary).not.toContain('not caught up after 120000 ms');
  });
});
