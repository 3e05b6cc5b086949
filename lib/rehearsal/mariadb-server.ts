import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { CutoverError } from '../errors.ts';
import { freePort } from '../net/free-port.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The rehearsal's legacy MariaDB (or MySQL) server: the distribution's own binaries (`mariadbd` or
 * `mysqld`, found on PATH and in the sbin folders), a fresh data folder in the rehearsal folder, a
 * free 127.0.0.1 port, and what binlog replication needs — `log_bin` in ROW format with
 * `binlog_row_image=FULL`, a `server_id` — in utf8mb4. Accounts over TCP, with passwords generated
 * for this run: `root`@127.0.0.1 (the kit's; ALL PRIVILEGES, so the write fence spares it and the
 * reverse replication can write into a fenced blue) and an application account with data
 * privileges only (the blue app's: `read_only` stops it). `stop()` ends the server and removes
 * its folder; a process that exits without calling it takes the server along.
 */
export interface MariadbServer {
  /** `mysql://root:<generated>@127.0.0.1:<port>/<database>`: the kit's account. */
  readonly url: string;
  /** The blue app's account (SELECT, INSERT, UPDATE, DELETE on the database only). */
  readonly appUrl: string;
  readonly port: number;
  readonly database: string;
  /** e.g. `10.11.6-MariaDB-0+deb12u1-log` */
  readonly version: string;
  /** Fast shutdown, `downMs` with no server, start again on the same data and port (the restart faults). */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface MariadbServerOptions {
  /** Folder for the data folder, socket and log (created; removed by stop). */
  readonly dir: string;
  /** @default 'cainiao' */
  readonly database?: string;
  /** The application account's name. @default 'cainiao_app' */
  readonly appUser?: string;
  /** More server options, after the defaults (a later option wins), e.g. a smaller buffer pool. @default - none */
  readonly serverArgs?: readonly string[];
  /**
   * Fills the empty data folder (the tests copy one bootstrapped template instead of bootstrapping
   * each server). @default - mariadb-install-db (or mysql_install_db) into it
   */
  readonly initDataDir?: (dataDir: string) => Promise<void>;
}

const SEARCH = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/usr/libexec', '/usr/local/mysql/bin'];
export const MARIADB_INSTALL_HINT = 'apt-get install mariadb-server (Debian/Ubuntu), dnf install mariadb-server (Fedora/RHEL), brew install mariadb (macOS)';

function findBinary(names: readonly string[], dirs: readonly string[]): string | null {
  for (const name of names) for (const d of dirs) if (existsSync(path.join(d, name))) return path.join(d, name);
  return null;
}

/**
 * The server and data-folder initializer installed on this machine (looked for in `dirs`: PATH,
 * then the usual sbin/bin folders), or a NOT_SUPPORTED error (exit 2) with the install command.
 */
export function findMariadbBinaries(dirs: readonly string[] = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH]): { server: string; installDb: string } {
  const server = findBinary(['mariadbd', 'mysqld'], dirs);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db'], dirs);
  if (server && installDb) return { server, installDb };
  throw new CutoverError('NOT_SUPPORTED', `--legacy mariadb needs a MariaDB (or MySQL) server on this machine: ${server ? 'mariadb-install-db' : 'mariadbd / mysqld'} was not found in ${dirs.join(', ') || '(no folder)'}`, {
    received: server ?? '(no mariadbd or mysqld)',
    fix: `install it: ${MARIADB_INSTALL_HINT} — or run against a server of yours with --legacy-url mysql://user:password@host:3306/cainiao`,
  });
}

/** Starts the server; resolves once it accepts the kit's account over TCP. */
export async function startMariadbServer(options: MariadbServerOptions): Promise<MariadbServer> {
  const bin = findMariadbBinaries();
  const database = options.database ?? 'cainiao';
  const appUser = options.appUser ?? 'cainiao_app';
  const dir = path.resolve(options.dir);
  rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const socket = path.join(dir, 'mysqld.sock');
  const logFile = path.join(dir, 'server.log');
  // a server refuses to run as root unless told to: as root it runs as root, in our folder
  const asRoot = os.userInfo().uid === 0 ? ['--user=root'] : [];
  if (options.initDataDir) await options.initDataDir(dataDir);
  // its own tmpdir: bootstraps running at once in a shared /tmp have failed on each other's temporary tables
  const init = options.initDataDir
    ? { status: 0, stderr: '', stdout: '', error: undefined }
    : spawnSync(bin.installDb, ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${dir}`, ...asRoot, '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve'], {
        encoding: 'utf8',
        timeout: 180_000,
      });
  if (init.status !== 0) {
    throw new CutoverError('CONNECTION_FAILED', `${path.basename(bin.installDb)} could not create the data folder ${dataDir} (exit ${init.status})`, {
      received: (init.stderr || init.stdout || String(init.error ?? '')).trim().split('\n').slice(-5).join('\n'),
      fix: `run ${bin.installDb} --datadir=/tmp/x by hand to see why, or use a server of yours with --legacy-url`,
    });
  }
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--tmpdir=${dir}`,
    ...asRoot,
    '--bind-address=127.0.0.1',
    `--port=${port}`,
    `--socket=${socket}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--log-error=${logFile}`,
    `--log-bin=${path.join(dir, 'binlog')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--server-id=1',
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--local-infile=1',
    // a laptop's share, not a server's: the rehearsal runs two PostgreSQL servers and the apps beside it
    '--innodb-buffer-pool-size=128M',
    '--innodb-log-file-size=64M',
    // the kit's figures, not durability, are what a rehearsal measures; a crash restarts the rehearsal
    '--innodb-flush-log-at-trx-commit=2',
    '--sync-binlog=0',
    '--performance-schema=OFF',
    '--max-connections=300',
    ...(options.serverArgs ?? []),
  ];

  let child: ChildProcess | null = null;
  let exited = true;
  const killOnExit = () => child?.kill('SIGKILL');
  const launch = async (): Promise<void> => {
    const c = spawn(bin.server, args, { stdio: 'ignore' });
    child = c;
    exited = false;
    c.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (exited) throw new CutoverError('CONNECTION_FAILED', `${path.basename(bin.server)} exited while starting`, { received: tail(logFile), fix: `read ${logFile}` });
      try {
        const probe = await mysql.createConnection({ socketPath: socket, user: os.userInfo().uid === 0 ? 'root' : os.userInfo().username });
        await probe.end();
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          c.kill('SIGKILL');
          throw new CutoverError('CONNECTION_FAILED', `${path.basename(bin.server)} did not accept connections within 120 s: ${(err as Error).message}`, { received: tail(logFile), fix: `read ${logFile}` });
        }
        await sleep(200);
      }
    }
  };
  const shutdown = async (): Promise<void> => {
    const c = child;
    if (!c || exited) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM'); // mariadbd: a clean shutdown (sessions ended, InnoDB flushed)
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    await shutdown();
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await launch();
    const password = randomBytes(18).toString('base64url');
    const appPassword = randomBytes(18).toString('base64url');
    // root@localhost authenticates by socket (we are its OS user): create the TCP accounts
    const admin = await mysql.createConnection({ socketPath: socket, user: os.userInfo().uid === 0 ? 'root' : os.userInfo().username });
    let version: string;
    try {
      await admin.query(`CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await admin.query(`GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION`);
      await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await admin.query(`CREATE USER '${appUser}'@'127.0.0.1' IDENTIFIED BY '${appPassword}'`);
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${database}\`.* TO '${appUser}'@'127.0.0.1'`);
      const [[row]] = (await admin.query('SELECT version() AS v')) as unknown as [{ v: string }[]];
      version = row!.v;
    } finally {
      await admin.end();
    }
    const url = (user: string, pw: string) => `mysql://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    return {
      url: url('root', password),
      appUrl: url(appUser, appPassword),
      port,
      database,
      version,
      async restart(downMs = 1500) {
        await shutdown();
        await sleep(downMs);
        await launch();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-8).join('\n');
  } catch {
    return '(no server log)';
  }
}
