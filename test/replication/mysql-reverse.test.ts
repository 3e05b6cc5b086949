import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { MysqlChangeApplier, openMysqlApplySession } from '../../lib/engines/mysql/mysql-change-applier.ts';
import type { MappedTable } from '../../lib/mappings/types.ts';
import { MysqlInspector } from '../../lib/engines/mysql/mysql-inspector.ts';
import { processAlive } from '../../lib/replication/status-file.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, until } from './_env.ts';

const BLUE_TABLES = `
  CREATE TABLE orders (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    paid TINYINT(1) NOT NULL DEFAULT 0,
    amount DECIMAL(20,6) NULL,
    created DATETIME(6) NULL,
    stamped TIMESTAMP(6) NULL DEFAULT NULL,
    photo BLOB NULL,
    meta JSON NULL,
    status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new',
    note VARCHAR(100) CHARACTER SET utf8mb4 NULL
  ) ENGINE=InnoDB;
  CREATE TABLE ledger (id INT NOT NULL PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE \`客户Orders\` (\`Id\` INT NOT NULL, \`区\` CHAR(2) NOT NULL, \`名字\` VARCHAR(20) NULL, PRIMARY KEY (\`区\`, \`Id\`)) ENGINE=InnoDB;
  CREATE TABLE members (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE, name VARCHAR(20) NULL) ENGINE=InnoDB;
  CREATE TABLE ledger_audit (id INT NOT NULL) ENGINE=InnoDB;
  CREATE TRIGGER ledger_once BEFORE INSERT ON ledger FOR EACH ROW INSERT INTO ledger_audit VALUES (NEW.id);`;

const GREEN_TABLES = `
  create schema duoduo;
  create table duoduo.orders (id bigint primary key, paid boolean not null, amount numeric(20,6), created timestamptz, stamped timestamptz,
    photo bytea, meta jsonb, status text not null, note text);
  alter table duoduo.orders replica identity full;
  create table duoduo.ledger (id int primary key, n int not null);
  create table duoduo.members (id int primary key, email text not null, name text);
  create table duoduo."客户Orders" ("Id" int not null, "区" text not null, "名字" text, primary key ("区", "Id"));`;

const mapping = (rules: unknown[]) => JSON.stringify({ rules });
const REVERSE = mapping([
  { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's', 'object-locator': { 'schema-name': 'duoduo', 'table-name': '%' }, 'rule-action': 'include' },
  { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'db', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'duoduo' }, 'rule-action': 'rename', value: 'legacy_shop' },
]);
const FORWARD = mapping([
  { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': '%' }, 'rule-action': 'include' },
  { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'sch', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'legacy_shop' }, 'rule-action': 'rename', value: 'duoduo' },
]);

/**
 * Reverse replication PostgreSQL green → MariaDB blue (MysqlReverseWorker through the
 * PostgresReplicator): every type round-trips exactly into a fenced blue through the account with
 * READ_ONLY ADMIN; an account without it is refused with the GRANT named; kill -9 resumes exactly once.
 */
