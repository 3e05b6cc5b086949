import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { CrossEngineValidator } from '../../lib/diff/cross-engine-validator.ts';
import { createDuoduoSchema } from '../../lib/demo/duoduo-schema.ts';
import {
  buildForwardMapping,
  buildReverseMapping,
  FORWARD_MAPPING_FILE,
  mappingFileText,
  MYSQL_FORWARD_MAPPING_FILE,
  MYSQL_REVERSE_MAPPING_FILE,
} from '../../lib/demo/mapping-files.ts';
import { seedCainiaoMysql } from '../../lib/demo/seed-cainiao-mysql.ts';
import { connectMysql } from '../../lib/engines/mysql/mysql-connection.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { runCli } from '../cli/run-cli.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { mirrorToDuoduo } from './mirror-to-duoduo.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const SEED = { seed: 9, orders: 500 };

test('the committed MySQL-variant mapping files are what the builders produce (regenerate with `npx tsx lib/demo/mapping-files.ts --write`)', () => {
  expect(readFileSync(path.join(root, MYSQL_FORWARD_MAPPING_FILE), 'utf8')).toBe(mappingFileText(buildForwardMapping('mysql')));
  expect(readFileSync(path.join(root, MYSQL_REVERSE_MAPPING_FILE), 'utf8')).toBe(mappingFileText(buildReverseMapping('mysql')));
  const forward = buildForwardMapping('mysql').rules as Record<string, any>[];
  // DMS reads a MySQL source's database as the schema; a schema rename lands the tables in duoduo's public
  expect(forward.filter((r) => r['rule-type'] === 'selection').every((r) => r['object-locator']['schema-name'] === 'cainiao')).toBe(true);
  expect(forward.find((r) => r['rule-target'] === 'schema')).toMatchObject({ 'rule-action': 'rename', 'object-locator': { 'schema-name': 'cainiao' }, value: 'public' });
  const reverse = buildReverseMapping('mysql').rules as Record<string, any>[];
  expect(reverse.find((r) => r['rule-target'] === 'schema')).toMatchObject({ 'rule-action': 'rename', 'object-locator': { 'schema-name': 'public' }, value: 'cainiao' });
  // the PostgreSQL variant is unchanged by the option
  expect(mappingFileText(buildForwardMapping())).toBe(readFileSync(path.join(root, FORWARD_MAPPING_FILE), 'utf8'));
});

describe.skipIf(mariadbMissing)(`the MySQL-variant mapping files against a MariaDB cainiao ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let pgServer: Awaited<ReturnType<typeof startTestPostgres>>;
  let dir: string;
  let configFile: string;
  let env: ResolvedPostgresEnvironment;
  beforeAll(async () => {
    [maria, pgServer] = await Promise.all([startTestMariadb({ database: 'cainiao' }), startTestPostgres('duoduo')]);
    const my = await connectMysql(maria.url);
    const pgc = await connect(pgServer.url);
    try {
      await seedCainiaoMysql(my, SEED);
      await createDuoduoSchema(pgc);
      // DATETIME wall-clock times are UTC for the kit (its MySQL sessions run in UTC)
      await pgc.query(`set timezone = 'UTC'`);
      await mirrorToDuoduo(pgc, SEED);
    } finally {
      await my.end();
      await pgc.end();
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-mysql-maps-'));
    configFile = path.join(dir, 'cutover.config.json');
    const raw = {
      environments: {
        lab: {
          platform: 'postgres',
          source: { url: maria.url },
          target: { url: pgServer.url },
          mappings: { forward: path.join(root, MYSQL_FORWARD_MAPPING_FILE), reverse: path.join(root, MYSQL_REVERSE_MAPPING_FILE) },
          stateDir: path.join(dir, 'state'),
          validation: { chunkRows: 200, concurrency: 2 },
        },
      },
    };
    writeFileSync(configFile, JSON.stringify(raw, null, 2));
    env = selectEnvironment(parseConfig(raw, configFile), 'lab') as ResolvedPostgresEnvironment;
  }, 180_000);
  afterAll(async () => {
    await Promise.all([maria?.dispose(), pgServer?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('`cutover mappings check` passes both files against their databases (forward: MariaDB, reverse: duoduo) and names a schema that is not there', async () => {
    for (const file of [MYSQL_FORWARD_MAPPING_FILE, MYSQL_REVERSE_MAPPING_FILE]) {
      const offline = await runCli(['mappings', 'check', path.join(root, file)]);
      expect(offline.code, offline.stderr).toBe(0);
      const online = await runCli(['mappings', 'check', path.join(root, file), '--config', configFile, '--env', 'lab']);
      expect(online.code, online.stderr + online.stdout).toBe(0);
      expect(online.stdout + online.stderr).toContain(`checked against the ${file === MYSQL_FORWARD_MAPPING_FILE ? 'source' : 'target'} catalog`);
    }
    // the PostgreSQL variant names schema public, which a MySQL cainiao does not have
    const wrong = await runCli(['mappings', 'check', path.join(root, FORWARD_MAPPING_FILE), '--config', configFile, '--env', 'lab']);
    expect(wrong.code).not.toBe(0);
  }, 60_000);

  test('validate (cross-engine) finds the MariaDB cainiao and the duoduo the forward mapping produces equal, and names a changed row', async () => {
    const report = await new CrossEngineValidator(env, new RecordingOutput()).validate();
    expect(report.tables.map((t) => [t.source, t.target, t.sourceRows === t.targetRows]).sort()).toEqual([
      ['cainiao.t_customer', 'public.customers', true],
      ['cainiao.t_product', 'public.products', true],
      ['cainiao.t_inventory', 'public.inventory', true],
      ['cainiao.t_order', 'public.orders', true],
      ['cainiao.t_order_item', 'public.order_items', true],
    ].sort());
    expect(report.tables.filter((t) => t.missing.length + t.extra.length + t.different.length > 0).map((t) => JSON.stringify(t).slice(0, 1500))).toEqual([]);
    expect(report.equal).toBe(true);
    expect(report.tables.reduce((n, t) => n + t.sourceRows, 0)).toBeGreaterThan(1500);

    const pgc = await connect(pgServer.url);
    try {
      const { rows: [row] } = await pgc.query('select id from orders order by id limit 1 offset 7');
      await pgc.query('update orders set total_amount = total_amount + 1 where id = $1', [row.id]);
      const again = await new CrossEngineValidator(env, new RecordingOutput()).validate();
      expect(again.equal).toBe(false);
      const orders = again.tables.find((t) => t.target === 'public.orders')!;
      expect(orders.different.map((d) => JSON.stringify(d))).toEqual([expect.stringContaining(String(row.id))]);
      await pgc.query('update orders set total_amount = total_amount - 1 where id = $1', [row.id]);
    } finally {
      await pgc.end();
    }
  }, 120_000);
});
