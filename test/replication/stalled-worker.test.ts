import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import type { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { ReplicationStatus } from '../../lib/platform/roles.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { runCli, tempConfig } from '../cli/run-cli.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, until } from './_env.ts';

const SCHEMA = 'create table items (id bigint primary key, name text);';
const HEARTBEAT_LIMIT_MS = 3000;

/**
 * A frozen worker (SIGSTOP) under a live write workload: lag measured against the source grows,
 * the stream is `stalled`, `replicate status` exits 1 and `replicate wait` fails; SIGCONT brings
 * it back and the wait passes. The worker is the real detached one.
 */
describe('a SIGSTOPped replication worker is stalled, not "lag 0"', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let dir: string;
  let configFile: string;
  let env: ResolvedPostgresEnvironment;
  let replicator: PostgresReplicator;
  let writing = true;
  let writer: Promise<void> = Promise.resolve();
  let pid = 0;

  const cli = async (...args: string[]) => runCli([...args, '--config', configFile, '--env', 'lab']);
  const statusJson = async (): Promise<{ code: number; status: ReplicationStatus }> => {
    const r = await cli('replicate', 'status', '--json');
    return { code: r.code, status: JSON.parse(r.stdout) as ReplicationStatus };
  };

  /**
   * A database of its own on both servers (made by `sourceSql` / `targetSql`) and a config file
   * with one environment for it (identity mappings, a state folder of its own).
   */
  const ownDatabase = async (name: string, envName: string, sourceSql: string, targetSql: string, extra: Record<string, unknown> = {}) => {
    await sql(source.url, `create database ${name}`);
    await sql(target.url, `create database ${name}`);
    const other = (url: string) => url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
    await sql(other(source.url), sourceSql);
    await sql(other(target.url), targetSql);
    const raw = {
      environments: {
        [envName]: { platform: 'postgres', source: { url: other(source.url) }, target: { url: other(target.url) }, mappings: { forward: 'forward.json', reverse: 'reverse.json' }, stateDir: `.cutover/${name}`, ...extra },
      },
    };
    const file = path.join(dir, `${name}.config.json`);
    writeFileSync(file, JSON.stringify(raw));
    return { other, file, env: selectEnvironment(parseConfig(raw, file), envName) as ResolvedPostgresEnvironment };
  };

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(target.url, SCHEMA);
    await sql(source.url, "insert into items select g, 'seed' from generate_series(1, 100) g");
    const raw = {
      environments: {
        lab: {
          platform: 'postgres',
          source: { url: source.url },
          target: { url: target.url },
          mappings: { forward: 'forward.json', reverse: 'reverse.json' },
          gates: { maxHeartbeatAgeMs: HEARTBEAT_LIMIT_MS },
        },
      },
    };
    ({ dir, file: configFile } = tempConfig(raw.environments, { mappings: 'identity' }));
    env = selectEnvironment(parseConfig(raw, configFile), 'lab') as ResolvedPostgresEnvironment;
    replicator = new PostgresReplicator(env, 'forward', new RecordingOutput());
  }, 60_000);

  afterAll(async () => {
    writing = false;
    await writer;
    if (pid) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('lag grows and the stream is stalled while frozen; wait fails, then passes after SIGCONT', async () => {
    const started = await replicator.start();
    pid = started.worker!.pid;
    expect(pid).not.toBe(process.pid);
    await until(async () => (await replicator.status()).phase === 'cdc', 30_000, 'CDC');

    // a live write workload: one insert every 20 ms
    const client = await connect(source.url);
    writer = (async () => {
      let id = 1000;
      while (writing) {
        await client.query("insert into items values ($1, 'live')", [id++]);
        await new Promise((r) => setTimeout(r, 20));
      }
      await client.end();
    })();

    // healthy: the heartbeat is measured and the wait passes
    await until(async () => (await replicator.status()).heartbeatAgeMs != null, 20_000, 'a heartbeat to be measured');
    const healthyWait = await cli('replicate', 'wait', '--max-lag-ms', '500', '--timeout-ms', '20000');
    expect(healthyWait.code, healthyWait.stdout + healthyWait.stderr).toBe(0);

    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const early = await replicator.status();
      await new Promise((r) => setTimeout(r, 1000));
      const later = await replicator.status();
      expect(later.lagMs).not.toBeNull();
      expect(later.lagMs!).toBeGreaterThan(early.lagMs ?? 0);
      expect(later.lagBytes!).toBeGreaterThan(0);

      await until(async () => (await replicator.status()).phase === 'stalled', HEARTBEAT_LIMIT_MS + 10_000, 'stalled');
      const { code, status } = await statusJson();
      expect(status.phase).toBe('stalled');
      expect(code).toBe(1);
      expect(status.lagMs!).toBeGreaterThan(HEARTBEAT_LIMIT_MS - 1000);
      expect(status.error).toMatch(/stalled/);
      expect(status.worker?.alive).toBe(true); // the process table says alive; the heartbeat says no

      const frozenWait = await cli('replicate', 'wait', '--max-lag-ms', '500', '--timeout-ms', '5000');
      expect(frozenWait.code).not.toBe(0);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumedWait = await cli('replicate', 'wait', '--max-lag-ms', '500', '--timeout-ms', '30000');
    expect(resumedWait.code, resumedWait.stdout + resumedWait.stderr).toBe(0);
    expect((await statusJson()).code).toBe(0);
  }, 120_000);

  test('starved in its first minute, with the default 30 s stall limit: its frozen "lag 0" does not pass; the lag is measured from the source and grows (issue 18)', async () => {
    const { other, env: starvedEnv } = await ownDatabase('starved', 'starved', SCHEMA, SCHEMA);
    const r = new PostgresReplicator(starvedEnv, 'forward', new RecordingOutput());
    let frozen = 0;
    try {
      frozen = (await r.start()).worker!.pid;
      // streaming (a row went through), then frozen at once: well inside its first 30 s of CDC,
      // when heartbeats were not judged at all and a fresh-enough file's "lag 0" passed
      await sql(other(source.url), "insert into items values (0, 'before the freeze')");
      const tgt = await connect(other(target.url));
      try {
        await until(async () => (await tgt.query('select 1 from items where id = 0')).rowCount === 1, 30_000, 'the first row on the target');
      } finally {
        await tgt.end();
      }
      process.kill(frozen, 'SIGSTOP');
      await sql(other(source.url), "insert into items values (1, 'written while the worker is frozen')");
      // well inside the 30 s stall limit: not stalled yet, but the lag is no longer the frozen 0
      await until(async () => ((await r.status()).lagMs ?? 0) > 1500, 20_000, 'the lag of a frozen worker to grow past 1.5 s');
      const s = await r.status();
      expect(s.phase === 'cdc' || s.phase === 'stalled').toBe(true);
      expect(s.lagBytes!).toBeGreaterThan(0);
    } finally {
      if (frozen) process.kill(frozen, 'SIGCONT');
      await r.stop().catch(() => {});
    }
  }, 90_000);

  test('a worker draining a backlog for longer than the stall limit after a restart is catching up (lag from the old heartbeat), never stalled; the wait passes once it caught up', async () => {
    // the target applies each row in ~3 ms (a trigger that fires for the apply session too), so
    // 2,000 rows take ≥ 6 s to drain: twice the 3 s limit, whatever the machine
    const slowTarget = `${SCHEMA} create function slow() returns trigger language plpgsql as $$ begin perform pg_sleep(0.003); return new; end $$;
       create trigger slow before insert on items for each row execute function slow(); alter table items enable always trigger slow;`;
    const { other, file, env: backlogEnv } = await ownDatabase('backlog', 'backlog', SCHEMA, slowTarget, {
      gates: { maxHeartbeatAgeMs: HEARTBEAT_LIMIT_MS },
      // batches of at most 0.3 s: a single batch longer than the limit is another matter
      replication: { batchSize: 100 },
    });
    const r = new PostgresReplicator(backlogEnv, 'forward', new RecordingOutput());
    try {
      await r.start();
      await until(async () => (await r.status()).heartbeatAgeMs != null, 20_000, 'a heartbeat to be measured');
      await r.stop();
      await sql(other(source.url), "do $$ begin for t in 0..39 loop insert into items select g, 'backlog' from generate_series(t * 50 + 1, t * 50 + 50) g; commit; end loop; end $$");
      // down for longer than the limit: the newest heartbeat on the target is old at the restart,
      // and so is the backlog (its lag is over the wait's 1 s from the start, until it is applied)
      await new Promise((res) => setTimeout(res, HEARTBEAT_LIMIT_MS + 1000));
      await r.start();
      const phases = new Set<string>();
      let oldHeartbeatLag = 0;
      // what an operator runs after the restart (it gave up at once: "stalled … worker is running")
      const wait = runCli(['replicate', 'wait', '--max-lag-ms', '1000', '--timeout-ms', '60000', '--config', file, '--env', 'backlog']);
      let done = false;
      void wait.finally(() => (done = true));
      while (!done) {
        const s = await r.status();
        phases.add(s.phase);
        if (s.phase === 'cdc' && (s.lagMs ?? 0) > HEARTBEAT_LIMIT_MS) oldHeartbeatLag = s.lagMs!;
        await new Promise((res) => setTimeout(res, 100));
      }
      const waited = await wait;
      expect(waited.code, `${waited.stdout}${waited.stderr}; phases seen: ${[...phases].join(', ')}`).toBe(0);
      expect([...phases]).not.toContain('stalled');
      // it was measured as behind by the old heartbeat while it drained, and said so as lag
      expect(oldHeartbeatLag).toBeGreaterThan(HEARTBEAT_LIMIT_MS);
      expect(Number((await sql(other(target.url), 'select count(*)::int as n from items')).rows[0].n)).toBe(2000);
    } finally {
      await r.stop().catch(() => {});
    }
  }, 90_000);

  test('replicate start fails with the worker\'s own error when the worker dies at its start (duplicate key in a non-empty target)', async () => {
    // assess would warn about the non-empty target; the worker itself must not be called healthy
    const { file, env: dupEnv } = await ownDatabase(
      'dupcase',
      'dup',
      `${SCHEMA} insert into items select g, 'src' from generate_series(1, 500) g`,
      `${SCHEMA} insert into items values (7, 'already here')`,
    );
    const out = new RecordingOutput();
    const dupReplicator = new PostgresReplicator(dupEnv, 'forward', out);
    try {
      const failure = await dupReplicator.start().then(
        () => null,
        (err: unknown) => err as CutoverError,
      );
      expect(failure?.code).toBe('PRECONDITION_FAILED');
      expect(failure?.message).toMatch(/failed to start: .*duplicate key/);
      // the table it was loading and PostgreSQL's COPY context, not only the constraint's name
      expect(failure?.message).toMatch(/full load of public\.items -> public\.items stopped: duplicate key value .*\(COPY items, line \d+/);
      expect(out.lines.map((l) => l.message).join('\n')).not.toMatch(/healthy/);
    } finally {
      await dupReplicator.stop().catch(() => {});
    }
    const status = await runCli(['replicate', 'status', '--config', file, '--env', 'dup']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/failed/);
  }, 60_000);
});
