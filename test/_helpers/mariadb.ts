import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startMariadbServer, type MariadbServer } from '../../lib/rehearsal/mariadb-server.ts';

/**
 * Throw-away MariaDB (or MySQL) servers for tests: one per test file, in a temp folder, on a free
 * 127.0.0.1 port, with the binary log on in ROW format (what DMS and the kit's binlog reader
 * need). Stopped, and its folder removed, by `dispose()` — call it in `afterAll`, which runs even
 * when a test failed.
 *
 * Where no server binary exists the tests skip and say why; under `CI=true` they fail instead
 * (CI installs Debian's mariadb-server in .ci/run, so a missing server there is a broken CI).
 */

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec'];

function findBinary(names: readonly string[]): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH];
  for (const name of names) for (const d of dirs) if (existsSync(path.join(d, name))) return path.join(d, name);
  return null;
}

export interface MariadbBinaries {
  readonly server: string;
  readonly installDb: string;
}

/** The installed server binaries, or why there are none. */
export function findMariadb(): MariadbBinaries | { missing: string } {
  const server = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (server && installDb) return { server, installDb };
  return { missing: 'no MariaDB/MySQL server binary (mariadbd + mariadb-install-db) was found: apt-get install mariadb-server' };
}

const found = findMariadb();
const isCi = !!process.env.CI && process.env.CI !== '0' && process.env.CI !== 'false';

/**
 * `describe.skipIf(mariadbMissing)(…)`: true when the tests of a file must skip (they print
 * `mariadbSkipReason`). Under CI a missing server throws when the test file loads, so it fails.
 */
export const mariadbMissing: boolean = 'missing' in found;
export const mariadbSkipReason: string = 'missing' in found ? `skipped: ${found.missing}` : '';
if ('missing' in found && isCi) throw new Error(`CI=true and ${found.missing} (.ci/run installs it)`);
if ('missing' in found) console.warn(`MariaDB tests ${mariadbSkipReason}`);

export interface TestMariadb {
  /** `mysql://root:<pw>@127.0.0.1:<port>/<database>` — an admin account over TCP. */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  readonly database: string;
  /** The server's version string, e.g. `10.11.6-MariaDB-0+deb12u1-log`. */
  readonly version: string;
  /** `mysql://<user>:<password>@127.0.0.1:<port>/<database>` */
  urlFor(database: string, user?: { name: string; password: string }): string;
  /** A connection as the admin account (multi-statements allowed); `end()` it. */
  connect(database?: string): Promise<mysql.Connection>;
  /** Runs statements as the admin account. */
  exec(sql: string, database?: string): Promise<void>;
  createDatabase(name: string): Promise<void>;
  dispose(): Promise<void>;
}

export interface TestMariadbOptions {
  readonly database?: string;
  /** Extra server options, e.g. `['--binlog-format=STATEMENT']` (later options win). */
  readonly serverArgs?: readonly string[];
}

