import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { FileJournalStore } from '../../lib/engine/file-journal-store.ts';
import { formatStatus } from '../../lib/cli/status-view.ts';
import { processStartMark } from '../../lib/platform/process-liveness.ts';
import { fixtureNodeArgs } from '../_helpers/fixture-process.ts';
import { engineFixture, rejection, tempEnvironment } from './engine-fixture.ts';

/**
 * Rollback is always one command (finding 9) and `status` tells a live holder from a dead one,
 * a stopped run from a failed one, and an interrupted rollback from everything else (findings
 * 6/11) — with real processes holding the lock (fixtures/lock-holder-run.ts).
 */
const fixture = fileURLToPath(new URL('./fixtures/lock-holder-run.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function env() {
  const t = tempEnvironment();
  cleanups.push(t.dispose);
  return t;
}

function track(child: ChildProcess) {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exited, output: () => output };
}

/** Starts the fixture and waits until it holds the lock and has journaled its first step. */
async function holder(t: { dir: string }, mode: 'shift' | 'rollback') {
  const h = track(spawn(process.execPath, [...(await fixtureNodeArgs(fixture)), path.join(t.dir, 'cutover.config.json'), mode], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
  // the child starts slowly on a busy 2-core machine (a tsx child took 20 s and more)
  const deadline = Date.now() + 90_000;
  while (!h.output().includes('holding')) {
    if (Date.now() > deadline || h.child.exitCode !== null) throw new Error(`the holder never got going:\n${h.output()}`);
    await delay(50);
  }
  return h;
}

/** A live process on this host that ignores SIGINT (a holder stuck outside any safe point). */
async function stubborn(): Promise<ReturnType<typeof track>> {
  const h = track(spawn(process.execPath, ['-e', "process.on('SIGINT', () => {}); console.log('ready'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'pipe'] }));
  while (!h.output().includes('ready')) await delay(20);
  return h;
}

/** `start`: the holder's start mark (locks of older kits have none: the pid alone then). */
function writeLock(stateDir: string, pid: number | undefined, command: string, start?: string): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(path.join(stateDir, 'lock.json'), JSON.stringify({ operator: 'bob', host: os.hostname(), pid, ...(start ? { start } : {}), command, since: '2025-02-03T04:05:06.000Z' }));
}

describe('rollback pre-empts a live holder on this host', () => {
  test('while a shift runs, status says running (not interrupted); rollback stops it at a safe point and rolls back', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true } });
    const shift = await holder(t, 'shift');

    const during = await f.engine.status();
    expect(during.lock).toMatchObject({ pid: shift.child.pid, alive: true });
    expect(during.phases.find((p) => p.name === 'shift')?.state).toBe('running');
    expect(during.phase).toMatchObject({ current: 'shift', state: 'running' });
    expect(during.next.command).toBeNull();
    expect(during.next.why).toContain('npx cutover rollback --env lab');

    const run = await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    expect(run.ok).toBe(true);
    expect((await shift.exited).code).toBe(130); // it stopped on SIGINT, it was not killed
    expect(f.out.lines.some((l) => l.level === 'warn' && l.message.includes(`rollback stops`) && l.message.includes(`pid ${shift.child.pid}`))).toBe(true);

    const records = await f.journal.readAll();
    expect(records.some((r) => r.phase === 'engine' && r.action === 'lock.preempt' && (r.inputs?.holder as { pid: number }).pid === shift.child.pid)).toBe(true);
    const shiftEnd = records.find((r) => r.phase === 'shift' && r.action === 'run' && r.status === 'failed');
    expect(shiftEnd?.result).toMatchObject({ stopped: true });
    expect(records.at(-1)).toMatchObject({ phase: 'rollback', action: 'run', status: 'ok', pid: process.pid });
    expect(existsSync(path.join(t.env.stateDir, 'lock.json'))).toBe(false);
    expect((await f.engine.status()).phases.find((p) => p.name === 'shift')?.state).toBe('rolled-back');
  });

  test('fails if the holder does not let go: LOCKED names the pid and says Ctrl-C in that terminal or kill it', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true }, preemptTimeoutMs: 600 });
    const h = await stubborn();
    writeLock(t.env.stateDir, h.child.pid, 'cutover shift');
    const err = await rejection(f.another({ yes: true }, undefined, 'cutover rollback').rollback());
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain(`pid ${h.child.pid}`);
    expect(err.message).toContain('did not stop');
    expect(err.details.fix).toContain(`Ctrl-C in the terminal running "cutover shift" (pid ${h.child.pid})`);
    expect(err.details.fix).toContain(`kill ${h.child.pid}`);
    expect(err.details.fix).toContain('npx cutover rollback --env lab');
    expect(h.child.exitCode).toBeNull();
  });

  test('another rollback is never pre-empted', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true }, preemptTimeoutMs: 600 });
    const h = track(spawn(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'pipe'] }));
    while (!h.output().includes('ready')) await delay(20);
    writeLock(t.env.stateDir, h.child.pid, 'cutover rollback');
    expect((await rejection(f.another({ yes: true }, undefined, 'cutover rollback').rollback())).code).toBe('LOCKED');
    await delay(100);
    expect(h.child.exitCode).toBeNull(); // not signalled
  });

  test('a lock whose pid now belongs to another process (started later) is stale: rollback does not signal that process', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true }, preemptTimeoutMs: 600 });
    // SIGINT would end this process: it stands for a database server that got a dead holder's pid
    const h = track(spawn(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'pipe'] }));
    while (!h.output().includes('ready')) await delay(20);
    const start = processStartMark(h.child.pid!);
    expect(start).not.toBeNull();
    writeLock(t.env.stateDir, h.child.pid, 'cutover shift', String(Number(start) - 1));
    expect((await f.engine.status()).lock).toMatchObject({ pid: h.child.pid, alive: false });
    const run = await f.another({ yes: true }, undefined, 'cutover rollback').rollback();
    expect(run.ok).toBe(true);
    expect(f.out.lines.some((l) => l.message.includes('sending it SIGINT'))).toBe(false);
    await delay(100);
    expect(h.child.exitCode).toBeNull(); // not signalled
    expect(h.child.signalCode).toBeNull();
    // the same lock with the process's own start mark is a live holder: pre-empted
    writeLock(t.env.stateDir, h.child.pid, 'cutover shift', start!);
    expect((await f.engine.status()).lock).toMatchObject({ pid: h.child.pid, alive: true });
  });

  test('unlock --force frees the lock of a live holder, with a warning that it is still running', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true } });
    const h = await stubborn();
    writeLock(t.env.stateDir, h.child.pid, 'cutover shift');
    const removed = await f.engine.unlock(true);
    expect(removed?.pid).toBe(h.child.pid);
    expect(existsSync(path.join(t.env.stateDir, 'lock.json'))).toBe(false);
    expect(f.out.lines.some((l) => l.level === 'warn' && l.message.includes('STILL RUNNING') && l.message.includes(`kill ${h.child.pid}`))).toBe(true);
    expect((await f.journal.readAll()).some((r) => r.action === 'lock.force-unlock')).toBe(true);
  });
});

