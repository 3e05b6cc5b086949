import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { FileLockStore } from '../../lib/engine/file-lock-store.ts';
import type { LockHolder } from '../../lib/engine/journal-store.ts';
import { CutoverError } from '../../lib/errors.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-lock-'));
const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
afterAll(() => {
  live.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (provably dead on this host). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
}

const holder = (pid: number, command = 'cutover shift'): LockHolder => ({ operator: 'alice', host: os.hostname(), pid, command, since: '2025-01-01T00:00:00.000Z' });

async function lockedError(p: Promise<unknown>): Promise<CutoverError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CutoverError);
  return err as CutoverError;
}

describe('FileLockStore', () => {
  test('fails if a live process holds the lock: LOCKED names holder and since', async () => {
    const file = path.join(dir, 'a', 'lock.json');
    await new FileLockStore(file).acquire(holder(live.pid!));
    const err = await lockedError(new FileLockStore(file).acquire(holder(process.pid, 'cutover switch'), { takeOverStale: true }));
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain(`pid ${live.pid}`);
    expect(err.message).toContain('since 2025-01-01T00:00:00.000Z');
  });

  test('fails if force is used against a live holder on this host', async () => {
    const file = path.join(dir, 'b', 'lock.json');
    await new FileLockStore(file).acquire(holder(live.pid!));
    expect((await lockedError(new FileLockStore(file).acquire(holder(process.pid), { force: true }))).code).toBe('LOCKED');
  });

  test('a provably dead holder is refused without takeOverStale and taken over with it', async () => {
    const file = path.join(dir, 'c', 'lock.json');
    const store = new FileLockStore(file);
    await store.acquire(holder(deadPid()));
    const err = await lockedError(new FileLockStore(file).acquire(holder(process.pid)));
    expect(err.details.fix).toContain('not running');
    const me = new FileLockStore(file);
    await me.acquire(holder(process.pid, 'cutover rollback'), { takeOverStale: true });
    expect((await me.current())?.command).toBe('cutover rollback');
    await me.release();
    expect(await me.current()).toBeNull();
  });

  test('release never removes a lock someone else holds', async () => {
    const file = path.join(dir, 'd', 'lock.json');
    const mine = new FileLockStore(file);
    await mine.acquire(holder(process.pid));
    writeFileSync(file, JSON.stringify(holder(live.pid!)));
    await mine.release();
    expect((await mine.current())?.pid).toBe(live.pid);
  });
});
