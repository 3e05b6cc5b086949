import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { ReplicationStatus, Replicator } from '../../lib/platform/roles.ts';
import { BinlogReplicator } from '../../lib/replication/binlog-replicator.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { runCli } from '../cli/run-cli.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { IDENTITY_MAPPING, sql, until } from '../replication/_env.ts';

/** Rows in one backlog, written in commits of 50 (each acknowledged to its writer). */
const BACKLOG_ROWS = 2000;
const COMMITS = BACKLOG_ROWS / 50;

/** One source engine's set-up: a running forward worker and what the cases need of it. */
interface Rig {
  readonly replicator: Replicator & { close(): Promise<void> };
  readonly configFile: string;
  readonly targetUrl: string;
  /** The target table the backlog lands in. */
  readonly targetTable: string;
  writeBacklog(firstId: number): Promise<void>;
  dispose(): Promise<void>;
}

/** A config file with one environment `lab` (forward mapping `forward`), in a fresh temp folder. */
function writeConfig(sourceUrl: string, targetUrl: string, forward: unknown): { dir: string; file: string; env: ResolvedPostgresEnvironment } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-wait-backlog-'));
  writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(forward));
  writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify(IDENTITY_MAPPING));
  const raw = { environments: { lab: { platform: 'postgres', source: { url: sourceUrl }, target: { url: targetUrl }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } } };
  const file = path.join(dir, 'cutover.config.json');
  writeFileSync(file, JSON.stringify(raw));
  return { dir, file, env: selectEnvironment(parseConfig(raw, file), 'lab') as ResolvedPostgresEnvironment };
}

/** A rig of `replicator` on the config `config`, whose dispose stops it, then the servers (`stopServers`), then removes the config. */
function rigOf(
  replicator: Rig['replicator'],
  config: ReturnType<typeof writeConfig>,
  target: { url: string; table: string },
  writeBacklog: Rig['writeBacklog'],
  stopServers: () => Promise<unknown>,
): Rig {
  return {
    replicator,
    configFile: config.file,
    targetUrl: target.url,
    targetTable: target.table,
    writeBacklog,
    dispose: async () => {
      await replicator.stop().catch(() => {});
      await replicator.close();
      await stopServers();
      rmSync(config.dir, { recursive: true, force: true });
    },
  };
}

/**
 * `replicate wait` (the replicate gate) on a backlog the worker has not applied yet: the target
 * table is locked against writes (EXCLUSIVE: reads go on), so nothing of the backlog can be applied
 * while the wait runs, whatever the machine's speed. The lag limit is generous (60 s): the backlog
 * is seconds old, so a gate that judges only the time lag passed at once with every row of it
 * missing (it did: "CDC running, lag 957 ms", 0 of 2,000 rows on the target). Caught up means every
 * write acknowledged on the source before the wait began is on the target: the wait must not pass
 * while the lock holds, and must pass once it is released, with all of the backlog there when it
 * returns. The workers are the real detached ones.
 */
