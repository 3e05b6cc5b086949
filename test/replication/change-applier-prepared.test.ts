import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentOutput } from '../../lib/output/output.ts';
import { mappingEngine, resolveMappedTables } from '../../lib/mappings/mapped-tables.ts';
import { ChangeApplier, type ApplyTable } from '../../lib/replication/change-applier.ts';
import type { SourceChange, SourceTransaction } from '../../lib/replication/change-stream.ts';
import { ensureControlSchema } from '../../lib/replication/control-schema.ts';
import { readChangedKeys } from '../../lib/diff/changed-rows.ts';
import { queryText } from '../../lib/diff/comparison-pool.ts';
import { RECORDED_KEYS } from '../_helpers/changed-keys.ts';
import { compareLsn } from '../../lib/replication/lsn.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, testEnvironment } from './_env.ts';

/**
 * Small batches (a trickle of single-row transactions) go as named prepared statements sent in
 * pipeline mode; they must apply exactly what the SQL-text path applies, fall back the same way
 * (a plain insert meeting an existing row, a row the target rejects), and leave the session usable
 * for the COPY path of large batches. One server, a source and a target database on it.
 */
const TABLE = `create table "Bestellung订单" (id bigint primary key, status text not null, amount numeric(10,2) check (amount >= 0))`;

