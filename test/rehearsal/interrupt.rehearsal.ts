import { spawn, execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function postgresProcessesUnder(dir: string): number {
  // the bracket keeps pgrep from matching the shell that runs it
  const pattern = `-[D] ${dir}`;
  return Number(execSync(`pgrep -f -c -- '${pattern}' || true`).toString().trim() || '0');
}

/** The demo business's process (apps, router, load generator): its command line names the rehearsal folder. */
function demoProcessesUnder(dir: string): number {
  return Number(execSync(`pgrep -f -c -- '[d]emo-business-main[^ ]* --rehearsal-dir ${dir}' || true`).toString().trim() || '0');
}

test('Ctrl-C during a rehearsal stops every server it started, and the demo business\'s process', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-int-'));
  try {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'cutover.mjs'), 'rehearse', '--orders', '300', '--rate', '50'], {
      cwd: ROOT,
      env: { ...process.env, CUTOVER_REHEARSAL_DIR: dir, CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (!/phase (assess|snapshot)/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toMatch(/phase (assess|snapshot)/);
    expect(postgresProcessesUnder(dir)).toBeGreaterThan(0);
    expect(demoProcessesUnder(dir)).toBe(1);
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code, output.slice(-3000)).toBe(130);
    expect(postgresProcessesUnder(dir)).toBe(0);
    expect(demoProcessesUnder(dir)).toBe(0);
    // one clear line, then silence: not the dying phases' errors as the servers go away
    const after = output.slice(output.indexOf('Ctrl-C: stopping the apps, the router and both servers'));
    expect(after).toMatch(/^Ctrl-C: stopping/);
    expect(after).not.toMatch(/error|ECONNREFUSED|re-run the command/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
