import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { createPlatform } from '../../lib/platform/create-platform.ts';
import type { Platform } from '../../lib/platform/roles.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { replaceWithNamedPipe } from '../_helpers/named-pipe.ts';

const TABLES = `
  CREATE TABLE orders (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    paid TINYINT(1) NOT NULL,
    amount DECIMAL(20,6) NULL,
    created DATETIME(6) NULL,
    stamped TIMESTAMP(6) NULL DEFAULT NULL,
    photo BLOB NULL,
    meta JSON NULL,
    status ENUM('new','paid','shipped') NOT NULL,
    tags SET('a','b','c') NULL,
    ratio FLOAT NULL,
    score DOUBLE NULL,
    flags BIT(3) NULL,
    note VARCHAR(100) NULL,
    doubled DECIMAL(21,6) AS (amount * 2) VIRTUAL
  ) ENGINE=InnoDB;
  INSERT INTO orders (paid, amount, created, stamped, photo, meta, status, tags, ratio, score, flags, note) VALUES
    (1, 12345678901234.123456, '2024-03-10 00:30:00.123456', '2024-03-10 00:30:00.5', X'00FF10', '{"b": [1, 2.50], "a": "中"}', 'paid', 'a,c', 1.1, 0.1, b'101', '菜鸟 😀 order'),
    (0, -0.000001, '1000-01-01 00:00:00', NULL, X'', '{}', 'new', '', 3.4e38, -2.2250738585072014e-308, b'000', 'tab\\there "quoted" \\\\ back\\nslash'),
    (0, NULL, NULL, NULL, NULL, NULL, 'shipped', NULL, NULL, NULL, NULL, NULL);
  CREATE TABLE \`客户\` (region CHAR(2) NOT NULL, no INT NOT NULL, \`名字\` VARCHAR(20), PRIMARY KEY (region, no)) ENGINE=InnoDB;
  INSERT INTO \`客户\` VALUES ('bj', 2, '王'), ('bj', 1, '李'), ('sh', 1, NULL);
  CREATE TABLE left_out (id INT PRIMARY KEY) ENGINE=InnoDB;
  CREATE TABLE acct_a (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE acct_b (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;`;

/**
 * `cutover snapshot` / `restore` for a MariaDB blue through the platform (MysqlSnapshotter): one
 * consistent snapshot (money moving between two tables during it keeps its sum), every type
 * restored exactly into a scratch database and checked row for row, damage and a non-empty target refused.
 */
