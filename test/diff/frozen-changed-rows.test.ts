import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { baselineFile, dropBaseline, holdChangedKeys, readBaseline, readChangedKeys, releaseChangedKeys } from '../../lib/diff/changed-rows.ts';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { pruneChangedKeyLog, type HoldOwner } from '../../lib/postgres/changed-key-retention.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { SourceThrottler } from '../../lib/throttle/source-throttler.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, testEnvironment } from '../replication/_env.ts';
import { bendRecordedKey, RECORDED_KEYS } from '../_helpers/changed-keys.ts';
import { fixtureNodeArgs } from '../_helpers/fixture-process.ts';

/**
 * The write switch's frozen validation compares only the rows changed since the last passing full
 * validation: the forward worker records every changed source key (composite keys, text keys with
 * capitals and Chinese characters), and a row changed after the full validation and corrupted on
 * the target is caught; a record that misses a table or names no row makes the check compare the
 * table in full or fail, never pass on nothing.
 */
const SCHEMA = `
  create table orders (id bigint primary key, status text not null, amount numeric(10,2) not null);
  create table lines (order_id bigint, n int, qty int not null, primary key (order_id, n));
  create table "Kunden客户" ("Name名" text primary key, city text);`;

describe('frozen validation: changed rows only (real servers, in-process worker)', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  let validator: PostgresValidator;
  let stateDir: string;
  let env: ReturnType<typeof testEnvironment>;
  const out = new RecordingOutput();

  const caughtUp = async () => {
    expect(await replicator.waitForPosition(await replicator.sourcePosition(), 15_000)).toBe(true);
  };

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await Promise.all([sql(source.url, SCHEMA), sql(target.url, SCHEMA)]);
    await sql(
      source.url,
      `insert into orders select g, 'PAID', g + 0.5 from generate_series(1, 3000) g;
       insert into lines select g, n, n from generate_series(1, 1000) g, generate_series(1, 3) n;
       insert into "Kunden客户" select '客户 ' || g || ' Müller', 'city ' || g from generate_series(1, 200) g;`,
    );
    env = testEnvironment(source.url, target.url, { chunkRows: 1000, parallelTables: 2, batchSize: 200 });
    stateDir = env.stateDir;
    replicator = new PostgresReplicator(env, 'forward', out);
    validator = new PostgresValidator(env, out, replicator);
    await replicator.start({ foreground: true });
    await caughtUp();
  }, 60_000);

  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('a row changed after the full validation and corrupted on the target is caught by the frozen check, comparing only the changed rows', async () => {
    const full = await validator.validate();
    expect(full.equal).toBe(true);
    expect(full.scope).toBeUndefined();
    const baseline = readBaseline(stateDir);
    expect(baseline).not.toBeNull();

    // after the full validation, before the freeze: one update, one insert (composite key), one delete (text key)
    await sql(source.url, `update orders set status = 'SHIPPED' where id = 5`);
    await sql(source.url, `insert into lines values (7, 4, 40)`);
    await sql(source.url, `delete from "Kunden客户" where "Name名" = '客户 3 Müller'`);
    await caughtUp();
    // the changed row, corrupted on the target behind the replicator's back
    await sql(target.url, `update orders set amount = 1.00 where id = 5`);

    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({ kind: 'changed-rows', since: baseline!.position, changedRows: 3, tablesWithChanges: 3, fullTables: [] });
    expect(frozen.equal).toBe(false);
    const orders = frozen.tables.find((t) => t.source === 'public.orders')!;
    expect(orders.different).toEqual([{ id: 5 }]);
    // only the changed rows were read: 3 keys, each found on one or both sides
    expect(frozen.figures.rowsCompared).toBe(4); // orders 5 (both sides), lines (7,4) (both sides), the deleted customer on neither
    expect(frozen.tables.flatMap((t) => [...t.missing, ...t.extra])).toEqual([]);

    await sql(target.url, `update orders set amount = 5.50 where id = 5`);
    const fixed = await validator.validate({ frozen: true });
    expect(fixed.equal).toBe(true);
    expect(fixed.scope).toMatchObject({ kind: 'changed-rows', changedRows: 3 });
  }, 60_000);

  test('a table the replicator changed but no key was recorded for is compared in full', async () => {
    await sql(source.url, `update orders set status = 'CANCELLED' where id = 11`);
    await caughtUp();
    await sql(target.url, `update orders set amount = 2.00 where id = 11`);
    // the record loses the table's keys: the check must not compare nothing and pass
    await sql(target.url, `delete from _cutover.changed_key_batch where source_table = 'public.orders'`);
    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({ kind: 'changed-rows', fullTables: [{ table: 'public.orders', reason: expect.stringContaining('no changed key was recorded') }] });
    expect(frozen.equal).toBe(false);
    expect(frozen.tables.find((t) => t.source === 'public.orders')!.different).toEqual([{ id: 11 }]);
    expect(frozen.tables.find((t) => t.source === 'public.orders')!.sourceRows).toBe(3000);
    await sql(target.url, `update orders set amount = 11.50 where id = 11`);
  }, 60_000);

  test('a recorded key that names no source row fails the check (it would not reach the row it names)', async () => {
    await sql(source.url, `update lines set qty = 99 where order_id = 8 and n = 1`);
    await caughtUp();
    await sql(target.url, bendRecordedKey('public.lines', '{8,1}', '{8000000,1}'));
    await expect(validator.validate({ frozen: true })).rejects.toThrow(/found 1 of 2 changed row\(s\) of public\.lines on the source/);
    await sql(target.url, bendRecordedKey('public.lines', '{8000000,1}', '{8,1}'));
  }, 60_000);

  test('a key changed in several batches is compared once, as its latest change left it (the record is appended per batch)', async () => {
    const baseline = readBaseline(stateDir)!;
    // each change its own batch: wait for each before the next
    for (const change of ['delete from lines where order_id = 9 and n = 1', 'insert into lines values (9, 1, 91)', 'insert into lines values (9, 5, 95)', 'delete from lines where order_id = 9 and n = 5', `update orders set status = 'PAID' where id between 101 and 250`]) {
      await sql(source.url, change);
      await caughtUp();
    }
    const pool = new pg.Pool({ connectionString: target.url });
    try {
      const { rows } = await pool.query<{ n: string }>(`select count(*) as n from ${RECORDED_KEYS} where source_table = 'public.lines' and key = '{9,1}'`);
      expect(Number(rows[0]!.n)).toBe(2);
      const lines = (await readChangedKeys(pool, baseline.streams.map((s) => s.slot), baseline.position)).get('public.lines')!.keys;
      expect(lines.filter((k) => k.key.join() === '9,1')).toEqual([{ key: ['9', '1'], present: true }]);
      expect(lines.filter((k) => k.key.join() === '9,5')).toEqual([{ key: ['9', '5'], present: false }]);
      // a batch of 150 keys (SQL text, not the prepared statements a small batch uses): every key
      const orders = (await readChangedKeys(pool, baseline.streams.map((s) => s.slot), baseline.position)).get('public.orders')!.keys;
      expect(orders.filter((k) => Number(k.key[0]) >= 101 && Number(k.key[0]) <= 250 && k.present)).toHaveLength(150);
    } finally {
      await pool.end();
    }
    const frozen = await validator.validate({ frozen: true });
    expect(frozen.equal).toBe(true);
    // a passing full validation drops the record before its baseline: it does not grow for the whole CDC
    expect((await validator.validate()).equal).toBe(true);
    const next = readBaseline(stateDir)!;
    expect(next.position).not.toBe(baseline.position);
    const left = await sql(target.url, `select count(*) as n from _cutover.changed_key_batch where lsn < $1::pg_lsn`, [next.position]);
    expect(Number(left.rows[0].n)).toBe(0);
    expect(Number((await sql(target.url, 'select count(*) as n from _cutover.changed_key_batch')).rows[0].n)).toBeGreaterThanOrEqual(0);
  }, 60_000);

  test('without a passing full validation the frozen check compares every row; a full validation that differs forgets the baseline', async () => {
    await sql(target.url, `update orders set amount = 3.00 where id = 2000`);
    const failing = await validator.validate();
    expect(failing.equal).toBe(false);
    expect(existsSync(baselineFile(stateDir))).toBe(false);
    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({ kind: 'full', reason: expect.stringContaining('no passing full validation') });
    expect(frozen.tables.find((t) => t.source === 'public.orders')!.different).toEqual([{ id: 2000 }]);
    await sql(target.url, `update orders set amount = 2000.50 where id = 2000`);
    expect((await validator.validate()).equal).toBe(true);
    expect(readBaseline(stateDir)).not.toBeNull();
    dropBaseline(stateDir);
  }, 60_000);

  test('refreshBaseline before the hold: equal changed rows move the baseline, so the frozen check compares only what changed after; a row that still differs keeps it', async () => {
    expect((await validator.validate()).equal).toBe(true);
    const first = readBaseline(stateDir)!;
    await sql(source.url, `update orders set status = 'SHIPPED' where id in (20, 21)`);
    await caughtUp();
    // corrupted on green behind the replicator's back: the live pass re-checks it, it persists
    await sql(target.url, `update orders set amount = 1.00 where id = 20`);
    const kept = await validator.refreshBaseline();
    expect(kept.baselineRefreshed).toBe(false);
    expect(kept.equal).toBe(false);
    expect(kept.tables.find((t) => t.source === 'public.orders')!.different).toEqual([{ id: 20 }]);
    expect(readBaseline(stateDir)!.position).toBe(first.position);
    expect((await validator.validate({ frozen: true })).tables.find((t) => t.source === 'public.orders')!.different).toEqual([{ id: 20 }]);

    await sql(target.url, `update orders set amount = 20.50 where id = 20`);
    const moved = await validator.refreshBaseline();
    expect(moved).toMatchObject({ baselineRefreshed: true, equal: true, scope: { kind: 'changed-rows', changedRows: 2 } });
    // the reconciliation is the frozen check's (timed there for the forecast), never the live refresh's
    expect(moved.figures.reconciliationMs).toBeUndefined();
    const second = readBaseline(stateDir)!;
    expect(second.position).not.toBe(first.position);

    // after the refresh: the frozen check reads only these, and catches a corruption among them
    await sql(source.url, `update orders set status = 'PAID' where id in (30, 31)`);
    await caughtUp();
    await sql(target.url, `update orders set amount = 1.00 where id = 31`);
    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({ kind: 'changed-rows', since: second.position, changedRows: 2 });
    expect(frozen.tables.find((t) => t.source === 'public.orders')!.different).toEqual([{ id: 31 }]);
    expect(frozen.figures.reconciliationMs).toBeGreaterThanOrEqual(0);
    await sql(target.url, `update orders set amount = 31.50 where id = 31`);
  }, 90_000);

  test('refreshBaseline without a baseline compares nothing and says so (never equal)', async () => {
    dropBaseline(stateDir);
    const r = await validator.refreshBaseline();
    expect(r).toMatchObject({ equal: false, baselineRefreshed: false, scope: { kind: 'full', reason: expect.stringContaining('no passing full validation') } });
    expect(r.figures.rowsCompared).toBe(0);
  }, 30_000);

  test('the record of changed keys is pruned to the applied position unless a full validation holds it; a baseline below a prune is refused, never read with a hole', async () => {
    const slot = (await sql(target.url, "select slot from _cutover.load_state where direction = 'forward'")).rows[0].slot as string;
    const count = async (where = 'true') => Number((await sql(target.url, `select count(*) as n from ${RECORDED_KEYS} where slot = $1 and ${where}`, [slot])).rows[0].n);
    const applied = async () => (await sql(target.url, 'select applied_lsn::text as l from _cutover.apply_state where slot = $1', [slot])).rows[0].l as string;
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    const pool = new pg.Pool({ connectionString: target.url, max: 1 });
    try {
      // no validation holds it: everything applied goes
      await releaseChangedKeys(pool, [slot], null);
      await sql(source.url, `update orders set status = 'HELD' where id = 21`);
      await caughtUp();
      expect(await count()).toBeGreaterThan(0);
      await pruneChangedKeyLog(client, slot, await applied());
      expect(await count()).toBe(0);

      // a full validation under way holds it from where the stream stood when it began
      await holdChangedKeys(pool, [slot]);
      await sql(source.url, `update orders set status = 'HELD' where id = 22`);
      await caughtUp();
      await pruneChangedKeyLog(client, slot, await applied());
      expect(await count(`key = '{22}'`)).toBe(1);

      // a passing full validation moves the hold to its baseline: a change after it survives the prune and is compared
      expect((await validator.validate()).equal).toBe(true);
      const baseline = readBaseline(stateDir)!;
      await sql(source.url, `update orders set status = 'HELD' where id = 23`);
      await caughtUp();
      await pruneChangedKeyLog(client, slot, await applied());
      expect(await count(`lsn < '${baseline.position}'::pg_lsn`)).toBe(0);
      const frozen = await validator.validate({ frozen: true });
      expect(frozen.scope).toMatchObject({ kind: 'changed-rows', changedRows: 1 });

      // the hold lost (released behind the baseline's back): the prune passes the baseline, and the
      // frozen check refuses it and compares every row rather than read a record with a hole
      await releaseChangedKeys(pool, [slot], null);
      await pruneChangedKeyLog(client, slot, await applied());
      const refused = await validator.validate({ frozen: true });
      expect(refused.scope).toMatchObject({ kind: 'full', reason: expect.stringContaining('was pruned up to') });
      expect(refused.equal).toBe(true);
    } finally {
      await client.end();
      await pool.end();
      dropBaseline(stateDir);
    }
  }, 90_000);

  test('a validation killed with SIGKILL while it holds the record: the next prune finds its process gone and keeps what was kept before its hold', async () => {
    const slot = (await sql(target.url, "select slot from _cutover.load_state where direction = 'forward'")).rows[0].slot as string;
    const retention = async () => (await sql(target.url, 'select keep_from::text as keep, holder_pid as pid from _cutover.changed_key_retention where slot = $1', [slot])).rows[0];
    const count = async (where: string) => Number((await sql(target.url, `select count(*) as n from ${RECORDED_KEYS} where slot = $1 and ${where}`, [slot])).rows[0].n);
    const applied = async () => (await sql(target.url, 'select applied_lsn::text as l from _cutover.apply_state where slot = $1', [slot])).rows[0].l as string;
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    const pool = new pg.Pool({ connectionString: target.url, max: 1 });
    const fixture = fileURLToPath(new URL('./fixtures/hold-changed-keys.ts', import.meta.url));
    const child = spawn(process.execPath, [...(await fixtureNodeArgs(fixture)), target.url, slot], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      // the hold of a baseline on file (what a passing full validation leaves)
      await caughtUp();
      const baselineHold = await applied();
      await releaseChangedKeys(pool, [slot], baselineHold);
      await sql(source.url, `update orders set status = 'HELD' where id = 31`);
      await caughtUp();

      // a validation process begins and holds the record from the stream's applied position
      for (const deadline = Date.now() + 60_000; !output.includes('held'); ) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the validation process never took its hold:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await retention()).toEqual({ keep: baselineHold, pid: child.pid });
      await sql(source.url, `update orders set status = 'HELD' where id = 32`);
      await caughtUp();
      // its process lives: the prune keeps every key from the hold on
      await pruneChangedKeyLog(client, slot, await applied());
      expect(await count(`key in ('{31}', '{32}')`)).toBe(2);

      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // killed mid-run, it never released its hold: the prune finds its owner gone, drops it and says so
      const dropped: HoldOwner[] = [];
      await pruneChangedKeyLog(client, slot, await applied(), (o) => dropped.push(o));
      expect(dropped).toMatchObject([{ pid: child.pid }]);
      // what the baseline needs stays held; nothing else is left held
      expect(await retention()).toEqual({ keep: baselineHold, pid: null });
      expect(await count(`lsn >= '${baselineHold}'::pg_lsn`)).toBeGreaterThanOrEqual(2);

      // without the baseline's hold either, the next prune drops everything applied
      await releaseChangedKeys(pool, [slot], null);
      await pruneChangedKeyLog(client, slot, await applied());
      expect(await count('true')).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await client.end();
      await pool.end();
    }
  }, 120_000);

  test('a full validation in chunks adapted to pacing.chunkTargetMs still serves as the baseline of the frozen check', async () => {
    // the rehearsal validates paced (adapted chunks) and freezes unpaced: at 1,000,000 orders a baseline
    // refused for "chunking changed" made the hold compare every row and the switch was undone 3 times
    const healthy = { blueP99Ms: 20, blueRequests: 100, activeSessions: 0, probeMs: 1 };
    const throttler = new SourceThrottler({ ...env.pacing, enabled: true, chunkTargetMs: 500 }, { caveat: null, sample: async () => healthy, close: async () => {} }, new RecordingOutput());
    const paced = await new PostgresValidator(env, out, replicator, { throttler }).validate();
    expect(paced.equal).toBe(true);
    expect(paced.pacing?.chunkSizing?.chunks).toBeGreaterThan(0);
    const baseline = readBaseline(stateDir);
    expect(baseline).not.toBeNull();

    await sql(source.url, `update orders set status = 'PACED' where id = 41`);
    await caughtUp();
    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({ kind: 'changed-rows', since: baseline!.position });
    expect(frozen.equal).toBe(true);
    expect(frozen.figures.rowsCompared).toBeLessThan(100);
  }, 120_000);
});
