import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * `cutover … | head`: the reader goes away (finding 15). A real process writes through
 * StreamOutput to a real pipe whose reading end we close: no `Error: write EPIPE` stack, the
 * process finishes its work and exits with its own code.
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = `
import { StreamOutput } from './lib/output/output.ts';
const out = new StreamOutput({ mode: 'plain' });
for (let i = 0; i < 200; i++) {
  out.info('shift', 'reads ' + i + '% green ' + 'x'.repeat(2000));
  await new Promise((r) => setTimeout(r, 2));
}
out.result({ ok: true }, 'shift: ok');
process.stderr.write('finished\\n');
`;

describe('StreamOutput with a reader that went away', () => {
  test('no EPIPE crash: the command finishes quietly with its own exit code', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', () => child.stdout.destroy()); // `head -1`
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(err).not.toContain('EPIPE');
    expect(err).toContain('finished');
    expect(code).toBe(0);
  });
});