/** Starts a throw-away server for one test file. Call in `beforeAll`; `dispose()` in `afterAll`. */
export async function startTestMariadb(options: TestMariadbOptions = {}): Promise<TestMariadb> {
  if ('missing' in found) throw new Error(found.missing);
  const database = options.database ?? 'app';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-mariadb-'));
  // the rehearsal's launcher (lib/rehearsal/mariadb-server.ts), filled from the bootstrapped template, sized for tests
  let server: MariadbServer;
  try {
    server = await startMariadbServer({
      dir,
      database,
      // tests create their own application accounts (e.g. cainiao_app@'%'); a launcher account of the
      // same name at 127.0.0.1 would be the closer match and refuse their password
      appUser: 'launcher_app',
      initDataDir: (dataDir) => copyTemplate(found, dataDir),
      serverArgs: [
        // small: several test files run at once on a 2-core machine
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--max-connections=200',
        ...(options.serverArgs ?? []),
      ],
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = () => server.stop();
  try {
    const { port } = server;
    const password = decodeURIComponent(new URL(server.url).password);
    const urlFor = (db: string, user = { name: 'root', password }) =>
      `mysql://${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
    const connect = (db = database) =>
      mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password, database: db, multipleStatements: true, charset: 'utf8mb4', timezone: 'Z' });
    return {
      url: urlFor(database),
      port,
      password,
      database,
      version: server.version,
      urlFor,
      connect,
      async exec(sql, db) {
        const c = await connect(db);
        try {
          await c.query(sql);
        } finally {
          await c.end();
        }
      },
      async createDatabase(name) {
        const c = await connect();
        try {
          await c.query(`CREATE DATABASE IF NOT EXISTS \`${name.replace(/`/g, '``')}\` CHARACTER SET utf8mb4`);
        } finally {
          await c.end();
        }
      },
      dispose: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One mariadb-install-db per server binary, shared by every test file of this and later runs
 * (under the temp dir, keyed by the binaries' path, size and mtime), copied into each server's
 * data folder: the bootstrap took 1 s of CPU but up to 17 s on a busy disk (it syncs), and ran
 * synchronously, holding up the PostgreSQL server its test file starts alongside. Built in a
 * private folder and renamed into place, so a worker never copies a half-written one.
 */
let template: Promise<string> | undefined;
/**
 * Fills a new server's data folder from that shared bootstrap: the `initDataDir` of
 * `startMariadbServer` for a test that needs a server of the rehearsal's launcher but not its own
 * mariadb-install-db run.
 */
export function copyMariadbTemplate(dataDir: string): Promise<void> {
  if ('missing' in found) throw new Error(found.missing);
  return copyTemplate(found, dataDir);
}
async function copyTemplate(binaries: MariadbBinaries, dataDir: string): Promise<void> {
  // a temp-folder cleaner may have removed it since: build it again
  if (template && !(await template.then((t) => existsSync(path.join(t, 'mysql')), () => false))) template = undefined;
  template ??= makeTemplate(binaries).catch((err: unknown) => {
    template = undefined;
    throw err;
  });
  const from = await template;
  await run('cp', ['-a', '--', `${from}/.`, dataDir]);
}

async function makeTemplate(binaries: MariadbBinaries): Promise<string> {
  const key = createHash('sha256')
    .update([binaries.server, binaries.installDb].map((f) => `${f} ${statSync(f).size} ${statSync(f).mtimeMs}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const root = path.join(os.tmpdir(), 'cutover-test-mariadb-templates');
  mkdirSync(root, { recursive: true });
  const folder = path.join(root, key);
  const data = path.join(folder, 'data');
  if (existsSync(path.join(folder, 'ready')) && existsSync(path.join(data, 'mysql'))) return data;
  // one partly removed by a temp-folder cleaner (a complete one is never removed: another worker may be copying it)
  if (existsSync(folder)) rmSync(folder, { recursive: true, force: true });
  const building = mkdtempSync(`${folder}.building-`);
  try {
    mkdirSync(path.join(building, 'data'));
    const asRoot = os.userInfo().uid === 0 ? ['--user=root'] : [];
    // its own tmpdir: bootstraps running at once in a shared /tmp have failed on each other's temporary tables
    await run(binaries.installDb, [
      '--no-defaults',
      `--datadir=${path.join(building, 'data')}`,
      `--tmpdir=${building}`,
      ...asRoot,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      '--skip-name-resolve',
    ]);
    writeFileSync(path.join(building, 'ready'), ''); // last: marks a complete template
    try {
      renameSync(building, folder);
    } catch (err) {
      if (!existsSync(path.join(folder, 'ready'))) throw err;
      rmSync(building, { recursive: true, force: true }); // another worker's is in place: use that
    }
    return data;
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    throw err;
  }
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${path.basename(command)} failed (${err.code ?? err.signal}): ${stderr || stdout || err.message}`)) : resolve(),
    ),
  );
}

