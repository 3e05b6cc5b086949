import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, tempConfig } from './run-cli.ts';

/**
 * The exit-code and `--json` contract of shared/CONTRACTS.md and runbooks/understanding-output.md
 * for bad input (findings 12, 15, 18): exit 2, the error on stderr (one JSON object with --json),
 * a `fix:`, and nothing changed.
 */
const cfg = tempConfig();
const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
afterAll(() => {
  live.kill('SIGKILL');
  cfg.dispose();
});
const g = (env = 'lab') => ['--config', cfg.file, '--env', env];
const journal = (env = 'lab') => path.join(cfg.dir, '.cutover', env, 'journal.jsonl');

describe('cutover CLI contract', () => {
  test('run --json --dry-run prints exactly one JSON document with every phase', async () => {
    const fresh = tempConfig();
    try {
      const r = await runCli(['run', '--json', '--dry-run', '--config', fresh.file, '--env', 'lab']);
      expect(r.code, r.stderr).toBe(2); // no router: a real run would stop at the shift (NOT_SUPPORTED)
      const doc = JSON.parse(r.stdout); // throws on more than one document
      expect(doc.dryRun).toBe(true);
      expect(doc.wouldStopAt).toBe('shift');
      expect(doc.phases.find((p: { phase: string }) => p.phase === 'shift').wouldRefuse).toMatchObject({ error: 'NOT_SUPPORTED' });
      expect(doc.phases.map((p: { phase: string }) => p.phase)).toEqual(expect.arrayContaining(['assess', 'snapshot', 'replicate', 'validate']));
    } finally {
      fresh.dispose();
    }
  });

  test('fails if the mapping file is missing: USAGE, exit 2, error on stderr (JSON with --json), nothing on stdout', async () => {
    const r = await runCli(['mappings', 'check', path.join(cfg.dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('USAGE: mapping file not found');
    expect(r.stderr).toContain('fix:');
    const j = await runCli(['mappings', 'check', '--json', path.join(cfg.dir, 'nope.json')]);
    expect(j.code).toBe(2);
    expect(j.stdout).toBe('');
    expect(JSON.parse(j.stderr)).toMatchObject({ error: 'USAGE', received: expect.stringContaining('nope.json'), fix: expect.any(String) });
  });

  test('a mapping file with problems is the check saying no: exit 1, each problem on stderr, the result on stdout', async () => {
    const bad = path.join(cfg.dir, 'bad-mapping.json');
    writeFileSync(bad, '{ "rules": 5 }');
    const r = await runCli(['mappings', 'check', '--json', bad]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'MAPPING_INVALID', problems: [expect.any(String)] });
    const plain = await runCli(['mappings', 'check', bad]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('error mappings:');
    expect(plain.stdout).toContain(`MAPPING_INVALID: 1 problem(s) in ${bad}`);
  });

  test('fails if restore is given an unknown backup id or a target that is not a URL: USAGE, exit 2, nothing journaled', async () => {
    const r = await runCli(['restore', '--yes', '--id', 'nope', '--target-url', 'postgres://u@127.0.0.1:3/empty', ...g()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE: no backup with id "nope"');
    expect(r.stderr).toContain('allowed:');
    const u = await runCli(['restore', '--yes', '--target-url', 'notaurl', ...g()]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('USAGE: --target-url is not a PostgreSQL URL');
    expect(existsSync(journal())).toBe(false);
  });

  test('commander usage errors carry a fix; with --json they are the documented JSON error on stderr', async () => {
    const r = await runCli(['foo', ...g()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'foo'");
    expect(r.stderr).toContain('fix:      see `npx cutover --help`');
    const j = await runCli(['status', '--json', '--bogus', ...g()]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stderr)).toEqual({ error: 'USAGE', message: "unknown option '--bogus'", fix: 'see `npx cutover status --help` for the commands and options it takes' });
  });

  test('--version prints the package version; a subcommand --help lists the global flags too', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version);
    const h = await runCli(['replicate', 'start', '--help']);
    expect(h.code).toBe(0);
    for (const flag of ['--wave', '--env <name>', '--config <path>', '--json', '--dry-run', '--yes']) expect(h.stdout).toContain(flag);
  });

  test('replicate stop with no worker running says so instead of claiming it stopped one', async () => {
    const fresh = tempConfig();
    try {
      const r = await runCli(['replicate', 'stop', '--yes', '--config', fresh.file, '--env', 'lab']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('forward replication was not running (not-started): nothing to stop');
    } finally {
      fresh.dispose();
    }
  });

  test('fails if --wave names no configured wave: USAGE, exit 2, and the journal is untouched', async () => {
    const r = await runCli(['replicate', 'start', '--yes', '--wave', 'nosuch', ...g()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE: unknown wave "nosuch"');
    expect(existsSync(journal())).toBe(false);
  });

  test('a connection error is journaled as refused, not as the phase failing', async () => {
    const r = await runCli(['assess', ...g()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONNECTION_FAILED');
    const lines = readFileSync(journal(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ phase: 'assess', action: 'run', status: 'info', inputs: { refused: 'CONNECTION_FAILED' } });
    const s = JSON.parse((await runCli(['status', '--json', ...g()])).stdout);
    expect(s.phases.find((p: { name: string }) => p.name === 'assess').state).toBe('not-run');
    expect(s.next.why).toBe('assess is next');
  });

  test('fails if validate --repair runs on a protected environment with no terminal: ABORTED, exit 1, nothing written', async () => {
    const r = await runCli(['validate', '--repair', ...g('prod')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ABORTED: cutover validate needs a typed confirmation (prod is protected)');
    expect(existsSync(journal('prod'))).toBe(false);
  });

  test('unlock --force frees the lock even of a live holder, warning that it still runs', async () => {
    const dir = path.join(cfg.dir, '.cutover', 'lab');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'lock.json'), JSON.stringify({ operator: 'carol', host: os.hostname(), pid: live.pid, command: 'cutover shift', since: '2025-03-04T05:06:07.000Z' }));
    const r = await runCli(['unlock', '--force', ...g()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('STILL RUNNING');
    expect(existsSync(path.join(dir, 'lock.json'))).toBe(false);
  });
});