describe.skipIf(mariadbMissing)(`snapshot and verified restore of a MariaDB source ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let admin: mysql.Connection;
  let platform: Platform;
  let env: ResolvedPostgresEnvironment;
  let limitedEnv: ResolvedPostgresEnvironment;
  const out = new RecordingOutput();
  const rows = async <T,>(text: string): Promise<T[]> => (await admin.query(text))[0] as T[];

  beforeAll(async () => {
    maria = await startTestMariadb({ database: 'legacy_shop' });
    admin = await maria.connect('legacy_shop');
    await admin.query(TABLES);
    await admin.query(`INSERT INTO acct_a SELECT seq, 100 FROM seq_1_to_20000; INSERT INTO acct_b SELECT seq, 100 FROM seq_1_to_20000;`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-mysql-snap-'));
    const exclude = { 'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'x', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': 'left_out' }, 'rule-action': 'exclude' };
    writeFileSync(
      path.join(dir, 'forward.json'),
      JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's', 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': '%' }, 'rule-action': 'include' }, exclude] }),
    );
    writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }] }));
    const lab = (url: string) => ({ platform: 'local', source: { url }, target: { url: 'postgres://kit:pw@127.0.0.1:5432/duoduo' }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } });
    const limited = new URL(maria.url);
    limited.username = 'snap_ro';
    limited.password = 'pw';
    const raw = { environments: { lab: lab(maria.url), limited: { ...lab(limited.toString()), backup: { dir: 'limited-backups' } } } };
    env = selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json')), 'lab') as ResolvedPostgresEnvironment;
    limitedEnv = selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json')), 'limited') as ResolvedPostgresEnvironment;
    platform = await createPlatform(env, out);
  }, 180_000);
  afterAll(async () => {
    await platform?.close();
    await admin?.end().catch(() => {});
    await maria?.dispose();
  });

  test('snapshot while money moves between two tables: one consistent point, every selected table, binlog position, sha256 per file; restore is exact', async () => {
    let moving = true;
    /** The GTID sequence number of move i (it moved acct_a row i + 1). */
    const moveGtid: number[] = [];
    const mover = (async () => {
      const c = await maria.connect('legacy_shop');
      let moves = 0;
      try {
        while (moving || moves < 20) {
          const id = 1 + (moves % 20000);
          const [results] = await c.query(`START TRANSACTION; UPDATE acct_a SET v = v - 7 WHERE id = ${id}; UPDATE acct_b SET v = v + 7 WHERE id = ${20001 - id}; COMMIT; SELECT @@last_gtid AS g;`);
          moveGtid.push(Number(String(((results as unknown[]).at(-1) as { g: string }[])[0]!.g).split('-')[2]));
          moves++;
        }
      } finally {
        await c.end();
      }
      return moves;
    })();
    const manifest = await platform.snapshotter.snapshot();
    moving = false;
    expect(await mover).toBeGreaterThanOrEqual(20);
    expect(manifest.tables.map((t) => `${t.name}:${t.rows}`)).toEqual(['legacy_shop.acct_a:20000', 'legacy_shop.acct_b:20000', 'legacy_shop.orders:3', 'legacy_shop.客户:3']);
    expect(manifest.position).toMatch(/^binlog\.\d+:\d+$/);
    for (const t of manifest.tables) expect(t.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.ddl).toMatch(/CREATE TABLE `orders`/);
    expect((await platform.snapshotter.verify(manifest.id)).ok).toBe(true);

    await maria.createDatabase('restore_check');
    const restored = await platform.snapshotter.restore({ id: manifest.id, targetUrl: maria.urlFor('restore_check') });
    expect(restored).toEqual({ ok: true, problems: [] });
    // the snapshot saw both halves of every move or neither: the sum is what it always is
    const [sum] = await rows<{ s: string }>('SELECT CAST((SELECT SUM(v) FROM restore_check.acct_a) + (SELECT SUM(v) FROM restore_check.acct_b) AS CHAR) AS s');
    expect(sum!.s).toBe(String(20000 * 200));
    // and exactly the moves committed before the snapshot's binlog point (its GTID) are in it
    const snapshotGtid = Number(String((manifest as unknown as { binlog: { gtid: string } }).binlog.gtid).split('-')[2]);
    const inSnapshot = (await rows<{ id: number }>('SELECT id FROM restore_check.acct_a WHERE v <> 100 ORDER BY id')).map((r) => r.id);
    expect(inSnapshot).toEqual(moveGtid.map((g, i) => [g, i + 1]).filter(([g]) => g! <= snapshotGtid).map(([, id]) => id));
    const same = async (table: string, cols: string) =>
      expect(await rows(`SELECT ${cols} FROM restore_check.${table} ORDER BY 1`)).toEqual(await rows(`SELECT ${cols} FROM legacy_shop.${table} ORDER BY 1`));
    await same(
      'orders',
      'id, paid, CAST(amount AS CHAR) a, CAST(created AS CHAR) c, CAST(stamped AS CHAR) s, HEX(photo) p, CAST(meta AS CHAR) m, status, tags, CAST(ratio AS CHAR) r, CAST(score AS CHAR) d, BIN(flags) f, HEX(note) n, CAST(doubled AS CHAR) g',
    );
    await same('`客户`', "CONCAT(region, '/', no) k, `名字`");
    const [ai] = await rows<{ ai: number }>("SELECT AUTO_INCREMENT AS ai FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'restore_check' AND TABLE_NAME = 'orders'");
    expect(Number(ai!.ai)).toBe(4);

    // a non-empty target is refused, nothing changed
    await expect(platform.snapshotter.restore({ id: manifest.id, targetUrl: maria.urlFor('restore_check') })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    // a PostgreSQL URL is not where a MySQL backup goes
    await expect(platform.snapshotter.restore({ id: manifest.id, targetUrl: 'postgres://u:p@127.0.0.1:5432/x' })).rejects.toMatchObject({ code: 'USAGE' });

    // one flipped byte: verify names the file, restore refuses it
    const file = path.join(env.backupDir, manifest.tables[2]!.file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 12] ^= 0xff;
    writeFileSync(file, bytes);
    const check = await platform.snapshotter.verify(manifest.id);
    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toMatch(/legacy_shop\.orders: .*orders\.jsonl\.gz (is|cannot be read)/);
    await maria.createDatabase('restore_damaged');
    await expect(platform.snapshotter.restore({ id: manifest.id, targetUrl: maria.urlFor('restore_damaged') })).rejects.toMatchObject({ code: 'GATE_FAILED' });
  }, 120_000);
  test('a snapshot that fails midway (no SELECT on one table) leaves no backup files; a re-run after the grant works', async () => {
    await admin.query(`CREATE USER snap_ro@'%' IDENTIFIED BY 'pw';
      GRANT SELECT ON legacy_shop.acct_a TO snap_ro@'%'; GRANT SELECT ON legacy_shop.acct_b TO snap_ro@'%';
      GRANT SELECT ON legacy_shop.\`客户\` TO snap_ro@'%'; GRANT SELECT ON legacy_shop.left_out TO snap_ro@'%';
      GRANT INSERT ON legacy_shop.orders TO snap_ro@'%'; GRANT BINLOG MONITOR ON *.* TO snap_ro@'%'`);
    const limited = await createPlatform(limitedEnv, out);
    try {
      // acct_a and acct_b are written before orders fails
      await expect(limited.snapshotter.snapshot()).rejects.toThrow(/orders/);
      expect(existsSync(limitedEnv.backupDir) ? readdirSync(limitedEnv.backupDir) : []).toEqual([]);
      await admin.query("GRANT SELECT ON legacy_shop.orders TO snap_ro@'%'");
      const manifest = await limited.snapshotter.snapshot();
      expect(manifest.tables.map((t) => t.name)).toEqual(['legacy_shop.acct_a', 'legacy_shop.acct_b', 'legacy_shop.orders', 'legacy_shop.客户']);
      expect(readdirSync(limitedEnv.backupDir)).toEqual([manifest.id]);
    } finally {
      await limited.close();
    }
  }, 120_000);

  test('Ctrl-C during a restore stops it mid-table and drops exactly the tables it created: ABORTED, the database empty again', async () => {
    const manifest = await platform.snapshotter.snapshot();
    // acct_b's file becomes a named pipe the test feeds: the restore is provably mid-table (acct_a in, acct_b half read)
    const pipe = replaceWithNamedPipe(path.join(env.backupDir, manifest.tables.find((t) => t.name === 'legacy_shop.acct_b')!.file));
    await maria.createDatabase('restore_stopped');
    try {
      const stop = new AbortController();
      const restoring = platform.snapshotter.restore({ id: manifest.id, targetUrl: maria.urlFor('restore_stopped'), signal: stop.signal });
      restoring.catch(() => {});
      const rest = await pipe.feed(restoring);
      stop.abort();
      await rest(); // a restore that went on would now finish
      await expect(restoring).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringContaining(`restore of backup ${manifest.id} interrupted`) });
    } finally {
      pipe.restore();
    }
    expect(await rows("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'restore_stopped'")).toEqual([]);
    expect(out.lines.map((l) => l.message).join('\n')).toMatch(/dropped the table\(s\) this run had restored: restore_stopped\.acct_a, restore_stopped\.acct_b/);
    // empty again: the re-run the error names works
    expect(await platform.snapshotter.restore({ id: manifest.id, targetUrl: maria.urlFor('restore_stopped') })).toEqual({ ok: true, problems: [] });
  }, 120_000);
});
