import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { processAlive } from '../../lib/replication/status-file.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from './_env.ts';

const SCHEMA = 'create table items (id bigint primary key, name text, qty int, doc jsonb);';

/** kill -9 of the detached worker, then `start` again: the target ends equal, nothing loaded twice. */
describe('PostgresReplicator detached worker survives kill -9', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  let env: ReturnType<typeof testEnvironment>;
  const out = new RecordingOutput();

  const killWorker = async () => {
    const pid = (await replicator.status()).worker!.pid;
    expect(pid).not.toBe(process.pid);
    process.kill(pid, 'SIGKILL');
    await until(async () => !processAlive(pid), 5000, 'the worker to die');
  };
  const caughtUpAndEqual = async () => {
    expect(await replicator.waitForPosition(await replicator.sourcePosition(), 20_000)).toBe(true);
    expect(await tableDigest(target.url, 'items')).toEqual(await tableDigest(source.url, 'items'));
  };

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(target.url, SCHEMA);
    await sql(source.url, "insert into items select g, 'item ' || g, g % 100, jsonb_build_object('g', g) from generate_series(1, 40000) g");
    env = testEnvironment(source.url, target.url, { chunkRows: 1000, parallelTables: 1, batchSize: 100 });
    replicator = new PostgresReplicator(env, 'forward', out);
  });
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('kill -9 during full load resumes from the last completed chunk, without duplicates or gaps', async () => {
    // Each chunk's load waits 100 ms on the target, so the kill lands mid-way however fast the
    // load is (it finished all 40 chunks before the kill once the apply got faster).
    await sql(
      target.url,
      `create function slow_chunk() returns trigger language plpgsql as $$ begin perform pg_sleep(0.1); return null; end $$;
       create trigger slow_chunk after insert on items for each statement execute function slow_chunk();
       alter table items enable always trigger slow_chunk;`,
    );
    const first = await replicator.start();
    expect(first.worker?.pid).not.toBe(process.pid);
    // started as plain node on the cached bundle of worker-main.ts, not through tsx (worker-bundle.ts)
    expect(readFileSync(streamNames(env, 'forward').logFile, 'utf8')).toMatch(/starting the worker: node node_modules\/\.cache\/cutover-kit\/workers\/worker-main-\w+-\w+\.mjs/);
    await until(
      async () => Number((await sql(target.url, 'select count(*) filter (where done) as n from _cutover.load_chunk')).rows[0].n) >= 10,
      20_000,
      'ten chunks',
    );
    await killWorker();
    const before = await sql(target.url, 'select chunk, loaded_at from _cutover.load_chunk where done order by chunk');
    expect(before.rows.length).toBeLessThan(40); // killed mid-way
    expect((await replicator.status()).phase).toBe('failed');
    // writes while the worker is down (CDC picks them up from the slot)
    await sql(source.url, "update items set qty = -1 where id % 1000 = 7; delete from items where id % 1000 = 8; insert into items values (200001, 'new', 1, null)");
    await sql(target.url, 'drop trigger slow_chunk on items; drop function slow_chunk()');
    await replicator.start();
    await until(async () => (await replicator.status()).phase === 'cdc', 30_000, 'CDC');
    const after = await sql(target.url, 'select chunk, loaded_at, rows from _cutover.load_chunk order by chunk');
    for (const row of before.rows) {
      // finished chunks were not loaded again
      expect(after.rows.find((r) => r.chunk === row.chunk)!.loaded_at).toEqual(row.loaded_at);
    }
    expect(after.rows.every((r) => r.loaded_at !== null)).toBe(true);
    await caughtUpAndEqual();
  });

  test('kill -9 during CDC apply ends equal', async () => {
    const client = await connect(source.url);
    try {
      for (let i = 0; i < 8; i++) {
        await client.query(`insert into items select g, 'cdc', ${i}, null from generate_series(${300000 + i * 500}, ${300000 + i * 500 + 499}) g`);
        await client.query(`update items set qty = qty + 1, name = 'u${i}' where id % 97 = ${i}`);
        await client.query(`update items set id = id + 1000000 where id % 89 = ${i} and id < 1000000`);
      }
    } finally {
      await client.end();
    }
    // the worker is applying that backlog in batches of 100 changes: kill it mid-way
    await until(async () => (await sql(target.url, "select count(*)::int as n from items where name = 'cdc' or name like 'u%'")).rows[0].n > 0, 20_000, 'apply to begin');
    await killWorker();
    await replicator.start();
    await caughtUpAndEqual();
    expect((await replicator.status()).deadLetters).toBe(0);
  });

  test('kill -9 inside the commit of a group of source transactions: the group applies again, each transaction exactly once', async () => {
    // On the target (ALWAYS: apply sessions run as replica): every applied row is logged with its
    // target transaction; a deferred trigger holds the commit of the group that carries row 150,
    // and notes how many rows that group wrote (in a sequence: it outlives the rollback).
    await sql(
      target.url,
      `create table apply_audit (id bigint, op text, xid bigint);
       create function audit_apply() returns trigger language plpgsql as $$
         begin insert into apply_audit values (new.id, tg_op, txid_current()); return null; end $$;
       create trigger audit_apply after insert or update on items for each row execute function audit_apply();
       alter table items enable always trigger audit_apply;
       create sequence held_group_rows;
       create function hold_commit() returns trigger language plpgsql as $$
         begin
           if new.id = 600150 then
             perform setval('held_group_rows', pg_stat_get_xact_tuples_inserted('items'::regclass));
             perform pg_sleep(120);
           end if;
           return null;
         end $$;
       create constraint trigger hold_commit after insert on items deferrable initially deferred for each row execute function hold_commit();
       alter table items enable always trigger hold_commit;`,
    );
    await replicator.stop();
    // a backlog of single-row transactions, as an OLTP source commits them
    const client = await connect(source.url);
    try {
      for (let i = 1; i <= 300; i++) await client.query("insert into items values ($1, 'grouped', $2, null)", [600000 + i, i]);
    } finally {
      await client.end();
    }
    await replicator.start();
    const held = "select count(*)::int as n from pg_stat_activity where application_name like 'cutover-apply%' and wait_event = 'PgSleep'";
    await until(async () => (await sql(target.url, held)).rows[0].n === 1, 30_000, 'the grouped commit to be held');
    // that commit is writing several source transactions' rows and the group's checkpoint
    expect(Number((await sql(target.url, 'select last_value from held_group_rows')).rows[0].last_value)).toBeGreaterThan(1);
    await killWorker();
    // the crash takes the worker's connection along: the held commit never completes
    await sql(target.url, "select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'cutover-apply%'");
    await sql(target.url, 'drop trigger hold_commit on items');
    expect((await sql(target.url, 'select count(*)::int as n from items where id = 600150')).rows[0].n).toBe(0);
    await replicator.start();
    await caughtUpAndEqual();
    const audit = await sql(
      target.url,
      "select count(*)::int as rows, count(distinct id)::int as ids, count(*) filter (where op <> 'INSERT')::int as updates, count(distinct xid)::int as txns from apply_audit where id > 600000",
    );
    // nothing lost (equal above), nothing applied twice (one INSERT per row, no upsert of a row already there)
    expect(audit.rows[0]).toMatchObject({ rows: 300, ids: 300, updates: 0 });
    expect(audit.rows[0].txns).toBeLessThan(300); // grouped, not one target transaction per source transaction
    expect((await replicator.status()).deadLetters).toBe(0);
  });

  test('stop ends the worker and teardown drops slot and publication (twice is fine)', async () => {
    await replicator.stop();
    expect((await replicator.status()).phase).toBe('stopped');
    await replicator.teardown();
    await replicator.teardown();
    expect((await sql(source.url, 'select count(*)::int as n from pg_replication_slots')).rows[0].n).toBe(0);
    expect((await sql(source.url, 'select count(*)::int as n from pg_publication')).rows[0].n).toBe(0);
  });
});
