import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { MYSQL_CAINIAO_DATABASE } from '../demo/mapping-files.ts';
import { connectMysql, parseMysqlUrl } from '../engines/mysql/mysql-connection.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { startEmbeddedPostgres, type DataFolderTemplate, type EmbeddedServer } from '../postgres/embedded-server.ts';
import type { CleanupStack } from './cleanup-stack.ts';
import { startMariadbServer } from './mariadb-server.ts';
import { claimUserServer, releaseUserServer } from './user-server-footprint.ts';
import type { LegacyOption } from './rehearse-options.ts';

/** The legacy (blue) database of a rehearsal, whatever its engine. */
export interface LegacyDatabase {
  readonly engine: 'postgres' | 'mysql';
  /** The kit's account (config `source.url`). */
  readonly url: string;
  /** The blue app's account: on MySQL one without SUPER / READ ONLY ADMIN, so the write fence stops it. */
  readonly appUrl: string;
  readonly port: number;
  /** The restart faults: down, then up on the same data and port. */
  restart(downMs?: number): Promise<void>;
  /** What `--keep` prints to connect. */
  readonly connectHint: string;
}

export interface RehearsalServers {
  readonly blue: LegacyDatabase;
  readonly green: EmbeddedServer;
}

/**
 * Starts the rehearsal's two databases, each stopped by `cleanup` (even when a later step fails):
 * duoduo (green) is always an embedded PostgreSQL; cainiao (blue) an embedded PostgreSQL too, or
 * with `legacy: 'mariadb'` this machine's MariaDB/MySQL server in the rehearsal folder
 * (lib/rehearsal/mariadb-server.ts) — or the server at `legacyUrl`, which the user runs.
 */
export async function startRehearsalServers(o: {
  legacy: LegacyOption;
  legacyUrl?: string;
  /** Copied instead of running initdb (RehearseOptions.serverTemplate). */
  template?: DataFolderTemplate;
  dir: string;
  cleanup: CleanupStack;
  out: Output;
}): Promise<RehearsalServers> {
  const green = startEmbeddedPostgres({ dir: path.join(o.dir, 'servers', 'duoduo'), database: 'duoduo', persistent: false, template: o.template }).then((s) => {
    o.cleanup.push('postgres duoduo', () => s.stop());
    return s;
  });
  const blue = o.legacy === 'mariadb' ? startMysqlLegacy(o) : startPostgresLegacy(o);
  const [b, g] = await Promise.allSettled([blue, green]);
  if (b.status === 'rejected') throw b.reason;
  if (g.status === 'rejected') throw g.reason;
  return { blue: b.value, green: g.value };
}

async function startPostgresLegacy(o: { dir: string; cleanup: CleanupStack; template?: DataFolderTemplate }): Promise<LegacyDatabase> {
  const s = await startEmbeddedPostgres({ dir: path.join(o.dir, 'servers', 'cainiao'), database: 'cainiao', persistent: false, template: o.template });
  o.cleanup.push('postgres cainiao', () => s.stop());
  return { engine: 'postgres', url: s.url, appUrl: s.url, port: s.port, restart: (ms) => s.restart(ms), connectHint: `psql "postgres://postgres@127.0.0.1:${s.port}/cainiao"` };
}

async function startMysqlLegacy(o: { legacyUrl?: string; dir: string; cleanup: CleanupStack; out: Output }): Promise<LegacyDatabase> {
  if (o.legacyUrl) return useMysqlServer(o.legacyUrl, o);
  const s = await startMariadbServer({ dir: path.join(o.dir, 'servers', 'cainiao-mariadb'), database: MYSQL_CAINIAO_DATABASE });
  o.cleanup.push('mariadb cainiao', () => s.stop());
  o.out.ok('rehearse', `MariaDB ${s.version} started for cainiao (ROW binlog, binlog_row_image FULL, utf8mb4)`);
  return { engine: 'mysql', url: s.url, appUrl: s.appUrl, port: s.port, restart: (ms) => s.restart(ms), connectHint: `mariadb -h 127.0.0.1 -P ${s.port} -u root -p ${MYSQL_CAINIAO_DATABASE}` };
}

/**
 * A MySQL-family server the user runs: its database must be `cainiao` (the schema the MySQL
 * mapping files name); the account must be able to create the blue app's own account (the write
 * fence ends every other account's sessions and `read_only` must stop the app). The rehearsal
 * leaves the server as it found it (user-server-footprint.ts): it refuses when a name it would
 * create is taken, and its cleanup removes what it created and puts `read_only` back.
 */
async function useMysqlServer(url: string, o: { cleanup: CleanupStack; out: Output }): Promise<LegacyDatabase> {
  const u = parseMysqlUrl(url);
  if (u.database !== MYSQL_CAINIAO_DATABASE) {
    throw new CutoverError('USAGE', `--legacy-url must name the database ${MYSQL_CAINIAO_DATABASE} (the schema of the MySQL mapping files), not ${u.database}`, {
      received: u.database,
      allowed: MYSQL_CAINIAO_DATABASE,
      fix: `CREATE DATABASE ${MYSQL_CAINIAO_DATABASE} CHARACTER SET utf8mb4; then --legacy-url mysql://user:password@${u.host}:${u.port}/${MYSQL_CAINIAO_DATABASE}`,
    });
  }
  const appUser = 'cutover_demo_app';
  const appPassword = randomBytes(18).toString('base64url');
  const c = await connectMysql(url, 'source');
  try {
    const claim = await claimUserServer(c, u.database, appUser);
    // pushed before anything is created: whatever happens next, the cleanup removes what was made
    o.cleanup.push('what the rehearsal created on the --legacy-url server', async () => {
      const d = await connectMysql(url, 'source');
      try {
        await releaseUserServer(d, claim);
      } finally {
        await d.end().catch(() => {});
      }
    });
    try {
      await c.query(`CREATE USER '${appUser}'@'%' IDENTIFIED BY '${appPassword}'`);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${u.database}\`.* TO '${appUser}'@'%'`);
    } catch (err) {
      throw new CutoverError('AUTH_FAILED', `the --legacy-url account cannot create the blue app's account ${appUser}: ${(err as Error).message}`, {
        fix: 'use an admin account (CREATE USER and GRANT OPTION, REPLICATION SLAVE/CLIENT, RELOAD, READ_ONLY ADMIN or SUPER)',
        cause: err,
      });
    }
  } finally {
    await c.end().catch(() => {});
  }
  const app = new URL(url);
  app.username = appUser;
  app.password = appPassword;
  o.out.ok('rehearse', `cainiao on the MySQL server at ${u.host}:${u.port} (--legacy-url); the blue app writes as ${appUser}`);
  return {
    engine: 'mysql',
    url,
    appUrl: app.toString(),
    port: u.port,
    restart: async () => {
      throw new CutoverError('NOT_SUPPORTED', 'a server given with --legacy-url is not restarted by the rehearsal', { fix: 'run the source-restart fault without --legacy-url' });
    },
    connectHint: `mariadb -h ${u.host} -P ${u.port} -u ${u.user} -p ${u.database}`,
  };
}
