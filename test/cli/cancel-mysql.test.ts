import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { processAlive } from '../../lib/replication/status-file.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/**
 * `cutover cancel` with a MariaDB blue and a PostgreSQL green: reverse replication running (a
 * detached worker; slot and publication on green, `_cutover` on blue with a dead letter), then
 * `--dry-run` lists exactly that and changes nothing, cancel stops the worker and removes it all
 * (the dead letter kept in a file), twice is fine, and a foreign key into `_cutover` is refused.
 */
describe.skipIf(mariadbMissing)(`cutover cancel for a MySQL-family source ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let green: Awaited<ReturnType<typeof startTestPostgres>>;
  let admin: mysql.Connection;
  let cfg: ReturnType<typeof tempConfig>;
  let env: ResolvedPostgresEnvironment;
  const base = (...args: string[]) => ['--config', cfg.file, '--env', 'kit', ...args];
  const blueDatabases = async () => ((await admin.query("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '_cutover'"))[0] as { s: string }[]).map((r) => r.s);
  const greenObjects = async () =>
    (
      await sql(
        green.url,
        `select 'slot ' || slot_name as o from pg_replication_slots where slot_name like 'cutover%'
         union all select 'publication ' || pubname from pg_publication where pubname like 'cutover%' order by 1`,
      )
    ).rows.map((r) => r.o as string);

  beforeAll(async () => {
    [maria, green] = await Promise.all([startTestMariadb({ database: 'legacy_shop' }), startTestPostgres('duoduo')]);
    admin = await maria.connect('legacy_shop');
    await admin.query('CREATE TABLE ledger (id INT PRIMARY KEY, n TINYINT NOT NULL) ENGINE=InnoDB');
    await sql(green.url, 'create schema duoduo; create table duoduo.ledger (id int primary key, n int not null)');
    const rule = (schema: string, rename: string) => ({
      rules: [
        { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's', 'object-locator': { 'schema-name': schema, 'table-name': '%' }, 'rule-action': 'include' },
        { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'r', 'rule-target': 'schema', 'object-locator': { 'schema-name': schema }, 'rule-action': 'rename', value: rename },
      ],
    });
    cfg = tempConfig({ kit: { platform: 'postgres', source: { url: maria.url }, target: { url: green.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } });
    writeFileSync(path.join(cfg.dir, 'forward.json'), JSON.stringify(rule('legacy_shop', 'duoduo')));
    writeFileSync(path.join(cfg.dir, 'reverse.json'), JSON.stringify(rule('duoduo', 'legacy_shop')));
    env = selectEnvironment(await loadConfig({ file: cfg.file, cwd: cfg.dir, env: process.env }), 'kit') as ResolvedPostgresEnvironment;
  }, 180_000);
  afterAll(async () => {
    await new PostgresReplicator(env, 'reverse', new RecordingOutput()).stop().catch(() => {});
    await admin?.end().catch(() => {});
    await Promise.all([maria?.dispose(), green?.dispose()]);
    cfg?.dispose();
  });

  test('dry-run lists blue _cutover and green slot + publication; cancel stops the worker, removes them, keeps the dead letter; twice is fine', async () => {
    const reverse = new PostgresReplicator(env, 'reverse', new RecordingOutput());
    const started = await reverse.start();
    const pid = started.worker!.pid;
    expect(pid).not.toBe(process.pid);
    await sql(green.url, 'insert into duoduo.ledger values (1, 5), (2, 1000)'); // 1000 does not fit blue's TINYINT
    expect(await reverse.waitForPosition(await reverse.sourcePosition(), 60_000)).toBe(true);
    expect((await reverse.status()).deadLetters).toBe(1);

    const dry = await runCli(base('--dry-run', '--json', 'cancel'));
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout).plan as { action: string; target: string; detail?: string }[];
    const drops = plan.filter((s) => s.action.startsWith('drop ')).map((s) => `${s.action.slice(5)} ${s.target}`);
    const slot = `${env.replication.slotName}_rev`;
    expect(drops.sort()).toEqual([`publication target ${env.replication.publicationName}_rev`, 'schema source _cutover', `slot target ${slot}`].sort());
    expect(plan.find((s) => s.action === 'drop schema')?.detail).toMatch(/database: apply_state \(1 rows\), dead_letter \(1 rows\)/);
    expect(plan.map((s) => s.action)).toContain('reverse.stop');
    expect(await blueDatabases()).toEqual(['_cutover']);
    expect(processAlive(pid)).toBe(true);

    const r = await runCli(base('--yes', 'cancel'));
    expect(r.code, r.stderr).toBe(0);
    expect(processAlive(pid)).toBe(false);
    expect(await blueDatabases()).toEqual([]);
    expect(await greenObjects()).toEqual([]);
    expect(((await admin.query('SELECT id, n FROM ledger'))[0] as unknown[]).length).toBe(1); // blue's rows are kept
    const kept = readdirSync(path.join(env.stateDir, 'cancelled'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(path.join(env.stateDir, 'cancelled', kept[0]!), 'utf8')).toMatch(/Out of range value for column 'n'/);

    const again = await runCli(base('--yes', 'cancel'));
    expect(again.code, again.stderr).toBe(0);
  });

  test('a foreign key of the user into _cutover: cancel refuses, nothing dropped', async () => {
    await admin.query('CREATE DATABASE `_cutover`; CREATE TABLE `_cutover`.apply_state (id INT PRIMARY KEY) ENGINE=InnoDB');
    await admin.query('CREATE TABLE audit (state INT, FOREIGN KEY (state) REFERENCES `_cutover`.apply_state (id)) ENGINE=InnoDB');
    const r = await runCli(base('--yes', 'cancel'));
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/database _cutover on the source .* is used by objects outside it: foreign key .* on legacy_shop\.audit/);
    expect(await blueDatabases()).toEqual(['_cutover']);
    expect(existsSync(path.join(env.stateDir, 'cancelled'))).toBe(true);
  });
});
