import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { readBaseline } from '../../lib/diff/changed-rows.ts';
import { CrossEngineValidator } from '../../lib/diff/cross-engine-validator.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { BinlogReplicator } from '../../lib/replication/binlog-replicator.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, testEnvironment } from '../replication/_env.ts';
import { bendRecordedKey } from '../_helpers/changed-keys.ts';

/**
 * The write switch's frozen validation for a MySQL-family source compares only the rows changed
 * since the last passing full validation, as it does for PostgreSQL: the binlog worker records
 * every source key it applies (integer and composite text keys with capitals and Chinese), a row
 * changed after the full validation and corrupted on the target is caught, and a record that
 * misses a table or names no source row makes the check compare that table in full — never pass
 * on nothing.
 */
const MYSQL_SCHEMA = `
  CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, status VARCHAR(10) NOT NULL, amount DECIMAL(10,2) NOT NULL) CHARACTER SET utf8mb4;
  CREATE TABLE \`Tags标签\` (\`Owner主\` VARCHAR(40), n INT, label VARCHAR(20), PRIMARY KEY (\`Owner主\`, n)) CHARACTER SET utf8mb4;
  CREATE TABLE stamps (id INT PRIMARY KEY, at DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL);
  CREATE TABLE visits (\`城市\` VARCHAR(20), at DATETIME(6), n INT, note VARCHAR(20), PRIMARY KEY (\`城市\`, at, n)) CHARACTER SET utf8mb4;`;
const PG_SCHEMA = `
  create schema shop;
  create table shop.orders (id integer primary key, status varchar(10) not null, amount numeric(10,2) not null);
  create table shop."Tags标签" ("Owner主" varchar(40), n integer, label varchar(20), primary key ("Owner主", n));
  create table shop.stamps (id integer primary key, at timestamptz(6), ts timestamptz(6));
  create table shop.visits ("城市" varchar(20), at timestamp(6), n integer, note varchar(20), primary key ("城市", at, n));
  -- green's sessions default to +08 (and blue's server runs at +08:00): DATETIME must still be read as UTC
  do $$ begin execute format('alter database %I set timezone = %L', current_database(), 'Asia/Shanghai'); end $$;`;

/** The database `shop` is the DMS schema; every table by its own name. */
const MAPPING = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' }, 'rule-action': 'include' }] };

