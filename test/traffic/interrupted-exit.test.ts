import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A child process runs a never-ending "switch" under warnIfExitedDuring and exits as a second Ctrl-C makes main() do. */
function exitDuring(warning: string): { status: number | null; stderr: string } {
  const script = `
    import { warnIfExitedDuring } from './lib/cli/commands/switch.ts';
    const rt = { io: { stderr: process.stderr }, signal: new AbortController().signal, exitCode: 0, json: false };
    setTimeout(() => process.exit(130), 50); // lib/cli/main.ts: a second Ctrl-C exits at once
    await warnIfExitedDuring(rt, ${JSON.stringify(warning)}, () => new Promise(() => {}));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
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
