import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { FileJournalStore } from '../../lib/engine/file-journal-store.ts';
import type { JournalRecord } from '../../lib/engine/journal-store.ts';
import { fixtureNodeArgs } from '../_helpers/fixture-process.ts';
import { tempEnvironment } from './engine-fixture.ts';

const fixture = fileURLToPath(new URL('./fixtures/interruptible-run.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixtureArgs = await fixtureNodeArgs(fixture);
const t = tempEnvironment();
afterAll(() => t.dispose());

function runFixture(sleepMs: number) {
  const child = spawn(process.execPath, [...fixtureArgs, path.join(t.dir, 'cutover.config.json'), String(sleepMs)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => output };
}

async function records(): Promise<JournalRecord[]> {
  return FileJournalStore.inStateDir(t.env.stateDir).readAll();
}

describe('resume after kill -9', () => {
  test('a phase killed between two journaled steps finishes on re-run without redoing the first', async () => {
    const first = runFixture(60_000);
    // a tsx child compiles its import graph first: 20 s and more on a busy 2-core machine
    const deadline = Date.now() + 90_000;
    while (!(await records()).some((r) => r.action === 'first' && r.status === 'ok')) {
      if (Date.now() > deadline) throw new Error(`the child never journaled step first:\n${first.output()}`);
      await delay(50);
    }
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const killedPid = first.child.pid!;
    expect(JSON.parse(readFileSync(path.join(t.env.stateDir, 'lock.json'), 'utf8')).pid).toBe(killedPid);

    const second = runFixture(10);
    const { code } = await second.exited;
    expect(code, second.output()).toBe(0);
    expect(second.output()).toContain('resuming the run started at');
    expect(second.output()).toContain('first already done: skipped');

    const assess = (await records()).filter((r) => r.phase === 'assess' || r.phase === 'engine');
    const story = assess.map((r) => `${r.pid === killedPid ? 'A' : 'B'} ${r.phase} ${r.action} ${r.status}`);
    expect(story).toEqual([
      'A assess run started',
      'A assess plan info',
      'A assess apply started',
      'A assess first started',
      'A assess first ok',
      // killed here
      'B engine lock.takeover info',
      'B assess resume info',
      'B assess plan info',
      'B assess apply started',
      'B assess second started',
      'B assess second ok',
      'B assess apply ok',
      'B assess verify started',
      'B assess verify ok',
      'B assess run ok',
    ]);
    expect(existsSync(path.join(t.env.stateDir, 'lock.json'))).toBe(false);
  });
});
