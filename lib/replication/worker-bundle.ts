import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Under the package's own node_modules: the bundle leaves every package external, so plain node
 * resolves `pg`, `mysql2`… from the bundle's folder upwards, as it would from lib/.
 */
const DEFAULT_CACHE_DIR = path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'cutover-kit', 'workers');
/** Part of every key: a change of the build options below never reuses a bundle built with the old ones. */
const BUILD_OPTIONS_VERSION = 1;

/** How to start a detached worker's entry module: node's arguments up to the entry's own. */
export interface WorkerCommand {
  readonly nodeArgs: readonly string[];
  /** Which runner, for the worker's log: the bundle, or tsx and why. */
  readonly description: string;
  readonly runner: 'bundle' | 'tsx';
}

/**
 * The command that starts a TypeScript entry module (a replication worker's `*-main.ts`) in a
 * new node process. `node --import tsx main.ts` compiles the whole import graph on every start —
 * about 1.5 s of CPU, 5-20 s of wall time on a busy 2-core machine, for every worker of every
 * rehearsal. So the entry is bundled once with esbuild (tsx's own compiler, a direct dependency)
 * into a plain .mjs cached by a hash of every source file it includes, and started with plain
 * node; an unchanged tree reuses the bundle, an edited one builds a new one. When bundling fails
 * (no esbuild, a read-only install, a build error) it falls back to tsx, and says so.
 * `CUTOVER_WORKER_RUNNER=tsx` forces tsx.
 */
export async function workerCommand(main: string, options: { cacheDir?: string } = {}): Promise<WorkerCommand> {
  const viaTsx = (why: string): WorkerCommand => ({ nodeArgs: ['--import', 'tsx', main], description: `node --import tsx ${path.relative(PACKAGE_ROOT, main)} (${why})`, runner: 'tsx' });
  if (process.env.CUTOVER_WORKER_RUNNER === 'tsx') return viaTsx('CUTOVER_WORKER_RUNNER=tsx');
  try {
    const bundle = await bundledEntry(main, options.cacheDir ?? DEFAULT_CACHE_DIR);
    return { nodeArgs: [bundle.file], description: `node ${path.relative(PACKAGE_ROOT, bundle.file)} (${path.relative(PACKAGE_ROOT, main)} bundled by esbuild${bundle.built ? ', built now' : ''})`, runner: 'bundle' };
  } catch (err) {
    // esbuild's message opens with "Build failed with 1 error:"; its errors say which
    const first = (err as { errors?: { text?: string }[] }).errors?.[0]?.text;
    return viaTsx(`bundling failed: ${first ?? (err as Error).message.split('\n')[0]}`);
  }
}

/** One build at a time per entry in this process; other processes are safe through atomic renames. */
const building = new Map<string, Promise<{ file: string; built: boolean }>>();

/** The entry's bundle for the current sources: the cached one, or a new build. */
export function bundledEntry(main: string, cacheDir: string): Promise<{ file: string; built: boolean }> {
  const key = `${cacheDir}\0${main}`;
  const pending = building.get(key);
  if (pending) return pending;
  const run = findOrBuild(main, cacheDir).finally(() => building.delete(key));
  building.set(key, run);
  return run;
}

async function findOrBuild(main: string, cacheDir: string): Promise<{ file: string; built: boolean }> {
  const stem = `${path.basename(main).replace(/\.[cm]?ts$/, '')}-${sha256(main).slice(0, 8)}`;
  // the source files of the last build: if none changed, added or vanished, its bundle still holds
  const manifest = path.join(cacheDir, `${stem}.json`);
  const previous = readInputs(manifest);
  if (previous) {
    const file = bundleFile(cacheDir, stem, main, previous);
    if (file && existsSync(file)) return { file, built: false };
  }
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [main],
    absWorkingDir: PACKAGE_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    // class and function names stay as written: errors and logs name them
    keepNames: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [sourceLocationPlugin],
  });
  const inputs = Object.keys(result.metafile.inputs).map((f) => path.resolve(PACKAGE_ROOT, f));
  const file = bundleFile(cacheDir, stem, main, inputs);
  if (!file) throw new Error('a source file vanished during the build');
  mkdirSync(cacheDir, { recursive: true });
  writeAtomically(file, result.outputFiles[0]!.contents);
  writeAtomically(manifest, JSON.stringify({ main, inputs }));
  return { file, built: true };
}

function readInputs(manifest: string): string[] | null {
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { inputs?: unknown };
    return Array.isArray(parsed.inputs) && parsed.inputs.every((f) => typeof f === 'string') ? parsed.inputs : null;
  } catch {
    return null;
  }
}

/** The bundle's name for these inputs' current contents; null when one no longer exists. */
function bundleFile(cacheDir: string, stem: string, main: string, inputs: readonly string[]): string | null {
  const hash = createHash('sha256').update(`${BUILD_OPTIONS_VERSION}\0${main}\0`);
  for (const f of inputs) {
    let text: Buffer;
    try {
      text = readFileSync(f);
    } catch {
      return null;
    }
    hash.update(`${f}\0${text.length}\0`).update(text);
  }
  return path.join(cacheDir, `${stem}-${hash.digest('hex').slice(0, 16)}.mjs`);
}

/** Parallel test workers may build the same bundle at once: each renames a complete private file into place. */
function writeAtomically(file: string, contents: string | Uint8Array): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, contents);
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A bundle is one file, so `import.meta.url` would name the bundle: each source's own location is
 * written in instead, so files found relative to a module (`new URL('./x', import.meta.url)`,
 * `createRequire(import.meta.url)`) are found as they are under tsx.
 */
const sourceLocationPlugin = {
  name: 'source-location',
  setup(build: { onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => { contents: string; loader: 'ts' }): void }): void {
    build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const contents = text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.filename', JSON.stringify(args.path))
        .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)));
      return { contents, loader: 'ts' };
    });
  },
};
