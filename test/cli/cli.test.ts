import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { buildProgram, commandPaths } from '../../lib/cli/program.ts';
import { runCli, tempConfig } from './run-cli.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cfg = tempConfig();
const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
const disposeLater: (() => void)[] = [];
afterAll(() => {
  live.kill('SIGKILL');
  cfg.dispose();
  for (const d of disposeLater) d();
});
const stateDir = (env: string) => path.join(cfg.dir, '.cutover', env);
const g = (env = 'lab') => ['--config', cfg.file, '--env', env];

describe('cutover CLI', () => {
  test('--help exits 0 for the program and every command', async () => {
    const program = buildProgram({ io: { stdout: new PassThrough(), stderr: new PassThrough(), stdin: process.stdin, env: {}, cwd: '.' }, signal: new AbortController().signal, exitCode: 0, json: false });
    const paths = [[], ...commandPaths(program)];
    expect(paths.length).toBeGreaterThan(18);
    for (const p of paths) {
      const r = await runCli([...p, '--help']);
      expect(r.code, `cutover ${p.join(' ')} --help`).toBe(0);
      expect(r.stdout).toContain(`Usage: cutover${p.length ? ' ' + p.join(' ') : ''}`);
    }
  });

  test('fails if the environment is unknown: ENV_UNKNOWN, exit 2, the known ones listed', async () => {
    const r = await runCli(['status', ...g('nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ENV_UNKNOWN');
    expect(r.stderr).toContain('allowed:  lab, prod');
  });

  test('fails if the config is invalid: CONFIG_INVALID, exit 2, every field path named', async () => {
    const bad = tempConfig({ broken: { platform: 'postgres', source: { url: 'mysql://x' }, target: { url: 'postgres://h/b' }, mappings: { forward: 'f' , reverse: 'r' }, gates: { maxLagMs: -1 } } });
    try {
      const r = await runCli(['status', '--config', bad.file, '--env', 'lab']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain('environments.broken.source.url');
      expect(r.stderr).toContain('environments.broken.gates.maxLagMs');
    } finally {
      bad.dispose();
    }
  });

  test('fails if a phase runs out of order: PHASE_OUT_OF_ORDER, exit 1, names the phase and its command', async () => {
    const r = await runCli(['snapshot', ...g()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PHASE_OUT_OF_ORDER: snapshot needs assess');
    expect(r.stderr).toContain(`npx cutover assess --config ${cfg.file} --env lab`);
    // every copyable line keeps --config, or the operator is sent to the default config's databases
    expect(r.stderr).toContain(`npx cutover status --config ${cfg.file} --env lab`);
    expect(r.stderr).not.toMatch(/npx cutover \w+ --env/);
    expect(existsSync(stateDir('lab'))).toBe(false);
  });

  test('fails if another live process holds the lock: LOCKED, exit 2, holder and since named', async () => {
    mkdirSync(stateDir('lab'), { recursive: true });
    const lockFile = path.join(stateDir('lab'), 'lock.json');
    writeFileSync(lockFile, JSON.stringify({ operator: 'carol', host: os.hostname(), pid: live.pid, command: 'cutover shift', since: '2025-03-04T05:06:07.000Z' }));
    try {
      const r = await runCli(['replicate', 'stop', '--yes', ...g()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`LOCKED: the environment is locked by carol@${os.hostname()} pid ${live.pid}`);
      expect(r.stderr).toContain('since 2025-03-04T05:06:07.000Z');
      // rollback pre-empts such a holder instead (test/engine/rollback-preempt.test.ts), and the fix says so
      expect(r.stderr).toContain('in an emergency "cutover rollback" stops it and takes over');
      expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(live.pid);
    } finally {
      writeFileSync(lockFile, '');
      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      writeFileSync(lockFile, JSON.stringify({ operator: 'carol', host: os.hostname(), pid: dead, command: 'cutover shift', since: '2025-03-04T05:06:07.000Z' }));
      const u = await runCli(['unlock', '--force', ...g()]);
      expect(u.code, u.stderr).toBe(0);
      expect(existsSync(lockFile)).toBe(false);
    }
  });

  test('fails if a protected environment has no terminal and no --yes: ABORTED, exit 1, nothing written', async () => {
    const r = await runCli(['replicate', 'stop', ...g('prod')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ABORTED');
    expect(r.stderr).toContain('prod is protected');
    expect(existsSync(stateDir('prod'))).toBe(false);
  });

  test('fails if an option value is out of range: usage error, exit 2', async () => {
    const r = await runCli(['shift', '--to', '150', ...g()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('0 to 100');
    expect((await runCli(['replicate', 'nope', ...g()])).code).toBe(2);
    expect((await runCli(['rehearse', '--fault', 'meteor'])).code).toBe(2);
  });

  test('--json errors are one JSON object with the code', async () => {
    const r = await runCli(['status', '--json', ...g('nope')]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: 'ENV_UNKNOWN', allowed: 'lab, prod' });
  });

  test('status --json gives phase, traffic, replication, validation, lock and next', async () => {
    const r = await runCli(['status', '--json', ...g()]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['phase', 'traffic', 'replication', 'validation', 'lock', 'next', 'journal']));
    expect(s.next.command).toBe(`npx cutover assess --config ${cfg.file} --env lab`);
    expect(s.unavailable.traffic).toContain('no router configured');
  });

  test('replicate status --json prints the ReplicationStatus contract', async () => {
    const r = await runCli(['replicate', 'status', '--json', ...g()]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['phase', 'lagMs', 'lagBytes', 'appliedRowsPerSec', 'tables']));
    expect(s.direction).toBe('forward');
  });

  test('run --dry-run prints every plan and writes nothing; it fails when the real run would stop (no router: the shift)', async () => {
    const fresh = tempConfig();
    try {
      const r = await runCli(['run', '--dry-run', '--config', fresh.file, '--env', 'lab']);
      expect(r.stdout).toContain('step  assess: 1. inspector.checkConnectivity');
      expect(r.stdout).toContain('step  replicate: 1. forward.start');
      expect(r.stdout).toContain('step  finalize: 1.'); // the plans after it are still shown
      // before: exit 0 "6 phase(s) would run", while the real walk stopped at the shift (NOT_SUPPORTED)
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout + r.stderr).toMatch(/a real run would stop at shift: NOT_SUPPORTED: environment lab has no router configured/);
      expect(existsSync(path.join(fresh.dir, '.cutover', 'lab', 'journal.jsonl'))).toBe(false);
    } finally {
      fresh.dispose();
    }
  });

  test('a real `cutover snapshot --dry-run` process prints the plan and creates no journal', async () => {
    const fresh = tempConfig();
    disposeLater.push(fresh.dispose);
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/cutover.mjs'), 'snapshot', '--dry-run', '--config', fresh.file, '--env', 'lab'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    expect(r.stdout).toContain('step  snapshot: 1. snapshotter.snapshot -> source postgres://u@127.0.0.1:1/a');
    expect(r.stdout).toContain('nothing was changed');
    expect(r.stderr).toContain('a real run would be refused now');
    expect(r.status).toBe(1); // the dry-run also says the real run would be refused (assess first)
    expect(existsSync(path.join(fresh.dir, '.cutover', 'lab', 'journal.jsonl'))).toBe(false);
  });
});