describe('status after a stopped or killed command', () => {
  test('Ctrl-C of a shift: stopped, and next says re-run it (not "failed: fix the cause")', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true } });
    for (const name of ['assess', 'snapshot', 'replicate', 'validate', 'shadow'] as const) await f.engine.runPhase(name);
    const shift = await holder(t, 'shift');
    shift.child.kill('SIGINT');
    expect((await shift.exited).code).toBe(130);
    const s = await f.engine.status();
    expect(s.phases.find((p) => p.name === 'shift')?.state).toBe('stopped');
    expect(s.phase).toMatchObject({ current: 'shift', state: 'stopped' });
    expect(s.next.command).toBe('npx cutover shift --env lab');
    expect(s.next.why).toContain('stopped before it finished');
    expect(s.next.why).not.toContain('fix the cause');
  });

  test('a rollback killed -9: status says rollback interrupted and next is rollback', async () => {
    const t = env();
    const f = engineFixture(t.env, { flags: { yes: true } });
    await f.engine.runAll();
    const rb = await holder(t, 'rollback');
    rb.child.kill('SIGKILL');
    await rb.exited;
    const s = await f.engine.status();
    expect(s.lock).toMatchObject({ pid: rb.child.pid, alive: false });
    expect(s.phase).toMatchObject({ current: 'rollback', state: 'interrupted' });
    expect(s.next.command).toBe('npx cutover rollback --env lab');
    expect(s.next.why).toContain('writes may be failing');
    expect(formatStatus(s)).toContain('phase       rollback: interrupted');
    // re-running it resumes and finishes; then status moves on
    expect((await f.another({ yes: true }, undefined, 'cutover rollback').rollback()).resumed).toBe(true);
    expect((await f.engine.status()).next.command).toBe('npx cutover shift --env lab');
    expect((await FileJournalStore.inStateDir(t.env.stateDir).readAll()).some((r) => r.action === 'lock.takeover')).toBe(true);
  });
});