function backlogCases(rig: () => Rig) {
  const cli = (...args: string[]) => runCli([...args, '--config', rig().configFile, '--env', 'lab']);
  const targetRows = async () => Number((await sql(rig().targetUrl, `select count(*)::int as n from ${rig().targetTable}`)).rows[0].n);
  /** Holds an EXCLUSIVE lock on the target table (the worker's apply waits; reads go on) until released. */
  const lockTarget = async (): Promise<{ release(): Promise<void> }> => {
    const c: pg.Client = await connect(rig().targetUrl);
    await c.query('begin');
    await c.query(`lock table ${rig().targetTable} in exclusive mode`);
    return {
      async release() {
        await c.query('rollback').catch(() => {});
        await c.end().catch(() => {});
      },
    };
  };

  /** The wait while the backlog cannot be applied (it must not pass), then after the lock is released (it must, with every row). */
  const waitThroughTheLock = async (lock: { release(): Promise<void> }, expectedRows: number) => {
    let held: { code: number; stdout: string; stderr: string; rowsAtReturn: number; status: ReplicationStatus };
    try {
      const wait = await cli('replicate', 'wait', '--max-lag-ms', '60000', '--timeout-ms', '4000');
      const rowsAtReturn = await targetRows();
      const status = JSON.parse((await cli('replicate', 'status', '--json')).stdout) as ReplicationStatus;
      held = { ...wait, rowsAtReturn, status };
    } finally {
      await lock.release();
    }
    // what `replicate status` said meanwhile: bytes behind the source (the backlog), whatever the time lag read
    expect(held.status.lagBytes, JSON.stringify(held.status)).toBeGreaterThan(0);
    expect(held.code, `the wait passed with ${held.rowsAtReturn} of ${expectedRows} rows on the target (lagMs ${held.status.lagMs}, lagBytes ${held.status.lagBytes}):\n${held.stdout}${held.stderr}`).toBe(1);
    expect(held.rowsAtReturn).toBeLessThan(expectedRows);
    // it says what it waited for and how far it got
    expect(held.stdout + held.stderr).toMatch(/waiting until the target has applied the source's position \S+ \(every write acknowledged before this wait\)/);
    expect(held.stdout + held.stderr).toMatch(/not caught up after 4000 ms: phase cdc, lag \d+ ms \(limit 60000 ms\), the source's position \S+ read when the wait began is not confirmed applied \(applied \S+, \d+ bytes behind the source now\)/);

    const wait = await cli('replicate', 'wait', '--max-lag-ms', '60000', '--timeout-ms', '60000');
    const rowsAtReturn = await targetRows();
    expect(wait.code, wait.stdout + wait.stderr).toBe(0);
    expect(rowsAtReturn).toBe(expectedRows);
    expect(wait.stdout + wait.stderr).toMatch(/CDC running, lag \d+ ms <= 60000 ms, applied up to the source's position \S+ read when the wait began/);
  };

  test('a backlog written while the worker streams: the wait does not pass before it is applied', async () => {
    const before = await targetRows();
    const lock = await lockTarget();
    try {
      await rig().writeBacklog(1);
    } catch (err) {
      await lock.release();
      throw err;
    }
    await waitThroughTheLock(lock, before + BACKLOG_ROWS);
  }, 120_000);

  test('a backlog written while the worker was stopped, then the worker started: the wait does not pass before it is applied', async () => {
    const before = await targetRows();
    await rig().replicator.stop();
    await rig().writeBacklog(100_001);
    const lock = await lockTarget();
    try {
      await rig().replicator.start();
    } catch (err) {
      await lock.release();
      throw err;
    }
    await waitThroughTheLock(lock, before + BACKLOG_ROWS);
  }, 120_000);
}

describe('replicate wait on a fresh backlog, PostgreSQL source (pgoutput): caught up means the writes acknowledged before the wait are applied', () => {
  let rig: Rig;
  beforeAll(async () => {
    const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    const schema = 'create table items (id bigint primary key, name text);';
    await sql(source.url, schema);
    await sql(target.url, schema);
    const config = writeConfig(source.url, target.url, IDENTITY_MAPPING);
    const replicator = new PostgresReplicator(config.env, 'forward', new RecordingOutput());
    const writeBacklog = async (firstId: number) => {
      await sql(source.url, `do $$ begin for t in 0..${COMMITS - 1} loop insert into items select g, 'backlog' from generate_series(${firstId} + t * 50, ${firstId} + t * 50 + 49) g; commit; end loop; end $$`);
    };
    rig = rigOf(replicator, config, { url: target.url, table: 'items' }, writeBacklog, () => Promise.all([source.dispose(), target.dispose()]));
    await replicator.start();
    await until(async () => (await replicator.status()).heartbeatAgeMs != null, 30_000, 'a heartbeat to be measured');
  }, 90_000);
  afterAll(async () => rig?.dispose());

  backlogCases(() => rig);
});

describe.skipIf(mariadbMissing)(`replicate wait on a fresh backlog, MariaDB source (binlog) ${mariadbSkipReason}`, () => {
  let rig: Rig;
  beforeAll(async () => {
    const [maria, target]: [TestMariadb, Awaited<ReturnType<typeof startTestPostgres>>] = await Promise.all([startTestMariadb({ database: 'legacy' }), startTestPostgres()]);
    await maria.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20)) CHARACTER SET utf8mb4');
    await sql(target.url, 'create schema legacy; create table legacy.items (id bigint primary key, name varchar(20));');
    const mapping = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'legacy', 'table-name': '%' }, 'rule-action': 'include' }] };
    const config = writeConfig(maria.url, target.url, mapping);
    const replicator = new BinlogReplicator(config.env, new RecordingOutput());
    const writeBacklog = async (firstId: number) => {
      const c = await maria.connect();
      try {
        for (let t = 0; t < COMMITS; t++) {
          const values = Array.from({ length: 50 }, (_, i) => `(${firstId + t * 50 + i}, 'backlog')`);
          await c.query(`INSERT INTO items VALUES ${values.join(',')}`);
        }
      } finally {
        await c.end();
      }
    };
    rig = rigOf(replicator, config, { url: target.url, table: 'legacy.items' }, writeBacklog, () => Promise.all([maria.dispose(), target.dispose()]));
    await replicator.start();
    await until(async () => (await replicator.status()).phase === 'cdc', 60_000, 'CDC');
  }, 180_000);
  afterAll(async () => rig?.dispose());

  backlogCases(() => rig);
});
