import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { readChangedKeys } from '../../lib/diff/changed-rows.ts';
import { ChangeApplier } from '../../lib/replication/change-applier.ts';
import type { SourceTransaction } from '../../lib/replication/change-stream.ts';
import { ensureControlSchema } from '../../lib/replication/control-schema.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { RECORDED_KEYS } from '../_helpers/changed-keys.ts';
import { applyTable } from '../_helpers/apply-table.ts';

/**
 * The forward worker's record of changed keys (`_cutover.changed_key_batch`) keeps whether each
 * change left a row as bits and one commit position per source transaction; rows an earlier
 * version wrote (a boolean and a position per change) stay readable, and a record table of that
 * version is brought forward in place. Read back through the frozen check's own reader: which key
 * changed at or after a position, and whether its latest change left a row.
 */
const SLOT = 'cutover_lab';

const orders = () => applyTable('shop', 'Orders', ['id', '名', 'note'], { primaryKey: ['id', '名'] });

const txn = (commitLsn: string, endLsn: string, changes: SourceTransaction['changes']): SourceTransaction => ({ commitLsn, endLsn, commitTime: new Date(), changes });
const insert = (id: string, name: string) => ({ kind: 'insert' as const, schema: 'shop', table: 'Orders', newRow: { id, 名: name, note: `n${id}` } });
const del = (id: string, name: string) => ({ kind: 'delete' as const, schema: 'shop', table: 'Orders', oldKey: { id, 名: name }, keyColumns: ['id', '名'] });

/** key text -> present, as the frozen check reads the record from `position` on. */
async function changedSince(db: pg.Pool, position: string): Promise<Record<string, boolean>> {
  const changes = (await readChangedKeys(db, [SLOT], position)).get('shop.Orders');
  return Object.fromEntries((changes?.keys ?? []).map((k) => [k.key.join('|'), k.present]));
}

describe('the record of changed keys (real PostgreSQL)', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let db: pg.Pool;

  beforeAll(async () => {
    server = await startTestPostgres();
    db = new pg.Pool({ connectionString: server.url, max: 2 });
    // an idle connection ended by the server's stop must not become an uncaught error
    db.on('error', () => {});
  }, 120_000);
  afterAll(async () => {
    await db?.end().catch(() => {});
    await server?.dispose();
  });

  test('bits and per-transaction positions: the latest change of each key wins, from any position on; old rows read alike', async () => {
    await db.query(`create schema shop; create table shop."Orders" (id bigint, 名 text, note text, primary key (id, 名))`);
    const client = await db.connect();
    try {
      await ensureControlSchema(client);
      await ensureControlSchema(client); // a second worker start: nothing to change, nothing fails
      const applier = new ChangeApplier(client, SLOT, 'forward', [orders()]);
      await applier.init();
      // one batch of three source transactions (a row per table, positions per transaction), then one more
      const first = await applier.applyBatch(
        [
          txn('0/1000', '0/1010', [insert('1', '甲'), insert('2', '乙'), insert('3', '丙')]),
          txn('0/2000', '0/2010', [del('2', '乙'), insert('4', '丁')]),
          txn('0/3000', '0/3010', [del('3', '丙')]),
        ],
        null,
      );
      expect(first.changes).toBe(6);
      // single-change transactions: no first-change numbers, a position per change
      await applier.applyBatch([txn('0/4000', '0/4010', [insert('2', '乙')]), txn('0/4100', '0/4110', [insert('5', '戊')]), txn('0/4200', '0/4210', [del('5', '戊')])], null);
    } finally {
      client.release();
    }
    const rows = await db.query(`select cardinality(keys) as keys, present_bits::text as bits, txn_lsns::text as lsns, txn_starts::text as starts, present, lsns as old from _cutover.changed_key_batch order by lsn`);
    expect(rows.rows).toEqual([
      { keys: 6, bits: '111010', lsns: '{0/1000,0/2000,0/3000}', starts: '{1,4,6}', present: null, old: null },
      { keys: 3, bits: '110', lsns: '{0/4000,0/4100,0/4200}', starts: null, present: null, old: null },
    ]);
    expect(await changedSince(db, '0/0')).toEqual({ '1|甲': true, '2|乙': true, '3|丙': false, '4|丁': true, '5|戊': false });
    expect(await changedSince(db, '0/2000')).toEqual({ '2|乙': true, '3|丙': false, '4|丁': true, '5|戊': false });
    expect(await changedSince(db, '0/2001')).toEqual({ '2|乙': true, '3|丙': false, '5|戊': false });
    expect(await changedSince(db, '0/3001')).toEqual({ '2|乙': true, '5|戊': false });
    expect(await changedSince(db, '0/4001')).toEqual({ '5|戊': false });
    expect(await changedSince(db, '0/4101')).toEqual({ '5|戊': false });
    expect(await changedSince(db, '0/4201')).toEqual({});

    // a row as an earlier version wrote it: a boolean and a position per change
    await db.query(
      `insert into _cutover.changed_key_batch (slot, source_table, lsn, keys, present, lsns) values ($1, 'shop.Orders', '0/5100', '{"{4,丁}","{9,\\"引号\\"}"}', '{f,t}', '{0/5000,0/5100}')`,
      [SLOT],
    );
    expect(await changedSince(db, '0/4201')).toEqual({ '4|丁': false, '9|引号': true });
    expect(await changedSince(db, '0/5001')).toEqual({ '9|引号': true });
    const recorded = await db.query(`select key, present, lsn::text from ${RECORDED_KEYS} where key like '{4,%' order by lsn`);
    expect(recorded.rows).toEqual([
      { key: '{4,丁}', present: true, lsn: '0/2000' },
      { key: '{4,丁}', present: false, lsn: '0/5000' },
    ]);
  });

  test('a record table of the earlier version (a boolean and a position per change, not null) is brought forward on start', async () => {
    await server.createDatabase('earlier');
    const earlier = new pg.Pool({ connectionString: server.urlFor('earlier'), max: 1 });
    earlier.on('error', () => {});
    try {
      await earlier.query(`create schema _cutover;
        create table _cutover.changed_key_batch (slot text not null, source_table text not null, lsn pg_lsn not null,
          keys text[] not null, present boolean[] not null, lsns pg_lsn[] not null, part integer not null default 0);
        insert into _cutover.changed_key_batch (slot, source_table, lsn, keys, present, lsns) values ('${SLOT}', 'shop.Orders', '0/100', '{"{1,甲}"}', '{t}', '{0/100}');
        create schema shop; create table shop."Orders" (id bigint, 名 text, note text, primary key (id, 名))`);
      const client = await earlier.connect();
      try {
        await ensureControlSchema(client);
        const applier = new ChangeApplier(client, SLOT, 'forward', [orders()]);
        await applier.init();
        await applier.applyBatch([txn('0/200', '0/210', [insert('2', '乙')])], null);
      } finally {
        client.release();
      }
      expect(await changedSince(earlier, '0/0')).toEqual({ '1|甲': true, '2|乙': true });
      expect(await changedSince(earlier, '0/101')).toEqual({ '2|乙': true });
    } finally {
      await earlier.end();
    }
  });
});
