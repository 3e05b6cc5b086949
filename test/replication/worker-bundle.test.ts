import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { workerCommand } from '../../lib/replication/worker-bundle.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = (args: readonly string[], cwd = ROOT) => spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });

/** The detached workers start as plain node on a cached esbuild bundle of their entry, tsx as fallback. */
describe('worker bundle', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-worker-bundle-'));
  const cacheDir = path.join(dir, 'cache');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // an entry that reads a file next to an imported module: under a bundle, import.meta.url must
  // still name that module, not the bundle
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, 'deep'), { recursive: true });
  writeFileSync(path.join(src, 'deep', 'data.txt'), 'found next to its module');
  writeFileSync(path.join(src, 'deep', 'where.ts'), "import { readFileSync } from 'node:fs';\nexport const here: string = import.meta.url;\nexport const data = (): string => readFileSync(new URL('./data.txt', import.meta.url), 'utf8');\n");
  const main = path.join(src, 'main.ts');
  writeFileSync(main, "import { data, here } from './deep/where.ts';\nclass Named {}\nconsole.log(JSON.stringify({ here, data: data(), name: Named.name, args: process.argv.slice(2) }));\n");

  test('bundles once, runs under plain node with each module’s own location, reuses the bundle until a source changes', async () => {
    const first = await workerCommand(main, { cacheDir });
    expect(first.runner).toBe('bundle');
    expect(first.description).toContain('built now');
    expect(first.nodeArgs).toHaveLength(1);
    expect(first.nodeArgs[0]!.startsWith(cacheDir)).toBe(true);
    const r = run([...first.nodeArgs, '--flag', 'x']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ here: pathToFileURL(path.join(src, 'deep', 'where.ts')).href, data: 'found next to its module', name: 'Named', args: ['--flag', 'x'] });

    const again = await workerCommand(main, { cacheDir });
    expect(again.nodeArgs).toEqual(first.nodeArgs);
    expect(again.description).not.toContain('built now');

    // an edit in an imported module (not the entry) makes a new bundle that runs the new code
    writeFileSync(path.join(src, 'deep', 'data.txt'), 'data files are read at run time, not bundled');
    expect((await workerCommand(main, { cacheDir })).nodeArgs).toEqual(first.nodeArgs);
    writeFileSync(path.join(src, 'deep', 'where.ts'), "export const here = 'edited';\nexport const data = (): string => 'edited';\n");
    const edited = await workerCommand(main, { cacheDir });
    expect(edited.description).toContain('built now');
    expect(edited.nodeArgs).not.toEqual(first.nodeArgs);
    expect(JSON.parse(run(edited.nodeArgs).stdout)).toMatchObject({ here: 'edited', data: 'edited' });
    // no half-written file left behind by the atomic writes
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('concurrent starts of one entry share one build', async () => {
    const fresh = path.join(dir, 'cache-concurrent');
    const all = await Promise.all([1, 2, 3].map(() => workerCommand(main, { cacheDir: fresh })));
    expect(new Set(all.map((c) => c.nodeArgs[0])).size).toBe(1);
    expect(readdirSync(fresh).filter((f) => f.endsWith('.mjs'))).toHaveLength(1);
  });

  test('a source that does not build falls back to tsx and says why; CUTOVER_WORKER_RUNNER=tsx forces tsx', async () => {
    const broken = path.join(src, 'broken.ts');
    writeFileSync(broken, "import { nothing } from './no-such-module.ts';\nconsole.log(nothing);\n");
    const c = await workerCommand(broken, { cacheDir });
    expect(c.runner).toBe('tsx');
    expect(c.nodeArgs).toEqual(['--import', 'tsx', broken]);
    expect(c.description).toMatch(/bundling failed: .*no-such-module/);

    process.env.CUTOVER_WORKER_RUNNER = 'tsx';
    try {
      const forced = await workerCommand(main, { cacheDir });
      expect(forced.runner).toBe('tsx');
      expect(forced.description).toContain('CUTOVER_WORKER_RUNNER=tsx');
    } finally {
      delete process.env.CUTOVER_WORKER_RUNNER;
    }
  });

  test.each(['worker-main.ts', 'binlog-worker-main.ts'])('the real %s bundles and loads every import under plain node (it answers its usage)', async (entry) => {
    // the kit's own cache (under node_modules, where the bundle's external packages resolve)
    const c = await workerCommand(path.join(ROOT, 'lib/replication', entry));
    expect(c.runner).toBe('bundle');
    // with no arguments the entry prints its usage and exits 2, after every static import has loaded
    const r = run(c.nodeArgs);
    expect(r.stderr).toMatch(/^usage: /);
    expect(r.status).toBe(2);
  });
});
