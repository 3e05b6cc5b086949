import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { isConnectionLoss } from '../../lib/replication/replication-worker.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from './_env.ts';

const SCHEMA = 'create table items (id bigint primary key, name text, qty int);';

/**
 * A server restart (fast shutdown, then start) under the detached worker in CDC: the worker
 * reconnects by itself and resumes from its slot; the target ends equal, every change applied
 * once (an insert applied twice would fail on the key, an update twice would show in qty).
 */
describe('replication worker across a server restart', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  const out = new RecordingOutput();

  const writeBurst = async (from: number) => {
    await sql(source.url, `insert into items select g, 'n' || g, 0 from generate_series(${from}, ${from + 199}) g`);
    await sql(source.url, `update items set qty = qty + 1 where id % 7 = 0`);
  };
  const caughtUpAndEqual = async () => {
    expect(await replicator.waitForPosition(await replicator.sourcePosition(), 60_000)).toBe(true);
    expect(await tableDigest(target.url, 'items')).toEqual(await tableDigest(source.url, 'items'));
  };

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(target.url, SCHEMA);
    await sql(source.url, "insert into items select g, 'seed', 0 from generate_series(1, 1000) g");
    replicator = new PostgresReplicator(testEnvironment(source.url, target.url, { batchSize: 50 }), 'forward', out);
    await replicator.start();
    await until(async () => (await replicator.status()).phase === 'cdc', 60_000, 'CDC');
  }, 120_000);
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('the source restarts: the worker reconnects, resumes from its slot, the target ends equal', async () => {
    await writeBurst(10_000);
    const pid = (await replicator.status()).worker!.pid;
    await source.restart(1000);
    await writeBurst(20_000);
    await caughtUpAndEqual();
    const s = await replicator.status();
    expect(s.worker!.pid).toBe(pid); // the same worker reconnected: nobody restarted it
    expect(s.phase).toBe('cdc');
  });

  test('the target restarts: the worker reconnects and applies what it missed, once', async () => {
    const pid = (await replicator.status()).worker!.pid;
    const restarting = target.restart(1000);
    await writeBurst(30_000);
    await restarting;
    await writeBurst(40_000);
    await caughtUpAndEqual();
    expect((await replicator.status()).worker!.pid).toBe(pid);
  });

  test('after the target restarts, lag counts the backlog from its first commit until it is applied: an empty queue before it arrives is not "no lag"', async () => {
    await caughtUpAndEqual();
    const restarting = target.restart(2500);
    // the worker has seen the target go (its heartbeat's apply failed) before the backlog is written
    let seen: Awaited<ReturnType<typeof replicator.status>> | null = null;
    await until(async () => /reconnecting/.test((seen = await replicator.status()).error ?? ''), 20_000, 'the worker to see the target gone');
    // the status says so in a field of its own, from when the connection was lost: gates open on nothing meanwhile
    expect(Date.parse(seen!.reconnectingSince ?? '')).toBeLessThanOrEqual(Date.now());
    await sql(source.url, `insert into items select g, repeat('x', 100), 0 from generate_series(100000, 119999) g`);
    const committed = Date.now();
    await restarting;
    const samples: { lagMs: number | null; atLeastMs: number; phase: string }[] = [];
    for (;;) {
      const s = await replicator.status();
      // the worker's figure is as of its status file's last write (a starved worker writes late)
      const measuredAt = Date.parse(s.worker?.heartbeatAt ?? '') || Date.now();
      // read after the status: missing now means it was missing when the status was measured
      const { rows } = await sql(target.url, 'select count(*)::int as n from items where id between 100000 and 119999');
      if (rows[0].n === 20_000) break;
      samples.push({ lagMs: s.lagMs, atLeastMs: measuredAt - committed, phase: s.phase });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(samples.length).toBeGreaterThan(0);
    // the backlog was committed at `committed` at the latest: until it is applied, lag is at least its age
    const under = samples.filter((x) => x.phase === 'cdc' && (x.lagMs === null || x.lagMs < x.atLeastMs - 100));
    expect(under, JSON.stringify(samples.slice(0, 40))).toEqual([]);
    await caughtUpAndEqual();
    expect((await replicator.status()).reconnectingSince).toBeUndefined();
  });

  test('a connection loss is told apart from a data or setup error', () => {
    expect(isConnectionLoss(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionLoss(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('x'), { cause: Object.assign(new Error('y'), { code: '08006' }) }))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isConnectionLoss(Object.assign(new Error('permission denied'), { code: '42501' }))).toBe(false);
  });
});
