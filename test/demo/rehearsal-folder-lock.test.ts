import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { rehearse } from '../../lib/rehearsal/rehearse.ts';
import { lockRehearsalFolder } from '../../lib/rehearsal/rehearsal-folder-lock.ts';
import { thrownCutoverError } from '../_helpers/cutover-error.ts';

/** A live process standing in for a kept rehearsal. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

describe('one rehearsal per working folder', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const folder = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-lock-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test('a live holder is refused with its pid and the fix; a dead one is taken over; release removes the file', async () => {
    const dir = folder();
    const child = sleeper();
    children.push(child);
    writeFileSync(path.join(dir, 'rehearsal.pid'), `${child.pid}\n`);
    const err = thrownCutoverError(() => lockRehearsalFolder(dir));
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain(`pid ${child.pid}`);
    expect(err.details.fix).toMatch(/CUTOVER_REHEARSAL_DIR/);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const release = lockRehearsalFolder(dir);
    expect(readFileSync(path.join(dir, 'rehearsal.pid'), 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(existsSync(path.join(dir, 'rehearsal.pid'))).toBe(false);
  });

  test('rehearse refuses a folder a live rehearsal holds, and leaves its state and config alone', async () => {
    const dir = folder();
    const child = sleeper();
    children.push(child);
    writeFileSync(path.join(dir, 'rehearsal.pid'), `${child.pid}\n`);
    mkdirSync(path.join(dir, 'state'));
    writeFileSync(path.join(dir, 'state', 'journal.jsonl'), '{}\n');
    writeFileSync(path.join(dir, 'cutover.config.json'), '{"kept":true}');
    const out = new RecordingOutput();
    expect(await rehearse({ dir }, out)).toBe(2);
    expect(out.text()).toContain(`another rehearsal (pid ${child.pid})`);
    expect(readFileSync(path.join(dir, 'state', 'journal.jsonl'), 'utf8')).toBe('{}\n');
    expect(readFileSync(path.join(dir, 'cutover.config.json'), 'utf8')).toBe('{"kept":true}');
  });
});
