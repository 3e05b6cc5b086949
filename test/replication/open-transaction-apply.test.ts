import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatReplication } from '../../lib/cli/commands/replicate.ts';
import { readChangedKeys } from '../../lib/diff/changed-rows.ts';
import { queryText } from '../../lib/diff/comparison-pool.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { compareLsn } from '../../lib/replication/lsn.ts';
import { processAlive } from '../../lib/replication/status-file.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from './_env.ts';

const SCHEMA = 'create table items (id bigint primary key, name text, qty int);';
/** batchSize 100: a source transaction of more than 500 changes is applied while it arrives, in parts of 500. */
const BATCH = 100;

/**
 * A source transaction larger than five batches is applied while it arrives
 * (open-transaction-apply.ts): in one target transaction, committed with its position at its
 * source commit. Detached worker, as a user runs it (kill -9 must hit a real process).
 */
describe('a large source transaction applied while it arrives', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  let env: ReturnType<typeof testEnvironment>;
  const out = new RecordingOutput();
  const caughtUp = async () => expect(await replicator.waitForPosition(await replicator.sourcePosition(), 30_000)).toBe(true);

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    // the target refuses what the source allows: such rows must become dead letters with the reason
    await sql(target.url, `${SCHEMA} alter table items add constraint qty_not_negative check (qty >= 0);`);
    await sql(source.url, "insert into items select g, 'item ' || g, g % 100 from generate_series(1, 1000) g");
    // every row the apply writes, with its target transaction (ALWAYS: apply sessions run as replica);
    // a row written by a transaction that rolled back leaves no audit row either
    await sql(
      target.url,
      `create table apply_audit (id bigint, op text, xid bigint);
       create function audit_apply() returns trigger language plpgsql as $$
         begin insert into apply_audit values (coalesce(new.id, old.id), tg_op, txid_current()); return null; end $$;
       create trigger audit_apply after insert or update or delete on items for each row execute function audit_apply();
       alter table items enable always trigger audit_apply;`,
    );
    env = testEnvironment(source.url, target.url, { chunkRows: 1000, parallelTables: 1, batchSize: BATCH });
    replicator = new PostgresReplicator(env, 'forward', out);
    await replicator.start();
    await until(async () => (await replicator.status()).phase === 'cdc', 30_000, 'CDC');
    await caughtUp();
  }, 90_000);
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('applies it in one target transaction in source commit order, dead-letters the rows the target rejects, records each key\'s last change; a rolled-back one never arrives', async () => {
    await sql(target.url, 'truncate apply_audit'); // the full load's rows
    const c = await connect(source.url);
    try {
      await c.query("update items set name = 'before' where id <= 10");
      // 3,100 changes: parts of 500, keys that change again in a later part of the same transaction
      await c.query('begin');
      await c.query('delete from items where id between 901 and 950');
      await c.query("insert into items select g, 'big ' || g, case when g % 500 = 0 then -1 else g % 7 end from generate_series(10001, 12000) g");
      await c.query("update items set name = 'big' where id <= 1000 and id not between 901 and 950");
      await c.query("insert into items select g, 'back', 1 from generate_series(901, 950) g");
      await c.query('delete from items where id between 10001 and 10050');
      await c.query('commit');
      // never committed: pgoutput (no streaming) never sends it
      await c.query('begin');
      await c.query("insert into items select g, 'rolled back', 1 from generate_series(50001, 53000) g");
      await c.query('rollback');
      await c.query("update items set name = 'after' where id in (1, 905, 10060)");
    } finally {
      await c.end();
    }
    await caughtUp();
    // equal but for the four rows the target's check refused
    const refused = 'where not (id between 10051 and 12000 and id % 500 = 0)';
    const digest = `select count(*)::int as rows, md5(string_agg(t::text, '|' order by id)) as md5 from items t ${refused}`;
    expect((await sql(target.url, digest)).rows[0]).toEqual((await sql(source.url, digest)).rows[0]);
    expect((await sql(target.url, 'select count(*)::int as n from items where id > 50000 or (id between 10051 and 12000 and id % 500 = 0)')).rows[0].n).toBe(0);
    const letters = await sql(target.url, "select source_key->>'id' as id, error from _cutover.dead_letter order by 1");
    expect(letters.rows.map((r) => r.id)).toEqual(['10500', '11000', '11500', '12000']);
    for (const r of letters.rows) expect(r.error).toMatch(/qty_not_negative/);
    expect((await replicator.status()).deadLetters).toBe(4);
    // one target transaction for the whole source transaction, neither the one before nor after it
    const xids = await sql(
      target.url,
      `select count(distinct xid) filter (where (id between 10001 and 12000 or id between 901 and 950) and op <> 'UPDATE')::int as big,
              min(xid) filter (where id = 11999) as big_xid,
              max(xid) filter (where id = 5 and op = 'UPDATE') as after_big_update,
              min(xid) filter (where id = 10060 and op = 'UPDATE') as after_xid
         from apply_audit`,
    );
    expect(xids.rows[0].big).toBe(1);
    expect(xids.rows[0].after_big_update).toBe(xids.rows[0].big_xid);
    expect(xids.rows[0].after_xid).not.toBe(xids.rows[0].big_xid);
    // the frozen check's record: each key's last change, across the parts of one commit position
    const reader = await connect(target.url);
    const keys = await readChangedKeys((q, p = []) => queryText(reader, q, [...p]), [streamNames(env, 'forward').slot], '0/0').finally(() => reader.end());
    const changed = keys.get('public.items')!;
    const present = new Map(changed.keys.map((k) => [k.key.join(), k.present]));
    for (let id = 901; id <= 950; id++) expect(present.get(String(id)), `key ${id}: deleted, then inserted again in a later part`).toBe(true);
    for (let id = 10001; id <= 10050; id++) expect(present.get(String(id)), `key ${id}: inserted, then deleted in a later part`).toBe(false);
    expect(present.get('11999')).toBe(true);
    expect((await replicator.status()).openTransaction).toBeUndefined();
  }, 120_000);

  test('kill -9 while its target transaction is open (parts applied): the restart applies it again, nothing lost, nothing twice', async () => {
    // the part holding row 21400 (the third of 2,000 inserts in parts of 500) waits on the target
    await sql(
      target.url,
      `create function hold_part() returns trigger language plpgsql as $$
         begin if new.id = 21400 then perform pg_sleep(120); end if; return null; end $$;
       create trigger hold_part after insert on items for each row execute function hold_part();
       alter table items enable always trigger hold_part;`,
    );
    await sql(source.url, "insert into items select g, 'killed mid-way', g % 5 from generate_series(20001, 22000) g");
    await sql(source.url, "update items set name = 'after the kill' where id in (2, 20002)");
    const held = "select count(*)::int as n from pg_stat_activity where application_name like 'cutover-apply%' and wait_event = 'PgSleep'";
    await until(async () => (await sql(target.url, held)).rows[0].n === 1, 30_000, 'the third part to be held');
    // `replicate status` shows the open transaction's progress; nothing of it is committed
    await until(
      async () => {
        const open = (await replicator.status()).openTransaction;
        return (open?.changesApplied ?? 0) >= 1000 && open?.commitReceived === true;
      },
      15_000,
      'status to show the parts applied',
    );
    const status = await replicator.status();
    expect(status.openTransaction).toMatchObject({ changesApplied: 1000, changesReceived: 2000, commitReceived: true });
    expect(formatReplication(status)).toMatch(/applying a large source transaction \(commit [0-9A-F]+\/[0-9A-F]+\) as it arrives: 1000 of 2000 changes received \(all\) applied/);
    expect((await sql(target.url, 'select count(*)::int as n from items where id between 20001 and 22000')).rows[0].n).toBe(0);
    // the position stays before it (heartbeats committed before it may still land: it was
    // compared with the position read before the insert, and a heartbeat in between moved it)
    const applied = (await sql(target.url, 'select applied_lsn::text as lsn from _cutover.apply_state')).rows[0].lsn as string;
    expect(compareLsn(applied, status.openTransaction!.commitLsn)).toBeLessThan(0);
    const pid = status.worker!.pid;
    process.kill(pid, 'SIGKILL');
    await until(async () => !processAlive(pid), 10_000, 'the worker to die');
    // the held statement outlives its client until terminated; its transaction then rolls back
    await sql(target.url, "select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'cutover-apply%'");
    await until(async () => (await sql(target.url, held)).rows[0].n === 0, 10_000, 'the held backend to end');
    await sql(target.url, 'drop trigger hold_part on items');
    await replicator.start();
    await caughtUp();
    const digest = 'select count(*)::int as rows, md5(string_agg(t::text, \'|\' order by id)) as md5 from items t where id between 20001 and 22000 or id = 2';
    expect((await sql(target.url, digest)).rows[0]).toEqual((await sql(source.url, digest)).rows[0]);
    const audit = await sql(
      target.url,
      `select count(*) filter (where op = 'INSERT')::int as inserts, count(distinct id) filter (where op = 'INSERT')::int as ids,
              count(*) filter (where op <> 'INSERT' and id <> 20002)::int as others, count(*) filter (where op = 'UPDATE' and id = 20002)::int as after
         from apply_audit where id between 20001 and 22000`,
    );
    // each row inserted once by a committed transaction: none applied twice (no upsert over a row already there)
    expect(audit.rows[0]).toEqual({ inserts: 2000, ids: 2000, others: 0, after: 1 });
    expect((await tableDigest(target.url, 'items')).rows).toBe((await tableDigest(source.url, 'items')).rows - 4);
  }, 150_000);
});
