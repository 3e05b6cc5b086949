import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ChangeApplier } from '../../lib/replication/change-applier.ts';
import { ensureControlSchema } from '../../lib/replication/control-schema.ts';
import { applyTable } from '../_helpers/apply-table.ts';
import { startTestPostgres } from '../_helpers/pg.ts';

/**
 * ChangeApplier.warmSession readies a new apply session's server side before the first batch
 * (a COPY of no rows into each target table, rolled back). It must write nothing, leave the
 * session outside any transaction, and — when the target refuses (here: a role without INSERT)
 * — fail without leaving the session in an aborted transaction, so the worker can go on with it.
 */
describe('ChangeApplier.warmSession', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  const sessions: pg.Client[] = [];
  const TABLES = [applyTable('Lager仓库', 'Bestand', ['id', 'menge']), applyTable('public', 'orders', ['id', 'note'])];

  const connect = async (user?: { name: string; password: string }) => {
    const url = new URL(server.url);
    if (user) {
      url.username = user.name;
      url.password = user.password;
    }
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    sessions.push(c);
    return c;
  };
  /** Whether the session is inside a transaction begun before this statement. */
  const inTransaction = async (c: pg.Client) =>
    (await c.query<{ open: boolean }>('select xact_start < statement_timestamp() as open from pg_stat_activity where pid = pg_backend_pid()')).rows[0]!.open;

  beforeAll(async () => {
    server = await startTestPostgres('target');
    const admin = await connect();
    await admin.query('create schema "Lager仓库"; create table "Lager仓库"."Bestand" (id bigint primary key, menge int not null)');
    await admin.query('create table orders (id bigint primary key, note text)');
    await ensureControlSchema(admin);
  });
  afterAll(async () => {
    for (const c of sessions) await c.end().catch(() => {});
    await server?.dispose();
  });

  test('writes nothing, leaves no transaction open, and the first batch applies after it', async () => {
    const session = await connect();
    const applier = new ChangeApplier(session, 'warm_test', 'forward', TABLES);
    await applier.init();
    await applier.warmSession();
    expect(await inTransaction(session)).toBe(false);
    expect((await session.query('select count(*)::int as n from "Lager仓库"."Bestand"')).rows[0].n).toBe(0);
    expect((await session.query('select count(*)::int as n from orders')).rows[0].n).toBe(0);
    const batch = applier.submit(
      [{ commitLsn: '0/100', endLsn: '0/108', commitTime: new Date(), changes: [{ kind: 'insert', schema: 'Lager仓库', table: 'Bestand', newRow: { id: '1', menge: '7' } }] }],
      null,
    );
    const result = await batch.done;
    expect(result).not.toBeInstanceOf(Error);
    expect((await session.query('select menge from "Lager仓库"."Bestand" where id = 1')).rows).toEqual([{ menge: 7 }]);
  });

  test('a target table another session holds locked: it gives up (lock timeout) instead of waiting, and the session is usable', async () => {
    const holder = await connect();
    await holder.query('begin; lock table orders in access exclusive mode');
    try {
      const session = await connect();
      const applier = new ChangeApplier(session, 'warm_test_locked', 'forward', TABLES);
      await expect(applier.warmSession()).rejects.toMatchObject({ code: '55P03' });
      expect(await inTransaction(session)).toBe(false);
      expect((await session.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await holder.query('rollback');
    }
  });

  test('a target that refuses the COPY: the error is thrown and the session is usable', async () => {
    const admin = sessions[0]!;
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    await admin.query(`create role warm_reader login password '${password}'`);
    await admin.query('grant usage on schema "Lager仓库" to warm_reader; grant select on all tables in schema "Lager仓库", public to warm_reader');
    const session = await connect({ name: 'warm_reader', password });
    const applier = new ChangeApplier(session, 'warm_test_ro', 'forward', TABLES);
    await expect(applier.warmSession()).rejects.toThrow(/permission denied/);
    expect(await inTransaction(session)).toBe(false);
    expect((await session.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
  });
});
