import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { shiftPauseFile, shiftRunningFile } from '../../lib/traffic/shift-phase.ts';
import { runCli, tempConfig } from '../cli/run-cli.ts';

/** `cutover shift --pause/--resume` through the CLI: they talk to a running shift, never start one. */
const cfg = tempConfig();
const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
afterAll(() => {
  live.kill('SIGKILL');
  cfg.dispose();
});
const stateDir = path.join(cfg.dir, '.cutover', 'lab');
const g = ['--config', cfg.file, '--env', 'lab', '--yes'];

describe('cutover shift --pause / --resume', () => {
  test('fails if no shift is running: exit 2, says so, nothing written (no pause file, no journal)', async () => {
    const r = await runCli(['shift', '--pause', ...g]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('no shift is running: there is nothing to pause (nothing was changed)');
    expect(r.stderr).toContain('cutover shift --to N');
    expect(existsSync(shiftPauseFile(stateDir))).toBe(false);
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
    expect((await runCli(['shift', '--resume', ...g])).code).toBe(2);
  });

  test('pauses and resumes a shift running in another process, although that process holds the lock', async () => {
    mkdirSync(stateDir, { recursive: true });
    const holder = { operator: 'carol', host: os.hostname(), pid: live.pid!, command: 'cutover shift', since: '2025-03-04T05:06:07.000Z' };
    writeFileSync(path.join(stateDir, 'lock.json'), JSON.stringify(holder));
    writeFileSync(shiftRunningFile(stateDir), JSON.stringify({ pid: live.pid, host: os.hostname(), since: holder.since }));
    const dry = await runCli(['shift', '--pause', '--dry-run', ...g]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(existsSync(shiftPauseFile(stateDir))).toBe(false);
    const p = await runCli(['shift', '--pause', ...g]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain(`paused the shift of pid ${live.pid}`);
    expect(existsSync(shiftPauseFile(stateDir))).toBe(true);
    const r = await runCli(['shift', '--resume', ...g]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`resumed the shift of pid ${live.pid}`);
    expect(existsSync(shiftPauseFile(stateDir))).toBe(false);
  });
});
