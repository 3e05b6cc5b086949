import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { formatReplication } from '../../lib/cli/commands/replicate.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from './_env.ts';

const SCHEMA = `
  create table items (id bigint primary key, name text, price numeric(14,4), at timestamptz, doc jsonb, bin bytea, big text, note text);
  create table tags (a int, b text, v text, primary key (a, b));`;

const ROWS = `
  insert into items
  select g, case when g % 7 = 0 then null else '商品 ' || g || ' 中文' end, (g * 1.2345)::numeric(14,4),
         '2024-01-01 00:00:00.123456+00'::timestamptz + g * interval '1 minute 1.000001 second',
         jsonb_build_object('g', g, 'name', '名字', 'tags', jsonb_build_array(g, null)),
         decode(md5(g::text), 'hex'), null, case when g % 3 = 0 then null else 'n' end
  from generate_series($1::int, $2::int) g`;

describe('PostgresReplicator (forward, in-process worker)', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  const out = new RecordingOutput();

  const caughtUp = async () => {
    expect(await replicator.waitForPosition(await replicator.sourcePosition(), 15_000)).toBe(true);
  };
  const expectEqual = async () => {
    for (const [t, k] of [
      ['items', 'id'],
      ['tags', 'a, b'],
    ] as const) {
      expect(await tableDigest(target.url, t, k)).toEqual(await tableDigest(source.url, t, k));
    }
  };

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(target.url, SCHEMA + 'alter table items add constraint price_not_negative check (price >= 0);');
    await sql(source.url, ROWS, [1, 5000]);
    await sql(source.url, "insert into tags select g % 50, 'b' || g, 'v' from generate_series(1, 500) g on conflict do nothing");
    const env = testEnvironment(source.url, target.url, { chunkRows: 1000, parallelTables: 2, batchSize: 200 });
    replicator = new PostgresReplicator(env, 'forward', out);
  });
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('full load then CDC leaves the target equal, types intact', async () => {
    const started = await replicator.start({ foreground: true });
    expect(['full-load', 'cdc']).toContain(started.phase);
    await sql(source.url, ROWS, [5001, 5100]);
    await sql(source.url, "update items set name = name || ' ✓', doc = doc || '{\"u\": 1}' where id % 10 = 1");
    await sql(source.url, 'delete from items where id % 13 = 0');
    await sql(source.url, "update tags set v = 'w' where a = 3");
    await caughtUp();
    await expectEqual();
    const status = await replicator.status();
    expect(status.phase).toBe('cdc');
    expect(status.tables.find((t) => t.source === 'public.items')).toMatchObject({ target: 'public.items', rows: 5000, totalRows: 5000 });
    expect(status.lagBytes).toBeLessThan(64 * 1024); // WAL written after the wait (checkpoints, this query's neighbours)
    const { rows } = await sql(target.url, 'select at::text, price::text, bin from items where id = 2');
    expect(rows[0].at).toBe('2024-01-01 00:02:02.123458+00');
    expect(rows[0].price).toBe('2.4690');
  });

  test('a burst of new rows goes to COPY as the source sent it: tabs, newlines, backslashes, NULLs and Chinese intact, also from a relation that gained a column mid-transaction', async () => {
    // one source transaction of 300 inserts (one COPY): the second half after an ALTER, whose
    // Relation message lists a column the mapping does not have
    await sql(
      source.url,
      `begin;
       insert into items (id, name, note, bin) select g, E'a\\t' || g || E'\\n商品\\r', case when g % 2 = 0 then null else E'back\\\\slash' end, '\\x00ff'::bytea
         from generate_series(20001, 20150) g;
       alter table items add column extra text default 'not mapped';
       insert into items (id, name, note) select g, E'tab\\there', '' from generate_series(20151, 20300) g;
       commit`,
    );
    await caughtUp();
    // the new column's values are not replicated (the mapping has no place for them): said, not silent
    const status = await replicator.status();
    expect(status.phase).toBe('cdc');
    expect(status.unreplicatedColumns).toEqual(['public.items.extra']);
    expect(formatReplication(status)).toContain('WARNING: source column(s) added during replication, NOT replicated: public.items.extra');
    await sql(source.url, 'alter table items drop column extra');
    await expectEqual();
    const { rows } = await sql(target.url, 'select name, note, bin from items where id in (20001, 20002, 20151) order by id');
    expect(rows).toEqual([
      { name: 'a\t20001\n商品\r', note: 'back\\slash', bin: Buffer.from([0, 255]) },
      { name: 'a\t20002\n商品\r', note: null, bin: Buffer.from([0, 255]) },
      { name: 'tab\there', note: '', bin: null },
    ]);
  });

  test('on an idle source the heartbeat still reaches the target (pgoutput messages are on from PostgreSQL 14)', async () => {
    // from 15 pgoutput drops a transaction with nothing to send: without `messages 'true'` the
    // heartbeat's transaction never arrives and an idle, healthy stream looked stalled after 30 s
    const walsender = await sql(source.url, "select query from pg_stat_activity where backend_type = 'walsender'");
    expect(walsender.rows.map((r) => r.query)).toEqual([expect.stringContaining("messages 'true'")]);
    const appliedAt = async () => (await sql(target.url, 'select source_commit_at from _cutover.apply_state')).rows[0].source_commit_at as Date;
    await caughtUp();
    const before = await appliedAt();
    // no writes: only heartbeats (one a second) can move it; polled, not slept for 2.5 s
    await until(async () => (await appliedAt()).getTime() > before.getTime(), 15_000, 'a heartbeat to reach the target');
    expect((await appliedAt()).getTime()).toBeGreaterThan(before.getTime());
  });

  test('primary-key updates move rows (single and composite keys)', async () => {
    await sql(source.url, 'update items set id = id + 100000 where id between 100 and 120');
    await sql(source.url, "update tags set b = b || 'x' where a = 4");
    await caughtUp();
    await expectEqual();
    expect((await sql(target.url, 'select count(*)::int as n from items where id between 100 and 120')).rows[0].n).toBe(0);
  });

  test('an UPDATE that leaves a TOAST-ed value unchanged keeps it on the target', async () => {
    await sql(source.url, "update items set big = (select string_agg(md5(random()::text), '') from generate_series(1, 4000)) where id in (1, 2)");
    await caughtUp();
    await sql(source.url, "update items set note = 'touched' where id in (1, 2)");
    await caughtUp();
    const { rows } = await sql(target.url, 'select id, length(big) as len, note from items where id in (1, 2) order by id');
    expect(rows).toEqual([
      { id: '1', len: 128_000, note: 'touched' },
      { id: '2', len: 128_000, note: 'touched' },
    ]);
    await expectEqual();
  });

  test('a row the target rejects goes to the dead-letter table and replication continues', async () => {
    await sql(source.url, "insert into items (id, name, price) values (900001, 'negative', -5)");
    await sql(source.url, "insert into items (id, name, price) values (900002, 'fine', 5)");
    await caughtUp();
    const dl = await sql(target.url, 'select source_table, source_key, error, change from _cutover.dead_letter');
    expect(dl.rows).toHaveLength(1);
    expect(dl.rows[0]).toMatchObject({ source_table: 'public.items', source_key: { id: '900001' } });
    expect(dl.rows[0].error).toMatch(/price_not_negative/);
    // the change as the source sent it, parsed (an insert is kept as bytes until then)
    expect(dl.rows[0].change).toMatchObject({ kind: 'insert', schema: 'public', table: 'items', newRow: { id: '900001', name: 'negative', price: '-5.0000', note: null } });
    expect((await sql(target.url, 'select name from items where id = 900002')).rows).toEqual([{ name: 'fine' }]);
    expect((await replicator.status()).deadLetters).toBe(1);
    await sql(source.url, 'delete from items where id = 900001');
    await caughtUp();
  });

  test('an insert whose key the target already has overwrites it, a rejected row in the same batch is a dead letter, later batches apply', async () => {
    await sql(target.url, "insert into items (id, name, price) values (910001, 'stale', 1)");
    // one source transaction: a key the target has (COPY fails), then a row the target rejects (the upsert retry fails)
    await sql(source.url, "insert into items (id, name, price) select g, 'fresh', case when g = 910005 then -1 else 2 end from generate_series(910000, 910009) g");
    await caughtUp();
    expect((await sql(target.url, "select count(*)::int as n from items where id between 910000 and 910009 and name = 'fresh'")).rows[0].n).toBe(9);
    expect((await sql(target.url, 'select source_key from _cutover.dead_letter order by id')).rows.map((r) => r.source_key)).toEqual([{ id: '900001' }, { id: '910005' }]);
    await sql(source.url, 'delete from items where id between 910000 and 910009');
    await sql(source.url, "insert into items (id, name, price) values (910100, 'after', 3)");
    await caughtUp();
    expect((await sql(target.url, 'select name from items where id = 910100')).rows).toEqual([{ name: 'after' }]);
    await sql(source.url, 'delete from items where id = 910100');
    await caughtUp();
    await expectEqual();
  });

  test('single-row source transactions applied in groups: a row the target rejects is the only dead letter, the others apply once', async () => {
    await replicator.stop();
    // every applied row logged with its target transaction (ALWAYS: apply sessions run as replica)
    await sql(
      target.url,
      `create table apply_audit (id bigint, xid bigint);
       create function audit_apply() returns trigger language plpgsql as $$
         begin insert into apply_audit values (new.id, txid_current()); return null; end $$;
       create trigger audit_apply after insert or update on items for each row execute function audit_apply();
       alter table items enable always trigger audit_apply;`,
    );
    const client = await connect(source.url);
    try {
      // a backlog: 60 transactions of one row each, the 38th one the target's check rejects
      for (let i = 0; i < 60; i++) await client.query("insert into items (id, name, price) values ($1, 'single', $2)", [920000 + i, i === 37 ? -1 : i]);
    } finally {
      await client.end();
    }
    await replicator.start({ foreground: true });
    await caughtUp();
    const dl = await sql(target.url, "select source_key, error from _cutover.dead_letter where source_key->>'id' like '9200%'");
    expect(dl.rows).toHaveLength(1);
    expect(dl.rows[0].source_key).toEqual({ id: '920037' });
    expect(dl.rows[0].error).toMatch(/price_not_negative/);
    const audit = await sql(target.url, 'select count(*)::int as rows, count(distinct id)::int as ids, count(distinct xid)::int as txns from apply_audit where id between 920000 and 920059');
    expect(audit.rows[0]).toMatchObject({ rows: 59, ids: 59 });
    expect(audit.rows[0].txns).toBeLessThan(59); // grouped, not one target transaction per source transaction
    await sql(target.url, 'drop trigger audit_apply on items');
    await sql(source.url, 'delete from items where id between 920000 and 920059');
    await caughtUp();
  });

  test('a randomized insert/update/delete workload with key updates ends equal', async () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const statements: string[] = [];
    for (let i = 0; i < 600; i++) {
      const id = 1 + rnd(6000);
      switch (rnd(5)) {
        case 0:
          statements.push(`insert into items (id, name, price, doc) values (${200000 + i}, 'r${i}', ${rnd(1000)}.5, '{"i": ${i}}') on conflict do nothing`);
          break;
        case 1:
          statements.push(`update items set price = ${rnd(100)}.25, note = null where id = ${id}`);
          break;
        case 2:
          statements.push(`delete from items where id = ${id}`);
          break;
        case 3:
          statements.push(`update items set id = ${300000 + i} where id = ${id}`);
          break;
        default:
          statements.push(`begin; update items set name = '批量 ${i}' where id = ${id}; update tags set v = '${i}' where a = ${rnd(50)}; commit`);
      }
    }
    const client = await connect(source.url);
    try {
      for (const s of statements) await client.query(s);
    } finally {
      await client.end();
    }
    await caughtUp();
    await expectEqual();
  });

  test('fails if a wave name is unknown', async () => {
    await expect(replicator.start({ wave: 'nope' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