describe.skipIf(mariadbMissing)(`reverse replication PostgreSQL -> MariaDB ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let green: Awaited<ReturnType<typeof startTestPostgres>>;
  let admin: mysql.Connection;
  const replicators: PostgresReplicator[] = [];

  const environment = (user: string, slotName: string): ResolvedPostgresEnvironment => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-mysql-reverse-'));
    writeFileSync(path.join(dir, 'forward.json'), FORWARD);
    writeFileSync(path.join(dir, 'reverse.json'), REVERSE);
    const raw = {
      environments: {
        lab: {
          platform: 'local',
          source: { url: maria.urlFor('legacy_shop', { name: user, password: `${user}-pw` }) },
          target: { url: green.url },
          mappings: { forward: 'forward.json', reverse: 'reverse.json' },
          replication: { slotName, publicationName: slotName, batchSize: 40 },
          gates: { maxHeartbeatAgeMs: 3000 },
        },
      },
    };
    return selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json')), 'lab') as ResolvedPostgresEnvironment;
  };
  const blueRows = async <T,>(text: string): Promise<T[]> => (await admin.query(text))[0] as T[];
  const caughtUp = async (r: PostgresReplicator) => expect(await r.waitForPosition(await r.sourcePosition(), 60_000)).toBe(true);

  beforeAll(async () => {
    [maria, green] = await Promise.all([startTestMariadb({ database: 'legacy_shop' }), startTestPostgres('duoduo', { timezone: 'Asia/Shanghai' })]);
    admin = await maria.connect('legacy_shop');
    await admin.query(BLUE_TABLES);
    await admin.query(`
      CREATE USER 'kit'@'127.0.0.1' IDENTIFIED BY 'kit-pw';
      GRANT SELECT, INSERT, UPDATE, DELETE ON legacy_shop.* TO 'kit'@'127.0.0.1';
      GRANT ALL ON \`_cutover\`.* TO 'kit'@'127.0.0.1';
      GRANT READ_ONLY ADMIN ON *.* TO 'kit'@'127.0.0.1';
      CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-pw';
      GRANT SELECT, INSERT, UPDATE, DELETE ON legacy_shop.* TO 'app'@'127.0.0.1';
      GRANT ALL ON \`_cutover\`.* TO 'app'@'127.0.0.1';`);
    await sql(green.url, GREEN_TABLES);
  }, 180_000);
  afterAll(async () => {
    for (const r of replicators) await r.stop().catch(() => {});
    await admin?.end().catch(() => {});
    await Promise.all([maria?.dispose(), green?.dispose()]);
  });

  test('inserts, updates and deletes of every type reach a fenced blue exactly; unstorable values are dead letters with the reason', async () => {
    await admin.query('SET GLOBAL read_only = ON'); // the write switch's fence
    const env = environment('kit', 'cutover_rev_types');
    const reverse = new PostgresReplicator(env, 'reverse', new RecordingOutput());
    replicators.push(reverse);
    await reverse.start({ foreground: true, fromPosition: (await sql(green.url, 'select pg_current_wal_lsn()::text as l')).rows[0].l });
    await sql(
      green.url,
      `insert into duoduo.orders values
        (1, true, 12345678901234.123456, '2024-03-10 08:30:00.123456+08', '2024-03-10 00:30:00.5+00', '\\x00ff10', '{"b": [1, 2.50], "a": "中"}', 'paid', '菜鸟 😀 order'),
        (2, false, -0.000001, '1999-12-31 23:59:59.999999-05', null, '', '{}', 'new', null),
        (3, false, 0, null, null, null, null, 'shipped', 'plain');
       insert into duoduo.orders values (4, true, 1, 'infinity', null, null, null, 'new', 'not storable');
       insert into duoduo.orders values (5, true, 1, null, null, null, null, 'lost', 'unknown enum value');`,
    );
    await sql(green.url, `update duoduo.orders set amount = amount + 0.000001, status = 'shipped', meta = '{"x": null}', paid = false where id = 1`);
    await sql(green.url, `delete from duoduo.orders where id = 3`);
    await sql(green.url, `insert into duoduo.ledger select g, g from generate_series(1, 50) g`);
    await sql(green.url, `update duoduo.ledger set id = id + 1000 where id = 50`); // a key change
    // blue has a unique email that green lacks: the clash is a dead letter (as ON CONFLICT (id) on PostgreSQL), never an update of row 1
    await sql(green.url, `insert into duoduo.members values (1, 'a@x', 'first'); insert into duoduo.members values (2, 'a@x', 'clash'); update duoduo.members set name = 'renamed' where id = 1`);
    // names with capitals and Chinese characters, a composite key
    await sql(green.url, `insert into duoduo."客户Orders" values (1, 'bj', '王'), (2, 'bj', '李'), (1, 'sh', null)`);
    await sql(green.url, `update duoduo."客户Orders" set "名字" = '张' where "Id" = 1 and "区" = 'bj'; delete from duoduo."客户Orders" where "Id" = 2`);
    await caughtUp(reverse);

    const rows = await blueRows<Record<string, unknown>>(
      `SELECT id, paid, CAST(amount AS CHAR) AS amount, CAST(created AS CHAR) AS created, CAST(stamped AS CHAR) AS stamped, HEX(photo) AS photo,
              CAST(meta AS CHAR) AS meta, status, note, HEX(note) AS note_hex FROM orders ORDER BY id`,
    );
    expect(rows).toEqual([
      {
        id: 1,
        paid: 0,
        amount: '12345678901234.123457',
        created: '2024-03-10 00:30:00.123456', // 08:30 at +08 is 00:30 UTC
        stamped: '2024-03-10 00:30:00.500000',
        photo: '00FF10',
        meta: '{"x": null}',
        status: 'shipped',
        note: '菜鸟 😀 order',
        note_hex: Buffer.from('菜鸟 😀 order', 'utf8').toString('hex').toUpperCase(),
      },
      { id: 2, paid: 0, amount: '-0.000001', created: '2000-01-01 04:59:59.999999', stamped: null, photo: '', meta: '{}', status: 'new', note: null, note_hex: null },
    ]);
    expect(await blueRows('SELECT `区` AS r, `Id` AS id, `名字` AS name FROM `客户Orders` ORDER BY 1, 2')).toEqual([
      { r: 'bj', id: 1, name: '张' },
      { r: 'sh', id: 1, name: null },
    ]);
    const ledger = await blueRows<{ n: number; max: number }>('SELECT COUNT(*) AS n, MAX(id) AS max FROM ledger');
    expect(ledger[0]).toEqual({ n: 50, max: 1050 });
    const dead = await blueRows<{ source_table: string; source_key: string; error: string }>(
      'SELECT source_table, source_key, error FROM `_cutover`.dead_letter WHERE slot = "cutover_rev_types_rev" ORDER BY id',
    );
    expect(dead.map((d) => [d.source_table, JSON.parse(d.source_key)])).toEqual([
      ['duoduo.orders', { id: '4' }],
      ['duoduo.orders', { id: '5' }],
      ['duoduo.members', { id: '2' }],
    ]);
    expect(dead[2]!.error).toMatch(/Duplicate entry 'a@x'/);
    expect(await blueRows('SELECT id, email, name FROM members ORDER BY id')).toEqual([{ id: 1, email: 'a@x', name: 'renamed' }]);
    expect(dead[0]!.error).toMatch(/created: infinity cannot be stored/);
    expect(dead[1]!.error).toMatch(/"lost" is not a value of status enum\('new','paid','shipped'\)/);
    const status = await reverse.status();
    expect(status.deadLetters).toBe(3);
    expect(status.direction).toBe('reverse');
    // the heartbeat travels green -> blue: lag is measured from blue's apply_state
    await until(async () => (await reverse.status()).heartbeatAgeMs !== null, 20_000, 'a heartbeat applied on blue');
    expect((await reverse.status()).heartbeatAgeMs).toBeLessThan(3000);
    await reverse.stop();
    await admin.query('SET GLOBAL read_only = OFF');
  });

  test('a fenced blue refuses an account without READ_ONLY ADMIN: the worker fails naming the GRANT, blue unchanged, no dead letters', async () => {
    await admin.query('SET GLOBAL read_only = ON');
    try {
      const reverse = new PostgresReplicator(environment('app', 'cutover_rev_plain'), 'reverse', new RecordingOutput());
      replicators.push(reverse);
      await sql(green.url, `insert into duoduo.ledger values (7001, 1)`);
      // refused at its start (its session may not even check the kit's tables), not per row
      await expect(reverse.start({ foreground: true })).rejects.toThrow(/blue refuses the reverse replication's writes[\s\S]*GRANT READ_ONLY ADMIN/);
      const status = await reverse.status();
      expect(status.phase).toBe('failed');
      expect(await blueRows('SELECT id FROM ledger WHERE id = 7001')).toEqual([]);
      expect(status.deadLetters).toBe(0);
      // the same account writes once the fence is lifted: it is the fence, not a missing table grant
      await admin.query('SET GLOBAL read_only = OFF');
      await reverse.start({ foreground: true });
      await sql(green.url, `update duoduo.ledger set n = 2 where id = 7001`);
      await caughtUp(reverse);
      expect(await blueRows('SELECT id FROM ledger WHERE id = 7001')).toEqual([{ id: 7001 }]);
      await reverse.stop();
    } finally {
      await admin.query('SET GLOBAL read_only = OFF');
    }
  });

  test('kill -9 of the detached worker mid-stream: after a restart every change is on blue exactly once', async () => {
    await admin.query('DELETE FROM ledger; DELETE FROM ledger_audit;');
    await sql(green.url, 'delete from duoduo.ledger');
    const reverse = new PostgresReplicator(environment('kit', 'cutover_rev_kill'), 'reverse', new RecordingOutput());
    replicators.push(reverse);
    await reverse.start();
    const pid = (await reverse.status()).worker!.pid;
    expect(pid).not.toBe(process.pid);
    const total = 2000;
    const writer = (async () => {
      const c = await connect(green.url);
      try {
        for (let i = 0; i < total; i += 10) await c.query(`insert into duoduo.ledger select g, g from generate_series(${10001 + i}, ${10010 + i}) g`);
      } finally {
        await c.end();
      }
    })();
    await until(async () => Number((await blueRows<{ n: number }>('SELECT COUNT(*) AS n FROM ledger'))[0]!.n) >= 300, 60_000, 'blue to have 300 rows');
    process.kill(pid, 'SIGKILL');
    await until(async () => !processAlive(pid), 5000, 'the worker to die');
    const atKill = Number((await blueRows<{ n: number }>('SELECT COUNT(*) AS n FROM ledger'))[0]!.n);
    await writer;
    expect(atKill).toBeLessThan(total); // killed mid-stream
    expect((await reverse.status()).phase).toBe('failed');
    await reverse.start();
    await caughtUp(reverse);
    const [counts] = await blueRows<{ rows: number; audited: number; distinct: number }>(
      'SELECT (SELECT COUNT(*) FROM ledger) AS `rows`, (SELECT COUNT(*) FROM ledger_audit) AS audited, (SELECT COUNT(DISTINCT id) FROM ledger_audit) AS `distinct`',
    );
    // every change arrived (none lost), and each insert ran exactly once (the BEFORE INSERT trigger counts every attempt that committed)
    expect(counts).toEqual({ rows: total, audited: total, distinct: total });
    await reverse.stop();
  });

  test('a lost acknowledgement (green\'s slot behind the position blue stored): the transactions sent again are skipped, none applied twice', async () => {
    const reverse = new PostgresReplicator(environment('kit', 'cutover_rev_ack'), 'reverse', new RecordingOutput());
    replicators.push(reverse);
    await reverse.start({ foreground: true });
    const slot = 'cutover_rev_ack_rev';
    // the slot as it is now: a copy keeps its confirmed position (PostgreSQL 12+)
    await sql(green.url, `select pg_copy_logical_replication_slot('${slot}', '${slot}_behind')`);
    const c = await connect(green.url);
    try {
      for (let i = 0; i < 100; i += 10) await c.query(`insert into duoduo.ledger select g, g from generate_series(${50001 + i}, ${50010 + i}) g`);
    } finally {
      await c.end();
    }
    await caughtUp(reverse);
    await reverse.stop();
    // blue committed those 10 transactions; green "never heard": its slot goes back to the copy
    await sql(green.url, `select pg_drop_replication_slot('${slot}')`);
    await sql(green.url, `select pg_copy_logical_replication_slot('${slot}_behind', '${slot}'); select pg_drop_replication_slot('${slot}_behind')`);
    await sql(green.url, 'insert into duoduo.ledger select g, g from generate_series(50101, 50110) g');
    await reverse.start({ foreground: true });
    await caughtUp(reverse);
    const [counts] = await blueRows<{ rows: number; audited: number }>(
      'SELECT (SELECT COUNT(*) FROM ledger WHERE id > 50000) AS `rows`, (SELECT COUNT(*) FROM ledger_audit WHERE id > 50000) AS audited',
    );
    expect(counts).toEqual({ rows: 110, audited: 110 });
    await reverse.stop();
  });

  test('a reverse mapping naming a table or column blue does not have is refused at start, naming them', async () => {
    const session = await openMysqlApplySession(maria.urlFor('legacy_shop', { name: 'kit', password: 'kit-pw' }));
    try {
      const table = (target: string, column: string) =>
        ({
          source: { schema: 'duoduo', table: 'orders' },
          target: { schema: 'legacy_shop', table: target },
          primaryKey: ['id'],
          targetPrimaryKey: ['id'],
          columns: [{ kind: 'copy', source: 'id', target: 'id', sourceType: 'bigint', targetType: 'bigint' }, { kind: 'copy', source: 'x', target: column, sourceType: 'text', targetType: 'text' }],
          sourceColumns: [],
        }) as unknown as MappedTable;
      await expect(new MysqlChangeApplier(session, 's', 'reverse', [table('ordres', 'note')]).init()).rejects.toThrow(/blue does not have: legacy_shop\.ordres/);
      await expect(new MysqlChangeApplier(session, 's', 'reverse', [table('orders', 'note_typo')]).init()).rejects.toThrow(/legacy_shop\.orders columns note_typo/);
    } finally {
      await session.end();
    }
  });

  test('assess warns, with the GRANTs, when the account cannot apply reverse replication into a fenced blue', async () => {
    const warning = async (user: string) =>
      (await new MysqlInspector(environment(user, `cutover_assess_${user}`), new RecordingOutput()).assess()).findings.filter((f) => f.id === 'mysql-privileges-reverse');
    const [app] = await warning('app');
    expect(app?.severity).toBe('warning');
    expect(app?.handling).toBe("GRANT READ_ONLY ADMIN ON *.* TO 'app'@'127.0.0.1'; — never to the application's account (on platform \"aws\" the DMS reverse task's account needs the same)");
    expect(await warning('kit')).toEqual([]);
  });
});
