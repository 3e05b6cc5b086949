import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { rehearse } from '../../lib/rehearsal/rehearse.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { testPostgresTemplate } from '../_helpers/pg.ts';
import { brief, SHADOW, phase, runSmallRehearsal } from './run-rehearsal.ts';

/**
 * `npm start -- --legacy mariadb --legacy-url …` at a small size: cainiao on a MariaDB server the
 * user runs (started here, apart from the rehearsal, with a table and an account of the user's
 * own), the binlog replicator forward, PostgreSQL → MariaDB in reverse. The rehearsal must leave
 * that server as it found it. (The server the rehearsal starts itself, `--legacy mariadb` alone,
 * is the one test/_helpers/mariadb.ts starts: lib/rehearsal/mariadb-server.ts.) Skipped with the
 * reason where no MariaDB binary exists (CI installs it: .ci/run).
 */
describe.skipIf(mariadbMissing)(`rehearsal with a MariaDB legacy (--legacy mariadb --legacy-url) ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  /** What a user's server holds that the rehearsal must not touch: databases, cainiao's tables, accounts, read_only. */
  const footprint = async () => {
    const c = await maria.connect();
    try {
      const [dbs] = await c.query("SELECT schema_name AS n FROM information_schema.schemata WHERE schema_name NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') ORDER BY 1");
      const [tables] = await c.query("SELECT table_name AS n FROM information_schema.tables WHERE table_schema = 'cainiao' ORDER BY 1");
      const [users] = await c.query("SELECT CONCAT(user, '@', host) AS n FROM mysql.user WHERE user <> '' ORDER BY 1");
      const [[ro]] = (await c.query('SELECT @@global.read_only AS ro')) as unknown as [{ ro: number }[]];
      const [[notes]] = (await c.query('SELECT COUNT(*) AS n FROM cainiao.user_notes')) as unknown as [{ n: number }[]];
      const names = (rows: unknown) => (rows as { n: string }[]).map((x) => x.n);
      return { databases: names(dbs), tables: names(tables), users: names(users), readOnly: Number(ro!.ro), userNotes: Number(notes!.n) };
    } finally {
      await c.end();
    }
  };
  let before: Awaited<ReturnType<typeof footprint>>;

  beforeAll(async () => {
    maria = await startTestMariadb({ database: 'cainiao' });
    // the user's own: a table beside the demo's, another database, another account
    await maria.exec(`CREATE TABLE user_notes (id INT PRIMARY KEY, body VARCHAR(40)); INSERT INTO user_notes VALUES (1, '用户的 note');
      CREATE DATABASE users_own; CREATE USER 'someone'@'%' IDENTIFIED BY 'pw-of-someone'`, 'cainiao');
    before = await footprint();
    r = await runSmallRehearsal(null, 'folder', { legacy: 'mariadb', legacyUrl: maria.url, orders: 200, rate: 40, shiftSteps: [50, 100], ...SHADOW });
  }, 300_000);
  afterAll(async () => {
    r?.cleanup();
    await maria?.dispose();
  });

  test('every phase runs and passes under live load, from MariaDB to PostgreSQL', () => {
    expect(r.report.phases.slice(0, 9).map((p) => [p.name, p.outcome, p.outcome === 'ok' ? '' : p.summary])).toEqual(
      ['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch', 'bake', 'finalize'].map((name) => [name, 'ok', '']),
    );
    expect(phase(r.report, 'snapshot').summary).toMatch(/at binlog\.\d+:\d+/);
    expect(r.report.options.legacy).toBe('mariadb');
    expect(r.code, brief(r)).toBe(0);
  });

  test('no client request failed, every acknowledged write is on green with its content, validation equal', () => {
    expect(r.report.requests.total).toBeGreaterThan(50);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger).toMatchObject({ checkedOn: 'green', missing: 0, mismatched: 0 });
    expect(r.report.ledger.acknowledged).toBeGreaterThan(5);
    expect(r.report.validation.equal).toBe(true);
    expect(r.report.validation.tables.map((t) => t.source).sort()).toEqual(['cainiao.t_customer', 'cainiao.t_inventory', 'cainiao.t_order', 'cainiao.t_order_item', 'cainiao.t_product']);
    expect(r.report.switch.writePauseMs.p50).not.toBeNull();
  });

  test('inside the write hold the frozen validation compares only the rows changed since the validate phase (the binlog worker records their keys)', () => {
    expect(r.out.text()).toMatch(/frozen validation: \d+ row\(s\) changed in \d+ table\(s\) since the full validation that started at binlog\.\d+:\d+/);
    expect(r.out.text()).not.toMatch(/the frozen validation compares every row/);
  });

  test('the user\'s server is left as it was found: no demo table, no _cutover database, no demo account, read_only as before; the user\'s own table, database and account untouched', async () => {
    expect(r.code, brief(r)).toBe(0);
    expect(await footprint()).toEqual(before);
    expect(before).toMatchObject({ tables: ['user_notes'], readOnly: 0, userNotes: 1 });
  });

  test('fails if a demo table name is taken on the user\'s server (exit 2, naming it): the user\'s table keeps its row, nothing is created', async () => {
    await maria.exec(`CREATE TABLE t_order (id INT PRIMARY KEY, note VARCHAR(20)); INSERT INTO t_order VALUES (1, 'mine')`, 'cainiao');
    try {
      const taken = await footprint();
      const out = new RecordingOutput();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-'));
      try {
        const code = await rehearse({ legacy: 'mariadb', legacyUrl: maria.url, orders: 200, rate: 40, dir, serverTemplate: await testPostgresTemplate() }, out);
        expect(code, out.text()).toBe(2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect(out.text()).toMatch(/cainiao\.t_order already exists/);
      expect(await footprint()).toEqual(taken);
      const c = await maria.connect('cainiao');
      try {
        expect((await c.query('SELECT id, note FROM t_order'))[0]).toEqual([{ id: 1, note: 'mine' }]);
      } finally {
        await c.end();
      }
    } finally {
      await maria.exec('DROP TABLE t_order', 'cainiao');
    }
  });

  test('a rehearsal that fails after creating its account and tables removes them too', async () => {
    // seeding streams LOAD DATA LOCAL: with local_infile off the server refuses it, after the account and the tables exist
    await maria.exec('SET GLOBAL local_infile = 0');
    const out = new RecordingOutput();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-rehearsal-'));
    try {
      const code = await rehearse({ legacy: 'mariadb', legacyUrl: maria.url, orders: 200, rate: 40, dir, serverTemplate: await testPostgresTemplate() }, out);
      expect(code, out.text()).not.toBe(0);
      expect(out.text()).toMatch(/cainiao on the MySQL server at .* the blue app writes as cutover_demo_app/);
      expect(out.text()).toMatch(/NOT_SUPPORTED: the server refuses LOAD DATA LOCAL/);
      expect(code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await maria.exec('SET GLOBAL local_infile = 1');
    }
    expect(await footprint()).toEqual(before);
  });
});