describe('ChangeApplier: small batches as prepared statements in pipeline mode', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let session: pg.Client;
  let applier: ChangeApplier;
  const tables: ApplyTable[] = [];
  let lsn = 0x1000;

  const txn = (...changes: SourceChange[]): SourceTransaction => {
    const commitLsn = `0/${(lsn += 0x10).toString(16).toUpperCase()}`;
    return { commitLsn, endLsn: `0/${(lsn + 8).toString(16).toUpperCase()}`, commitTime: new Date(), changes };
  };
  const insert = (id: number, status: string, amount: string): SourceChange => ({ kind: 'insert', schema: 'public', table: 'Bestellung订单', newRow: { id: String(id), status, amount } });
  const update = (id: number, status: string, amount: string): SourceChange => ({ kind: 'update', schema: 'public', table: 'Bestellung订单', newRow: { id: String(id), status, amount }, oldKey: null, keyColumns: ['id'] });
  const remove = (id: number): SourceChange => ({ kind: 'delete', schema: 'public', table: 'Bestellung订单', oldKey: { id: String(id) }, keyColumns: ['id'] });
  const rows = async () => (await session.query('select id::int, status, amount::text from "Bestellung订单" order by id')).rows;
  const textQuery = (q: string, p: readonly unknown[] = []) => queryText(session, q, [...p]);
  const prepared = async () => (await session.query<{ name: string }>("select name from pg_prepared_statements where name like 'cutover_apply_%'")).rows.length;

  beforeAll(async () => {
    server = await startTestPostgres('source');
    await sql(server.url, TABLE);
    await sql(server.url, 'create database target');
    await sql(server.urlFor('target'), TABLE);
    const env = testEnvironment(server.url, server.urlFor('target'));
    const names = streamNames(env, 'forward');
    const reader = new pg.Client({ connectionString: server.url });
    await reader.connect();
    try {
      for (const table of await resolveMappedTables(reader, names.readScope, names.mappingFile, silentOutput)) tables.push({ table, transformer: await mappingEngine.createRowTransformer(table) });
    } finally {
      await reader.end();
    }
    session = new pg.Client({ connectionString: server.urlFor('target') });
    await session.connect();
    await ensureControlSchema(session);
    applier = new ChangeApplier(session, 'prepared_test', 'forward', tables);
    await applier.init();
  }, 120_000);

  afterAll(async () => {
    for (const t of tables) t.transformer.close();
    await session?.end().catch(() => {});
    await server?.dispose();
  });

  test('single-row transactions apply through named statements, with the position and the changed keys in the same commit', async () => {
    const batch = [txn(insert(1, 'NEW', '1.50')), txn(insert(2, '新', '2.00')), txn(update(1, 'PAID', '1.50'))];
    const result = await applier.applyBatch(batch, null);
    expect(result).toMatchObject({ changes: 3, deadLetters: 0 });
    expect(await rows()).toEqual([
      { id: 1, status: 'PAID', amount: '1.50' },
      { id: 2, status: '新', amount: '2.00' },
    ]);
    expect(await prepared()).toBeGreaterThanOrEqual(4);
    const state = await session.query('select applied_lsn::text as l from _cutover.apply_state where slot = $1', ['prepared_test']);
    expect(state.rows[0].l).toBe(batch[2]!.endLsn);
    const keys = await session.query(`select key as k, present from ${RECORDED_KEYS} where slot = 'prepared_test' order by k, lsn`);
    // one element per change, in change order (id 1 twice: inserted, then updated)
    expect(keys.rows).toEqual([
      { k: '{1}', present: true },
      { k: '{1}', present: true },
      { k: '{2}', present: true },
    ]);
    // the same statements again: no new names
    const before = await prepared();
    await applier.applyBatch([txn(insert(3, 'NEW', '3.00')), txn(remove(2))], null);
    expect(await rows()).toEqual([
      { id: 1, status: 'PAID', amount: '1.50' },
      { id: 3, status: 'NEW', amount: '3.00' },
    ]);
    expect(await prepared()).toBe(before + 1); // the delete's statement is the only new one
  });

  test('an insert meeting an existing row and a row the target rejects fall back as before: upsert, one dead letter, the rest applied', async () => {
    await sql(server.urlFor('target'), `insert into "Bestellung订单" values (10, 'STALE', 0)`);
    const result = await applier.applyBatch([txn(insert(10, 'FRESH', '10.00')), txn(insert(11, 'BAD', '-1.00')), txn(insert(12, 'OK', '12.00'))], null);
    expect(result).toMatchObject({ deadLetters: 1 });
    expect((await rows()).filter((r) => r.id >= 10)).toEqual([
      { id: 10, status: 'FRESH', amount: '10.00' },
      { id: 12, status: 'OK', amount: '12.00' },
    ]);
    const dead = await session.query("select source_key::text as k from _cutover.dead_letter where slot = 'prepared_test'");
    expect(dead.rows).toEqual([{ k: '{"id": "11"}' }]);
    // the session left pipeline mode: a large batch (COPY) and a small one after it still apply
    await applier.applyBatch(Array.from({ length: 150 }, (_, i) => txn(insert(1000 + i, 'BULK', '1.00'))), null);
    await applier.applyBatch([txn(update(1000, 'AFTER', '1.00'))], null);
    const { rows: bulk } = await session.query("select count(*)::int as n, count(*) filter (where status = 'AFTER')::int as after from \"Bestellung订单\" where id >= 1000");
    expect(bulk[0]).toEqual({ n: 150, after: 1 });
  });

  test('the record of changed keys: a key changed several times in one batch reads as its last change, on the prepared and the SQL-text path; a row-per-key record of an earlier version is moved over whole', async () => {
    const slots = ['prepared_test'];
    const since = `0/${(lsn + 1).toString(16).toUpperCase()}`;
    const recorded = async () => {
      const keys = await readChangedKeys(textQuery, slots, since);
      return keys.get('public.Bestellung订单')!.keys.map((k) => `${k.key.join()}:${k.present}`).sort();
    };
    // prepared: inserted then deleted in one transaction, deleted then inserted in the next
    await applier.applyBatch([txn(insert(40, 'NEW', '1.00'), remove(40)), txn(remove(41)), txn(insert(41, 'BACK', '1.00'))], null);
    expect(await recorded()).toEqual(['40:false', '41:true']);
    // SQL text (150 keys): the same key's changes inside a large batch
    await applier.applyBatch([...Array.from({ length: 150 }, (_, i) => txn(insert(4000 + i, 'BULK', '1.00'))), txn(remove(4000)), txn(update(4001, 'PAID', '1.00'))], null);
    const after = await recorded();
    expect(after).toContain('4000:false');
    expect(after).toContain('4001:true');
    expect(after.filter((k) => k.startsWith('4000:') || k.startsWith('4001:'))).toHaveLength(2);
    expect(after.filter((k) => k.endsWith(':true') && Number(k.split(',')[0]!.split(':')[0]) >= 4000)).toHaveLength(149);

    // an earlier version's record (a row per key) left on the target: the next start moves it, nothing lost
    const old = new pg.Client({ connectionString: server.urlFor('target') });
    await old.connect();
    try {
      await old.query(`create table _cutover.changed_key_log (slot text not null, source_table text not null, key text[] not null, present boolean not null, lsn pg_lsn not null)`);
      await old.query(`insert into _cutover.changed_key_log values ('old_slot', 'public.t', '{"客户 1",7}', true, '9/10'), ('old_slot', 'public.t', '{"客户 1",7}', false, '9/20'), ('old_slot', 'public.t', '{2,1}', true, '9/20'), ('old_slot', 'public.t', '{3,1}', true, '9/05'), ('old_slot', 'public.t', '{}', false, '9/30')`);
      await ensureControlSchema(old);
      const moved = (await readChangedKeys((q, p = []) => queryText(old, q, [...p]), ['old_slot'], '9/10')).get('public.t')!;
      expect(moved.truncated).toBe(true);
      expect(moved.keys.map((k) => `${k.key.join()}:${k.present}`).sort()).toEqual(['2,1:true', '客户 1,7:false']);
      expect((await old.query(`select to_regclass('_cutover.changed_key_log') as t`)).rows[0].t).toBeNull();
    } finally {
      await old.end();
    }
  });

  test('a batch of many inserts is one query (begin, its COPY with the data right behind, the record, position and commit); with dead-letter writers too, whose row counts it keeps', async () => {
    // a new applier: the one above takes upserts for this table since an insert met a row
    const bulk = new ChangeApplier(session, 'prepared_test', 'forward', tables);
    await bulk.init();
    const sent: string[] = [];
    const query = session.query.bind(session);
    (session as unknown as { query: unknown }).query = (q: unknown, ...rest: unknown[]) => {
      sent.push(typeof q === 'string' ? q : ((q as { text?: string }).text ?? 'copy stream'));
      return (query as (...a: unknown[]) => unknown)(q, ...rest);
    };
    try {
      const result = await bulk.applyBatch(Array.from({ length: 150 }, (_, i) => txn(insert(2000 + i, 'BULK', '2.00'))), null);
      expect(result).toMatchObject({ changes: 150, deadLetters: 0 });
      expect(sent, JSON.stringify(sent.map((q) => q.slice(0, 80)))).toHaveLength(1);
      const { rows: n } = await session.query('select count(*)::int as n from "Bestellung订单" where id between 2000 and 2149');
      expect(n[0].n).toBe(150);
      // an update whose row is missing and whose unchanged large value was not sent is a dead
      // letter written by SQL before the COPY: its count is still read
      sent.length = 0;
      const missing: SourceChange = { kind: 'update', schema: 'public', table: 'Bestellung订单', newRow: { id: '2999', status: 'GONE', amount: undefined }, oldKey: null, keyColumns: ['id'] };
      const mixed = await bulk.applyBatch([txn(missing), ...Array.from({ length: 150 }, (_, i) => txn(insert(3000 + i, 'BULK', '3.00')))], null);
      expect(mixed).toMatchObject({ changes: 150, deadLetters: 1 });
      expect(sent).toHaveLength(1);
      const dead = await session.query("select count(*)::int as n from _cutover.dead_letter where slot = 'prepared_test' and source_key->>'id' = '2999'");
      expect(dead.rows[0].n).toBe(1);
    } finally {
      (session as unknown as { query: unknown }).query = query;
    }
  });

  test('a COPY whose data meets a key the target has, and a statement before a COPY that fails (the server then ignores the COPY data sent behind it): both batches recover, and the session goes on', async () => {
    const bulk = new ChangeApplier(session, 'prepared_test', 'forward', tables);
    await bulk.init();
    await session.query(`insert into "Bestellung订单" (id, status, amount) values (4000, 'OLD', 1), (4500, 'KEEP', 1)`);
    const copied = await bulk.applyBatch(Array.from({ length: 150 }, (_, i) => txn(insert(4000 + i, 'COPIED', '4.00'))), null);
    expect(copied).toMatchObject({ changes: 150, deadLetters: 0 });
    const count = async (status: string) => (await session.query('select count(*)::int as n from "Bestellung订单" where status = $1', [status])).rows[0].n;
    expect(await count('COPIED')).toBe(150);
    // an UPDATE that left a large value unsent is a patch (a barrier: its statement comes before
    // the COPY); the target rejects its amount, so the script fails before its COPY starts
    const rejected: SourceChange = { kind: 'update', schema: 'public', table: 'Bestellung订单', newRow: { id: '4500', status: undefined, amount: '-1.00' }, oldKey: null, keyColumns: ['id'] };
    const mixed = await bulk.applyBatch([txn(rejected), ...Array.from({ length: 150 }, (_, i) => txn(insert(5000 + i, 'BEHIND', '5.00')))], null);
    expect(mixed).toMatchObject({ changes: 150, deadLetters: 1 });
    expect(await count('BEHIND')).toBe(150);
    expect((await session.query('select status, amount::text from "Bestellung订单" where id = 4500')).rows).toEqual([{ status: 'KEEP', amount: '1.00' }]);
    expect((await session.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
  });

  test('a batch reports how far the target has flushed after its own commit: a durable commit is acknowledged from its own result, on every path', async () => {
    const walNow = async () => (await session.query<{ l: string }>('select pg_current_wal_insert_lsn()::text as l')).rows[0]!.l;
    // the kit's apply session commits asynchronously; durably here, so the commit is flushed before the batch's last statement
    await session.query('set synchronous_commit = on');
    try {
      for (const batch of [
        [txn(insert(20, 'NEW', '1.00'))], // prepared statements
        Array.from({ length: 150 }, (_, i) => txn(insert(2000 + i, 'BULK', '1.00'))), // COPY
        [txn(insert(21, 'OK', '1.00')), txn(insert(22, 'BAD', '-1.00'))], // rejected: one change at a time
      ]) {
        const before = await walNow();
        const result = await applier.applyBatch(batch, null);
        expect(result.targetFlushed).not.toBeNull();
        // read before the batch, the flush position could not pass `before`; after its commit it does
        expect(compareLsn(result.targetFlushed!, before)).toBeGreaterThan(0);
        expect(compareLsn(result.targetLsn!, before)).toBeGreaterThan(0);
      }
    } finally {
      await session.query('set synchronous_commit = off');
    }
  });
});

