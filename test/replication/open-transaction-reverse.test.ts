import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { processAlive } from '../../lib/replication/status-file.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, testEnvironment, until } from './_env.ts';

const SCHEMA = 'create table items (id bigint primary key, name text, doc jsonb);';
/** batchSize 100: a source transaction of more than 500 changes is applied while it arrives, in parts of 500. */
const BATCH = 100;
/** An advisory lock the test holds: the apply session waits on it at the row the trigger names (held_row). */
const LOCK = 4242;
/** ~60 kB of jsonb per row (repeated md5 text: stored compressed, sent whole by pgoutput). */
const WIDE_DOC = "jsonb_build_object('id', g, 'body', repeat(md5(g::text), 1900))";

/**
 * After the write switch the same worker runs green → blue (direction 'reverse'): a large
 * source transaction on green takes the path a forward one takes (open-transaction-apply.ts):
 * applied while it arrives, in one transaction on blue, exactly once — also when it is large
 * in bytes only (wide rows, far fewer changes than 5 × batchSize), and across a kill -9 of the
 * worker while its target transaction is open. Detached worker, as a user runs it.
 */
describe('reverse replication: a large source transaction on green', () => {
  let blue: Awaited<ReturnType<typeof startTestPostgres>>;
  let green: Awaited<ReturnType<typeof startTestPostgres>>;
  let reverse: PostgresReplicator;
  let holder: pg.Client;
  const out = new RecordingOutput();
  const caughtUp = async () => expect(await reverse.waitForPosition(await reverse.sourcePosition(), 60_000)).toBe(true);
  const waiting = "select count(*)::int as n from pg_stat_activity where application_name like 'cutover-apply%' and wait_event_type = 'Lock' and wait_event = 'advisory'";
  /** Blue's apply session waits at `id` (the test holds LOCK) until released. */
  const holdAt = async (id: number) => {
    await sql(blue.url, `update held_row set id = ${id}`);
    await holder.query('select pg_advisory_lock($1)', [LOCK]);
  };
  const digest = (where: string) => `select count(*)::int as rows, md5(string_agg(t::text, '|' order by id)) as md5 from items t where ${where}`;
  /** Per id in the range: inserts on blue by committed transactions, and the distinct transactions that made them. */
  const audit = async (from: number, to: number) =>
    (
      await sql(
        blue.url,
        `select count(*)::int as inserts, count(distinct id)::int as ids, count(distinct xid)::int as xids from apply_audit where op = 'INSERT' and id between ${from} and ${to}`,
      )
    ).rows[0];

  beforeAll(async () => {
    [blue, green] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await Promise.all([sql(blue.url, SCHEMA), sql(green.url, SCHEMA)]);
    // every row the apply writes on blue, with its transaction (ALWAYS: apply sessions run as replica);
    // and a row at which the apply session waits for the test's advisory lock
    await sql(
      blue.url,
      `create table apply_audit (id bigint, op text, xid bigint);
       create table held_row (id bigint); insert into held_row values (0);
       create function audit_apply() returns trigger language plpgsql as $$
         begin
           insert into apply_audit values (coalesce(new.id, old.id), tg_op, txid_current());
           if new.id = (select id from held_row) then perform pg_advisory_lock_shared(${LOCK}); perform pg_advisory_unlock_shared(${LOCK}); end if;
           return null;
         end $$;
       create trigger audit_apply after insert or update or delete on items for each row execute function audit_apply();
       alter table items enable always trigger audit_apply;`,
    );
    holder = await connect(blue.url);
    const env = testEnvironment(blue.url, green.url, { batchSize: BATCH });
    reverse = new PostgresReplicator(env, 'reverse', out);
    await reverse.start({ fromPosition: await reverse.sourcePosition() });
    await until(async () => (await reverse.status()).phase === 'cdc', 30_000, 'CDC');
  }, 90_000);
  afterAll(async () => {
    await holder?.end().catch(() => {});
    await reverse?.stop().catch(() => {});
    await Promise.all([blue?.dispose(), green?.dispose()]);
  });

  test('one of 2,000 changes is applied in parts while it arrives, in one blue transaction, whole and exactly once', async () => {
    // the part holding row 1400 (the third of four) waits on blue
    await holdAt(1400);
    await sql(green.url, "insert into items select g, 'green ' || g, null from generate_series(1, 2000) g");
    await sql(green.url, "update items set name = 'after' where id = 7");
    await until(async () => (await sql(blue.url, waiting)).rows[0].n === 1, 30_000, 'the third part to wait on blue');
    // parts applied before the commit: two parts in blue's open transaction, none of it visible
    await until(async () => ((await reverse.status()).openTransaction?.changesApplied ?? 0) >= 1000, 15_000, 'status to show the parts applied');
    expect((await reverse.status()).openTransaction).toMatchObject({ changesApplied: 1000, changesReceived: 2000, commitReceived: true });
    expect((await sql(blue.url, 'select count(*)::int as n from items')).rows[0].n).toBe(0);
    await holder.query('select pg_advisory_unlock($1)', [LOCK]);
    await caughtUp();
    expect((await sql(blue.url, digest('true'))).rows[0]).toEqual((await sql(green.url, digest('true'))).rows[0]);
    expect(await audit(1, 2000)).toEqual({ inserts: 2000, ids: 2000, xids: 1 });
    expect((await reverse.status()).openTransaction).toBeUndefined();
  }, 120_000);

  test('wide rows: 200 changes of 60 kB (more bytes than a part holds) go the same way; kill -9 while blue\'s transaction is open, the restart applies it whole, nothing twice', async () => {
    await sql(blue.url, 'truncate apply_audit');
    // 200 changes, far below 5 × batchSize: a part closes at its bytes (~8 MB: ~135 of these rows)
    await holdAt(10_190);
    await sql(green.url, `insert into items select g, 'wide ' || g, ${WIDE_DOC} from generate_series(10001, 10200) g`);
    await sql(green.url, "update items set name = 'after the kill' where id in (8, 10002)");
    await until(async () => (await sql(blue.url, waiting)).rows[0].n === 1, 30_000, 'the second part to wait on blue');
    await until(async () => ((await reverse.status()).openTransaction?.changesApplied ?? 0) > 0, 15_000, 'status to show the first part applied');
    const open = (await reverse.status()).openTransaction!;
    expect(open.changesReceived).toBe(200);
    expect(open.changesApplied).toBeGreaterThan(0);
    expect(open.changesApplied).toBeLessThan(200);
    expect((await sql(blue.url, 'select count(*)::int as n from items where id > 10000')).rows[0].n).toBe(0);
    const pid = (await reverse.status()).worker!.pid;
    process.kill(pid, 'SIGKILL');
    await until(async () => !processAlive(pid), 10_000, 'the worker to die');
    // the waiting statement outlives its client until terminated; its transaction then rolls back
    await sql(blue.url, "select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'cutover-apply%'");
    await until(async () => (await sql(blue.url, waiting)).rows[0].n === 0, 10_000, 'the waiting backend to end');
    await holder.query('select pg_advisory_unlock($1)', [LOCK]);
    await reverse.start();
    await caughtUp();
    expect((await sql(blue.url, digest('id > 10000 or id = 8'))).rows[0]).toEqual((await sql(green.url, digest('id > 10000 or id = 8'))).rows[0]);
    // each row inserted once, by one committed transaction: none applied twice
    expect(await audit(10001, 10200)).toEqual({ inserts: 200, ids: 200, xids: 1 });
    expect((await sql(blue.url, "select count(*)::int as n from apply_audit where op = 'UPDATE' and id = 10002")).rows[0].n).toBe(1);
  }, 150_000);
});
