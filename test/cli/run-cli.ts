import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../lib/cli/main.ts';
import { IDENTITY_MAPPING } from '../replication/_env.ts';

/** Runs the CLI in-process with captured output and a stdin that is not a TTY. */
export async function runCli(args: string[], options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(['node', 'cutover', ...args], { stdout, stderr, stdin: Readable.from([]), env: { ...process.env, CI: '1' }, cwd: options.cwd ?? process.cwd() });
  return { code, stdout: out, stderr: err };
}

export interface TempConfigOptions {
  /**
   * Write `forward.json` and `reverse.json` next to the config: `'identity'` (IDENTITY_MAPPING, every
   * table of `public`, both ways) or the two documents; each environment in `extra` that names no
   * `mappings` then uses them.
   * @default - no mapping files are written
   */
  readonly mappings?: 'identity' | { readonly forward: unknown; readonly reverse: unknown };
}

/** A config with a `lab` and a `prod` (protected by default) `postgres` environment, in a temp folder. */
export function tempConfig(extra: Record<string, unknown> = {}, options: TempConfigOptions = {}): { dir: string; file: string; dispose(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-cli-'));
  const files = { forward: 'forward.json', reverse: 'reverse.json' };
  const envBase = {
    platform: 'postgres',
    source: { url: 'postgres://u@127.0.0.1:1/a' },
    target: { url: 'postgres://u@127.0.0.1:2/b' },
    mappings: files,
  };
  const environments: Record<string, unknown> = { lab: envBase, prod: envBase, ...extra };
  if (options.mappings) {
    const docs = options.mappings === 'identity' ? { forward: IDENTITY_MAPPING, reverse: IDENTITY_MAPPING } : options.mappings;
    writeFileSync(path.join(dir, files.forward), JSON.stringify(docs.forward));
    writeFileSync(path.join(dir, files.reverse), JSON.stringify(docs.reverse));
    for (const [name, env] of Object.entries(extra)) {
      if (env && typeof env === 'object' && !('mappings' in env)) environments[name] = { ...env, mappings: files };
    }
  }
  const file = path.join(dir, 'cutover.config.json');
  writeFileSync(file, JSON.stringify({ environments }, null, 2));
  return { dir, file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