describe.skipIf(mariadbMissing)(`cross-engine frozen validation: changed rows only (MariaDB binlog -> PostgreSQL) ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let env: ResolvedPostgresEnvironment;
  let replicator: BinlogReplicator;
  let validator: CrossEngineValidator;
  const out = new RecordingOutput();
  const caughtUp = async () => expect(await replicator.waitForPosition(await replicator.sourcePosition(), 30_000)).toBe(true);

  beforeAll(async () => {
    [maria, target] = await Promise.all([startTestMariadb({ database: 'shop', serverArgs: ['--default-time-zone=+08:00'] }), startTestPostgres()]);
    await maria.exec(MYSQL_SCHEMA);
    await sql(target.url, PG_SCHEMA);
    await maria.exec(`INSERT INTO orders (id, status, amount) SELECT seq, 'PAID', seq + 0.5 FROM seq_1_to_3000`);
    await maria.exec(`INSERT INTO \`Tags标签\` SELECT CONCAT('客户 ', seq DIV 3, ' Müller'), seq MOD 3, CONCAT('t', seq) FROM seq_1_to_600`);
    // PostgreSQL text cannot hold a NUL: this row must go to a dead letter with its reason, the rest of its chunk must load
    await maria.exec(`INSERT INTO \`Tags标签\` VALUES ('客户 999 Müller', 0, CONCAT('nul', CHAR(0), 'x'))`);
    // the session runs at the server's +08:00: TIMESTAMP '08:30' is 00:30 UTC
    await maria.exec(`INSERT INTO stamps VALUES (1, '2024-03-01 07:30:00.123456', '2024-03-01 08:30:00.000001')`);
    await maria.exec(`INSERT INTO visits SELECT '上海', TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq MOD 4) * 250000 MICROSECOND, seq MOD 2, 'v' FROM seq_1_to_400`);
    env = testEnvironment(maria.url, target.url, { chunkRows: 1000, parallelTables: 2, batchSize: 200 }, { forward: MAPPING });
    replicator = new BinlogReplicator(env, out);
    validator = new CrossEngineValidator(env, out, replicator);
    await replicator.start({ foreground: true });
    await caughtUp();
  }, 180_000);
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await replicator?.close();
    await Promise.all([maria?.dispose(), target?.dispose()]);
  });

  test('full load: a NUL character in a text column sends its row to a dead letter with the reason, the rest of the chunk loads', async () => {
    const { rows } = await sql(target.url, `select source_table, source_key, error, change->'row'->>'label' as label from _cutover.dead_letter`);
    expect(rows).toEqual([{ source_table: 'shop.Tags标签', source_key: { 'Owner主': '客户 999 Müller', n: '0' }, error: expect.stringContaining('label would hold a NUL character'), label: 'nul\\0x' }]);
    expect(Number((await sql(target.url, `select count(*) as n from shop."Tags标签"`)).rows[0].n)).toBe(600);
    const report = await validator.validate({ tables: ['shop.Tags标签'] });
    expect(report.tables[0]).toMatchObject({ missing: [], deadLetter: [{ 'Owner主': '客户 999 Müller', n: 0 }] });
    // the row is not on green: never EQUAL while it is a dead letter
    expect(report.equal).toBe(false);
    // what an operator does about such a row: correct it on the source (here: remove it, unreplicated)
    await maria.exec("SET SESSION skip_replication = 1; DELETE FROM `Tags标签` WHERE `Owner主` = '客户 999 Müller'");
    expect((await validator.validate({ tables: ['shop.Tags标签'] })).equal).toBe(true);
  });

  test('date-times are written as UTC whatever the target TimeZone (full load and CDC): DATETIME as its wall clock, TIMESTAMP as its instant; validate agrees', async () => {
    await maria.exec(`INSERT INTO stamps VALUES (2, '1999-12-31 23:59:59.5', '2024-06-30 08:00:00')`);
    await caughtUp();
    const { rows } = await sql(target.url, `select id, (at at time zone 'UTC')::text as at, (ts at time zone 'UTC')::text as ts from shop.stamps order by id`);
    expect(rows).toEqual([
      { id: 1, at: '2024-03-01 07:30:00.123456', ts: '2024-03-01 00:30:00.000001' },
      { id: 2, at: '1999-12-31 23:59:59.5', ts: '2024-06-30 00:00:00' },
    ]);
    expect((await validator.validate({ tables: ['shop.stamps'] })).equal).toBe(true);
    // a value off by green's own offset (what a session-zone reading writes) is a difference, not "equal"
    await sql(target.url, `update shop.stamps set at = at - interval '8 hours' where id = 2`);
    expect(await validator.validate({ tables: ['shop.stamps'] })).toMatchObject({ equal: false, tables: [{ missing: [], extra: [], different: [{ id: 2 }] }] });
    await sql(target.url, `update shop.stamps set at = at + interval '8 hours' where id = 2`);
  });

  test('a row changed after the full validation and corrupted on the target is caught, comparing only the changed rows', async () => {
    const full = await validator.validate();
    expect(full.equal).toBe(true);
    const baseline = readBaseline(env.stateDir);
    expect(baseline?.position).toMatch(/^.+\.\d+:\d+$/); // the binlog position the full validation started at

    // after the full validation: an update (integer key), an insert and a delete (composite text keys)
    await maria.exec(`UPDATE orders SET status = 'SHIPPED' WHERE id = 5`);
    await maria.exec(`INSERT INTO \`Tags标签\` VALUES ('客户 7 Müller', 9, 'new')`);
    await maria.exec(`DELETE FROM \`Tags标签\` WHERE \`Owner主\` = '客户 3 Müller' AND n = 0`);
    await caughtUp();
    await sql(target.url, `update shop.orders set amount = 1.00 where id = 5`); // behind the replicator's back

    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({ kind: 'changed-rows', since: baseline!.position, changedRows: 3, tablesWithChanges: 2, fullTables: [] });
    expect(frozen.equal).toBe(false);
    expect(frozen.tables.find((t) => t.source === 'shop.orders')!.different).toEqual([{ id: 5 }]);
    expect(frozen.tables.flatMap((t) => [...t.missing, ...t.extra])).toEqual([]);
    // only the changed rows were read: order 5 and the new tag on both sides, the deleted tag on neither
    expect(frozen.figures.rowsCompared).toBe(4);

    await sql(target.url, `update shop.orders set amount = 5.50 where id = 5`);
    expect(await validator.validate({ frozen: true })).toMatchObject({ equal: true, scope: { kind: 'changed-rows', changedRows: 3 } });
  }, 120_000);

  test('prepared before the write hold (sessions, catalogs, mapping), the frozen check reads the rows changed after it was prepared', async () => {
    const ready = await validator.prepareFrozen();
    try {
      // after the preparation: a change on the source, and its row corrupted on the target
      await maria.exec(`UPDATE orders SET status = 'REFUNDED' WHERE id = 6`);
      await caughtUp();
      await sql(target.url, `update shop.orders set amount = 9.99 where id = 6`);
      const frozen = await ready.validate();
      expect(frozen.scope).toMatchObject({ kind: 'changed-rows', changedRows: 4, fullTables: [] });
      expect(frozen.tables.find((t) => t.source === 'shop.orders')!.different).toEqual([{ id: 6 }]);
      await sql(target.url, `update shop.orders set amount = 6.50 where id = 6`);
      expect(await ready.validate()).toMatchObject({ equal: true, scope: { kind: 'changed-rows', changedRows: 4 } });
    } finally {
      await ready.close();
    }
    await ready.close(); // idempotent
    await expect(ready.validate()).rejects.toThrow(); // its sessions are gone: never a pass on nothing
  }, 120_000);

  test('refreshBaseline before the hold: equal changed rows move the baseline to its start, so the frozen check covers only later changes; a differing one keeps it', async () => {
    const before = readBaseline(env.stateDir)!;
    const refreshed = await validator.refreshBaseline();
    expect(refreshed).toMatchObject({ equal: true, baselineRefreshed: true, scope: { kind: 'changed-rows', since: before.position, changedRows: 4 } });
    const moved = readBaseline(env.stateDir)!;
    expect(moved.position).not.toBe(before.position);

    await maria.exec(`UPDATE orders SET status = 'SHIPPED' WHERE id = 7`);
    await caughtUp();
    expect(await validator.validate({ frozen: true })).toMatchObject({ equal: true, scope: { kind: 'changed-rows', since: moved.position, changedRows: 1 } });

    // changed, then corrupted on the target behind the replicator's back: re-checked live, it still differs
    await maria.exec(`UPDATE orders SET status = 'SHIPPED' WHERE id = 8`);
    await caughtUp();
    await sql(target.url, `update shop.orders set amount = 1.00 where id = 8`);
    const differing = await validator.refreshBaseline();
    expect(differing).toMatchObject({ equal: false, baselineRefreshed: false });
    expect(differing.tables.find((t) => t.source === 'shop.orders')!.different).toEqual([{ id: 8 }]);
    expect(readBaseline(env.stateDir)!.position).toBe(moved.position);
    await sql(target.url, `update shop.orders set amount = 8.50 where id = 8`);
  }, 120_000);

  test('a composite key with a DATETIME(6) whose fraction ends in zeros (.500000, .000000, .007000) is found by its recorded key: compared by the changed rows, not in full', async () => {
    // found by hand: every such key was recorded as the worker wrote it (12:03:47.007000) and compared with the
    // canonical text (12:03:47.007), named "no source row", and the whole table was compared inside the write hold
    expect((await validator.validate()).equal).toBe(true);
    await maria.exec(`INSERT INTO visits VALUES ('北京', '2024-06-01 10:00:00.500000', 1, 'a'), ('北京', '2024-06-01 10:00:00', 1, 'b'), ('北京', '2024-06-01 10:00:00.007', 1, 'c')`);
    // a key change (the DATETIME and the Chinese text) and a plain update
    await maria.exec(`UPDATE visits SET \`城市\` = '广州', at = at + INTERVAL 250000 MICROSECOND WHERE \`城市\` = '上海' AND at = '2024-01-01 00:00:01.250000' AND n = 1`);
    await maria.exec(`UPDATE visits SET note = 'changed' WHERE \`城市\` = '上海' AND at = '2024-01-01 00:00:02.500000' AND n = 0`);
    await caughtUp();
    await sql(target.url, `update shop.visits set note = 'wrong' where "城市" = '北京' and at = '2024-06-01 10:00:00.5'`); // behind the replicator's back
    const frozen = await validator.validate({ frozen: true });
    // the six visits keys (three inserts, the key change's old and new key, an update) found, no table compared in full
    expect(frozen.scope).toMatchObject({ kind: 'changed-rows', fullTables: [] });
    expect((frozen.scope as { changedRows: number }).changedRows).toBeGreaterThanOrEqual(6);
    expect(frozen.tables.find((t) => t.source === 'shop.visits')!.sourceRows).toBeLessThan(10);
    const visits = frozen.tables.find((t) => t.source === 'shop.visits')!;
    expect(visits.different).toEqual([{ '城市': '北京', at: '2024-06-01 10:00:00.5', n: 1 }]);
    expect([...visits.missing, ...visits.extra]).toEqual([]);
    await sql(target.url, `update shop.visits set note = 'a' where "城市" = '北京' and at = '2024-06-01 10:00:00.5'`);
    expect(await validator.validate({ frozen: true })).toMatchObject({ equal: true, scope: { kind: 'changed-rows', fullTables: [] } });
  }, 120_000);

  test('a table the replicator changed with no key recorded, or whose recorded key names no source row, is compared in full', async () => {
    await maria.exec(`UPDATE orders SET status = 'CANCELLED' WHERE id = 11`);
    await maria.exec(`UPDATE \`Tags标签\` SET label = 'x' WHERE \`Owner主\` = '客户 9 Müller' AND n = 1`);
    await caughtUp();
    await sql(target.url, `update shop.orders set amount = 2.00 where id = 11`);
    await sql(target.url, `update shop."Tags标签" set label = 'y' where "Owner主" = '客户 20 Müller' and n = 1`); // not a changed row
    // the record loses the orders keys; a tags key is bent to name no source row
    await sql(target.url, `delete from _cutover.changed_key_batch where source_table = 'shop.orders'`);
    await sql(target.url, bendRecordedKey('shop.Tags标签', '{"客户 9 Müller",1}', '{"客户 9 Müller",7}'));
    const frozen = await validator.validate({ frozen: true });
    expect(frozen.scope).toMatchObject({
      kind: 'changed-rows',
      fullTables: expect.arrayContaining([
        { table: 'shop.orders', reason: expect.stringContaining('no changed key was recorded') },
        { table: 'shop.Tags标签', reason: expect.stringContaining('name no source row') },
      ]),
    });
    expect(frozen.equal).toBe(false);
    const orders = frozen.tables.find((t) => t.source === 'shop.orders')!;
    expect(orders.different).toEqual([{ id: 11 }]);
    expect(orders.sourceRows).toBe(3000);
    expect(frozen.tables.find((t) => t.source === 'shop.Tags标签')!.different).toEqual([{ 'Owner主': '客户 20 Müller', n: 1 }]);
  }, 120_000);
});
