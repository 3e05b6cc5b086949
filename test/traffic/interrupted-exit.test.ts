import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { fixtureNodeArgs } from '../_helpers/fixture-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const fixtureArgs = await fixtureNodeArgs(fileURLToPath(new URL('./fixtures/exit-during-switch.ts', import.meta.url)));

/** A child process runs a never-ending "switch" under warnIfExitedDuring and exits as a second Ctrl-C makes main() do. */
function exitDuring(warning: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [...fixtureArgs, warning], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('a second Ctrl-C during the switch or the rollback', () => {
  test('exit 130 still says what may be left and what to run', () => {
    const r = exitDuring('error switch: interrupted before the switch finished … run `npx cutover switch --env lab`');
    expect(r.status).toBe(130);
    expect(r.stderr).toContain('error switch: interrupted before the switch finished … run `npx cutover switch --env lab`');
  });

  test('a dry-run (empty warning) says nothing', () => {
    const r = exitDuring('');
    expect(r.status).toBe(130);
    expect(r.stderr).not.toContain('interrupted');
  });
});
