import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { connectMysql } from '../../lib/engines/mysql/mysql-connection.ts';
import { MysqlInspector } from '../../lib/engines/mysql/mysql-inspector.ts';
import { MysqlWriteFence } from '../../lib/engines/mysql/mysql-write-fence.ts';
import { asCutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { startTestPostgres } from '../_helpers/pg.ts';

describe.skipIf(mariadbMissing)(`assess on a deliberately misconfigured MariaDB source ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let pgServer: Awaited<ReturnType<typeof startTestPostgres>>;
  let env: ResolvedPostgresEnvironment;

  beforeAll(async () => {
    [maria, pgServer] = await Promise.all([
      startTestMariadb({
        database: 'legacy_shop',
        serverArgs: ['--binlog-format=STATEMENT', '--binlog-row-image=MINIMAL', '--binlog-expire-logs-seconds=3600', '--default-time-zone=+08:00', '--sql-mode=NO_ENGINE_SUBSTITUTION'],
      }),
      startTestPostgres('duoduo'),
    ]);
    await maria.exec(`
      CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, placed DATETIME NOT NULL, shipped DATE NULL, state ENUM('new','paid') NOT NULL,
        city VARCHAR(40) CHARACTER SET latin1, memo VARCHAR(40) CHARACTER SET utf8mb3, total DECIMAL(10,2), total_x2 DECIMAL(11,2) AS (total * 2) STORED);
      INSERT INTO orders (id, placed, shipped, state, city, memo, total) VALUES
        (1, '2024-01-01 10:00:00', '0000-00-00', 'new', 'Köln', 'x', 1.00),
        (18446744073709551615, '0000-00-00 00:00:00', NULL, 'paid', NULL, NULL, 2.00),
        (3, '2024-01-02 10:00:00', '2024-01-05', 'new', NULL, NULL, 3.00);
      CREATE TABLE audit_log (at DATETIME, what TEXT);
      CREATE USER 'dms'@'127.0.0.1' IDENTIFIED BY 'dms-pw';
      GRANT SELECT ON legacy_shop.* TO 'dms'@'127.0.0.1';`, 'legacy_shop');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-mysql-assess-'));
    const sel = (id: string, table: string) => ({ 'rule-type': 'selection', 'rule-id': id, 'rule-name': id, 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': table }, 'rule-action': 'include' });
    writeFileSync(path.join(dir, 'forward.json'), JSON.stringify({ rules: [sel('1', 'orders'), sel('2', 'audit_log')] }));
    writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify({ rules: [sel('1', '%')] }));
    const raw = { environments: { lab: { platform: 'local', source: { url: maria.urlFor('legacy_shop', { name: 'dms', password: 'dms-pw' }) }, target: { url: pgServer.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } } };
    env = selectEnvironment(parseConfig(raw, path.join(dir, 'c.json')), 'lab') as ResolvedPostgresEnvironment;
  });
  afterAll(async () => {
    await Promise.all([maria?.dispose(), pgServer?.dispose()]);
  });

  test('lists the MySQL findings, each with its handling, and the exact GRANT for the missing privileges', async () => {
    const report = await new MysqlInspector(env, new RecordingOutput()).assess();
    const byId = (id: string) => report.findings.filter((f) => f.id === id);
    expect(report.ok).toBe(false);
    expect(byId('mysql-binlog-format')[0]).toMatchObject({ severity: 'blocker' });
    expect(byId('mysql-binlog-format')[0]!.message).toContain('STATEMENT');
    expect(byId('mysql-binlog-row-image')[0]!.message).toContain('MINIMAL');
    expect(byId('mysql-binlog-retention')[0]).toMatchObject({ severity: 'blocker' });
    expect(byId('mysql-binlog-off')).toEqual([]);
    expect(byId('mysql-server-id')).toEqual([]);
    expect(byId('mysql-privileges')[0]).toMatchObject({ severity: 'blocker', handling: "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dms'@'127.0.0.1';" });
    expect(byId('mysql-privileges-select')).toEqual([]);
    // the write switch fences blue with this account: without these it failed inside the write hold
    expect(byId('mysql-privileges-fence')[0]).toMatchObject({ severity: 'blocker', handling: expect.stringMatching(/^GRANT PROCESS, CONNECTION ADMIN, READ_ONLY ADMIN ON \*\.\* TO 'dms'@'127\.0\.0\.1';/) });
    // (a switch run anyway stops with exit 2 pointing at assess, not INTERNAL)
    expect(await new MysqlWriteFence(env).refuseWrites('blue').then(() => null, asCutoverError)).toMatchObject({ code: 'PERMISSION_DENIED', exitCode: 2, message: expect.stringContaining('PROCESS') });
    expect(await new MysqlWriteFence(env).isRefusingWrites('blue')).toBe(false);
    // on AWS the parameter group fences blue: not asked of the account
    const onAws = await new MysqlInspector(env, new RecordingOutput(), { sqlFence: false }).assess();
    expect(onAws.findings.filter((f) => f.id === 'mysql-privileges-fence')).toEqual([]);
    expect(byId('no-primary-key')[0]).toMatchObject({ severity: 'blocker', table: 'legacy_shop.audit_log' });
    const zero = byId('mysql-zero-dates');
    expect(zero.map((f) => [f.message.split(' ')[0], f.count, f.sampleKeys])).toEqual([
      ['legacy_shop.orders.placed', 1, [{ id: '18446744073709551615' }]],
      ['legacy_shop.orders.shipped', 1, [{ id: 1 }]],
    ]);
    expect(zero[0]!.message).toContain('sql_mode lets the app write more');
    expect(byId('mysql-charset').map((f) => f.message)).toEqual([
      'legacy_shop.orders.city is latin1: it moves into UTF-8',
      'legacy_shop.orders.memo is utf8mb3: it moves into UTF-8',
    ]);
    expect(byId('mysql-unsigned-bigint')[0]).toMatchObject({ severity: 'blocker', count: 1 });
    expect(byId('mysql-enum-set')[0]!.message).toContain("enum('new','paid')");
    expect(byId('mysql-generated-column')[0]!.message).toContain('total_x2');
    expect(byId('mysql-time-zone')[0]!.message).toContain('+08:00');
    expect(byId('mysql-gtid')).toHaveLength(1);
    expect(byId('mysql-lower-case-table-names')).toHaveLength(1);
    expect(byId('dms-mysql-limits')[0]!.message).toMatch(/DROP TABLE or RENAME TABLE.*AUTO_INCREMENT/);
    for (const f of report.findings) expect(f.handling.length, f.id).toBeGreaterThan(10);
    expect(report.tables.map((t) => t.name).sort()).toEqual(['legacy_shop.audit_log', 'legacy_shop.orders']);
  });

  test('reads the target as for a PostgreSQL source: BIGINT UNSIGNED values above bigint block only when the target column cannot hold them; a target table with rows is a blocker', async () => {
    // found by hand: a numeric(20,0) target column (what DMS makes) still blocked the runbook at assess, and a
    // target table holding rows passed assess (the full load then stopped at the first duplicate key)
    const pgc = new pg.Client({ connectionString: pgServer.url });
    await pgc.connect();
    const findingsOf = async (id: string) => (await new MysqlInspector(env, new RecordingOutput()).assess()).findings.filter((f) => f.id === id);
    try {
      await pgc.query(`create schema legacy_shop;
        create table legacy_shop.orders (id numeric(20,0) primary key, placed timestamp, shipped date, state varchar(4), city text, memo text, total numeric(10,2), total_x2 numeric(11,2))`);
      expect(await findingsOf('mysql-unsigned-bigint')).toEqual([
        expect.objectContaining({ severity: 'info', count: 1, message: "legacy_shop.orders.id is BIGINT UNSIGNED: 1 value(s) above PostgreSQL bigint's maximum; the target column's numeric(20,0) holds them" }),
      ]);
      expect(await findingsOf('target-not-empty')).toEqual([]);
      await pgc.query(`insert into legacy_shop.orders (id, placed, state, total) values (3, now(), 'new', 3)`);
      expect(await findingsOf('target-not-empty')).toEqual([expect.objectContaining({ severity: 'blocker', table: 'legacy_shop.orders' })]);
      await pgc.query('truncate legacy_shop.orders; alter table legacy_shop.orders alter id type bigint');
      expect(await findingsOf('mysql-unsigned-bigint')).toEqual([
        expect.objectContaining({ severity: 'blocker', message: expect.stringContaining("which the target column's bigint cannot hold") }),
      ]);
    } finally {
      await pgc.query('drop schema if exists legacy_shop cascade').catch(() => {});
      await pgc.end();
    }
  });

  test('fails if a target column cannot hold the source column\'s values (narrower integer, fewer digits or decimals, shorter varchar), or a mapped table or column is missing: blockers naming table, column, both types and the fix', async () => {
    // found by trial4: with a MySQL-family source assess compared no target types at all (the PostgreSQL source's path did)
    await maria.exec(`CREATE TABLE stock (id INT PRIMARY KEY, qty INT, big BIGINT, tiny TINYINT, uid INT UNSIGNED, code VARCHAR(12), price DECIMAL(10,2), rate DECIMAL(6,4), note TEXT, dur TIME, gone INT)`, 'legacy_shop');
    const dir = path.dirname(env.mappingFiles.forward);
    const sel = (id: string, table: string) => ({ 'rule-type': 'selection', 'rule-id': id, 'rule-name': id, 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': table }, 'rule-action': 'include' });
    writeFileSync(path.join(dir, 'forward-stock.json'), JSON.stringify({ rules: [sel('1', 'stock'), sel('2', 'orders')] }));
    const stockEnv = { ...env, mappingFiles: { ...env.mappingFiles, forward: path.join(dir, 'forward-stock.json') } };
    const pgc = new pg.Client({ connectionString: pgServer.url });
    await pgc.connect();
    try {
      // wider or equal where it must be: bigint for INT, text for VARCHAR, numeric(12,2) for DECIMAL(10,2), interval for TIME
      await pgc.query(`create schema legacy_shop;
        create table legacy_shop.stock (id bigint primary key, qty smallint, big integer, tiny smallint, uid integer, code varchar(8), price numeric(7,2), rate numeric(6,2), note varchar(100), dur interval)`);
      const report = await new MysqlInspector(stockEnv, new RecordingOutput()).assess();
      expect(report.ok).toBe(false);
      const narrow = report.findings.filter((f) => f.id === 'target-type-too-narrow');
      expect(narrow.map((f) => [f.severity, f.table, f.sampleKeys[0]])).toEqual([
        ['blocker', 'legacy_shop.stock', { column: 'qty', sourceType: 'int(11)', targetColumn: 'qty', targetType: 'smallint' }],
        ['blocker', 'legacy_shop.stock', { column: 'big', sourceType: 'bigint(20)', targetColumn: 'big', targetType: 'integer' }],
        ['blocker', 'legacy_shop.stock', { column: 'code', sourceType: 'varchar(12)', targetColumn: 'code', targetType: 'character varying(8)' }],
        ['blocker', 'legacy_shop.stock', { column: 'price', sourceType: 'decimal(10,2)', targetColumn: 'price', targetType: 'numeric(7,2)' }],
        ['blocker', 'legacy_shop.stock', { column: 'rate', sourceType: 'decimal(6,4)', targetColumn: 'rate', targetType: 'numeric(6,2)' }],
      ]);
      expect(narrow[0]!.message).toBe('legacy_shop.stock.qty int(11) (integer) -> legacy_shop.stock.qty smallint: smallint holds integers up to 32767, integer up to 2147483647');
      expect(narrow[0]!.handling).toContain('ALTER TABLE "legacy_shop"."stock" ALTER COLUMN "qty" TYPE integer;');
      expect(narrow[2]!.message).toContain('character varying(8) holds 8 character(s), character varying(12) 12');
      expect(narrow[4]!.message).toContain('values are rounded silently');
      // the column the mapping writes and the target lacks; the mapped table the target lacks
      expect(report.findings.filter((f) => f.id === 'target-column-missing')).toEqual([expect.objectContaining({ severity: 'blocker', table: 'legacy_shop.stock', sampleKeys: [{ column: 'gone' }] })]);
      expect(report.findings.filter((f) => f.id === 'target-table-missing')).toEqual([expect.objectContaining({ severity: 'blocker', table: 'legacy_shop.orders', message: 'legacy_shop.orders is mapped to legacy_shop.orders, which does not exist on the target' })]);
      // an INT UNSIGNED in integer (the usual id) and TEXT in varchar(100) may be refused by value: warnings, not blockers; TIME in interval is no change
      const lossy = report.findings.filter((f) => f.id === 'lossy-type-change');
      expect(lossy.map((f) => [f.severity, f.message.split(' ')[0]])).toEqual([
        ['warning', 'legacy_shop.stock.uid'],
        ['warning', 'legacy_shop.stock.note'],
      ]);
      // widened, the blockers are gone
      await pgc.query(`alter table legacy_shop.stock alter qty type integer, alter big type bigint, alter code type text, alter price type numeric(12,2), alter rate type numeric(8,4), add column gone bigint`);
      const widened = await new MysqlInspector(stockEnv, new RecordingOutput()).assess();
      expect(widened.findings.filter((f) => ['target-type-too-narrow', 'target-column-missing'].includes(f.id))).toEqual([]);
    } finally {
      await pgc.query('drop schema if exists legacy_shop cascade').catch(() => {});
      await pgc.end();
      await maria.exec('DROP TABLE stock', 'legacy_shop');
    }
  });

  test('fails if the forward mapping file cannot be read: MAPPING_INVALID (exit 2), not a blocker finding', async () => {
    const missing = { ...env, mappingFiles: { ...env.mappingFiles, forward: path.join(path.dirname(env.mappingFiles.forward), 'no-such-forward.json') } };
    const err = await new MysqlInspector(missing, new RecordingOutput()).assess().then(() => null, asCutoverError);
    expect(err).toMatchObject({ code: 'MAPPING_INVALID', exitCode: 2, message: expect.stringContaining('no-such-forward.json') });
  });

  test('fails if the database name is in the wrong case or misspelt: CONNECTION_FAILED naming the database meant', async () => {
    // an account with rights on every database hears "does not exist"
    const wrongCase = await connectMysql(maria.urlFor('Legacy_Shop')).then(() => null, asCutoverError);
    expect(wrongCase).toMatchObject({ code: 'CONNECTION_FAILED', exitCode: 2 });
    expect(wrongCase!.message).toContain('does not exist; there is legacy_shop, which differs only in case');
    expect(wrongCase!.details.fix).toBe('write the database name in source.url as legacy_shop');
    const misspelt = await connectMysql(maria.urlFor('legacy_shpo'), 'target').then(() => null, asCutoverError);
    expect(misspelt!.message).toMatch(/target database .* does not exist; did you mean legacy_shop\?$/);
    const unlike = await connectMysql(maria.urlFor('warehouse')).then(() => null, asCutoverError);
    expect(unlike!.message).toMatch(/does not exist$/);
    expect(unlike!.message).not.toContain(maria.password);
    // an account with rights on legacy_shop only hears "access denied" for any other name: the same hint
    const dms = await connectMysql(maria.urlFor('LEGACY_SHOP', { name: 'dms', password: 'dms-pw' })).then(() => null, asCutoverError);
    expect(dms).toMatchObject({ code: 'AUTH_FAILED', exitCode: 2, details: { fix: 'write the database name in source.url as legacy_shop' } });
    expect(dms!.message).toContain('there is legacy_shop, which differs only in case');
  });

  test('a correctly configured server with a replication account has no binlog or privilege blockers', async () => {
    await maria.exec(`SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'; SET GLOBAL binlog_expire_logs_seconds = 172800;
      GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dms'@'127.0.0.1';
      GRANT PROCESS, CONNECTION ADMIN, READ_ONLY ADMIN ON *.* TO 'dms'@'127.0.0.1';`);
    const report = await new MysqlInspector(env, new RecordingOutput()).assess();
    const ids = report.findings.filter((f) => f.severity === 'blocker').map((f) => f.id).sort();
    // (no table on the target yet: each mapped table is missing there)
    expect(ids).toEqual(['mysql-unsigned-bigint', 'no-primary-key', 'target-table-missing', 'target-table-missing']);
    // and the GRANT assess printed is enough for the fence
    const fence = new MysqlWriteFence(env);
    await fence.refuseWrites('blue');
    expect(await fence.isRefusingWrites('blue')).toBe(true);
    await fence.allowWrites('blue');
    expect(await fence.isRefusingWrites('blue')).toBe(false);
  });

  test('warns when another session uses the kit\'s account: read_only does not stop it, so what it writes after reconnecting stays on blue; the kit\'s own sessions are not counted', async () => {
    // an app sharing source.url's account (with READ_ONLY ADMIN from the test above)
    await maria.exec("GRANT INSERT ON legacy_shop.* TO 'dms'@'127.0.0.1'");
    const app = await mysql.createConnection({ host: '127.0.0.1', port: maria.port, user: 'dms', password: 'dms-pw', database: 'legacy_shop' });
    app.on('error', () => {});
    const kit = await connectMysql(env.source.url); // a kit session of the same account (a replication worker's): not an app
    try {
      const report = await new MysqlInspector(env, new RecordingOutput()).assess();
      const shared = report.findings.filter((f) => f.id === 'mysql-fence-shared-account');
      expect(shared).toHaveLength(1);
      expect(shared[0]).toMatchObject({ severity: 'warning', count: 1 });
      expect(shared[0]!.message).toContain("'dms'@'127.0.0.1'");
      expect(shared[0]!.handling).toContain('account of its own');
      // what the warning is about: the fence ends the app's session, but reconnected it still writes
      const fence = new MysqlWriteFence(env);
      await fence.refuseWrites('blue');
      try {
        await expect(app.query('SELECT 1')).rejects.toThrow();
        const again = await mysql.createConnection({ host: '127.0.0.1', port: maria.port, user: 'dms', password: 'dms-pw', database: 'legacy_shop' });
        await again.query('INSERT INTO orders (id, placed, state, total) VALUES (99, NOW(), \'new\', 9.00)').finally(() => again.end());
        expect(await fence.isRefusingWrites('blue')).toBe(true);
        expect(fence.lastProof!.writersWhileFenced).toContain("'dms'@'127.0.0.1'");
      } finally {
        await fence.allowWrites('blue');
      }
    } finally {
      await app.end().catch(() => {});
      await kit.end();
    }
    // once no other session uses it, no warning (a closed session leaves the server's list asynchronously: poll)
    for (let tries = 0; ; tries++) {
      const again = await new MysqlInspector(env, new RecordingOutput()).assess();
      const left = again.findings.filter((f) => f.id === 'mysql-fence-shared-account');
      if (left.length === 0) break;
      if (tries >= 50) expect(left).toEqual([]);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
