import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { fixtureNodeArgs } from '../_helpers/fixture-process.ts';

/**
 * `cutover … | head`: the reader goes away (finding 15). A real process writes through
 * StreamOutput to a real pipe whose reading end we close: no `Error: write EPIPE` stack, the
 * process finishes its work and exits with its own code.
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const writer = fileURLToPath(new URL('./fixtures/broken-pipe-writer.ts', import.meta.url));

describe('StreamOutput with a reader that went away', () => {
  test('no EPIPE crash: the command finishes quietly with its own exit code', async () => {
    const child = spawn(process.execPath, await fixtureNodeArgs(writer), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', () => child.stdout.destroy()); // `head -1`
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(err).not.toContain('EPIPE');
    expect(err).toContain('finished');
    expect(code).toBe(0);
  });
});
