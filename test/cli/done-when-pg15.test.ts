import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { processAlive, readStatusFile } from '../../lib/replication/status-file.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { canStartMajor, startTestPostgres } from '../_helpers/pg.ts';
import { sql, until } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/**
 * Issue #11 "Done when", as a user walks it through the CLI: two PostgreSQL 15 servers, tables in
 * schema `legacy` (capitals, a Chinese column) renamed to `app` by a DMS mapping, the minimal config;
 * assess, snapshot, replicate start, live writes with primary-key updates, kill -9 of the worker,
 * replicate start again, replicate wait, validate equal + an independent ORDER BY comparison,
 * injected differences named exactly, then cancel leaves nothing of the kit in the catalogs.
 */
const FORWARD = { rules: [
  { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'legacy', 'object-locator': { 'schema-name': 'legacy', 'table-name': '%' }, 'rule-action': 'include' },
  { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'schema', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'legacy' }, 'rule-action': 'rename', value: 'app' },
] };
const REVERSE = { rules: [
  { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'app', 'object-locator': { 'schema-name': 'app', 'table-name': '%' }, 'rule-action': 'include' },
  { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'schema', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'app' }, 'rule-action': 'rename', value: 'legacy' },
] };

describe.runIf(canStartMajor(15))('issue #11 done-when walk on PostgreSQL 15 (non-public schemas, DMS rename)', () => {
  let blue: Awaited<ReturnType<typeof startTestPostgres>>;
  let green: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  const pids: number[] = [];
  const base = (...args: string[]) => ['--config', cfg.file, '--env', 'pg15', ...args];

  beforeAll(async () => {
    [blue, green] = await Promise.all([startTestPostgres('blue', undefined, 15), startTestPostgres('green', undefined, 15)]);
    const ddl = (s: string) => `create schema ${s};
      create table ${s}."Orders" (id int primary key, "客户" text not null, total numeric(10,2));
      create table ${s}.items (item_no int primary key, name text)`;
    await sql(blue.url, ddl('legacy'));
    await sql(green.url, ddl('app'));
    await sql(blue.url, `insert into legacy."Orders" select g, '顾客' || g, g * 2.5 from generate_series(1, 500) g;
      insert into legacy.items select g, 'item ' || g from generate_series(1, 100) g`);
    cfg = tempConfig({ pg15: { platform: 'postgres', source: { url: blue.url }, target: { url: green.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } });
    writeFileSync(path.join(cfg.dir, 'forward.json'), JSON.stringify(FORWARD));
    writeFileSync(path.join(cfg.dir, 'reverse.json'), JSON.stringify(REVERSE));
  }, 90_000);
  afterAll(async () => {
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    cfg?.dispose();
    await Promise.all([blue?.dispose(), green?.dispose()]);
  });

  const dump = async (url: string, schema: string) => {
    const o = await sql(url, `select id, "客户", total::text from ${schema}."Orders" order by id`);
    const i = await sql(url, `select item_no, name from ${schema}.items order by item_no`);
    return JSON.stringify([o.rows, i.rows]);
  };

  test('assess → snapshot → replicate (kill -9, restart) → wait → validate → differences → cancel', async () => {
    for (const step of [['assess'], ['snapshot'], ['replicate', 'start']]) {
      const r = await runCli(base(...step));
      expect(r.code, `${step.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
    }
    const env = selectEnvironment(await loadConfig({ file: cfg.file, cwd: cfg.dir, env: process.env }), 'pg15') as ResolvedPostgresEnvironment;
    const pid1 = readStatusFile(streamNames(env, 'forward').statusFile)?.worker?.pid;
    expect(pid1).toBeTypeOf('number');
    pids.push(pid1!);

    // live writes, primary-key updates among them; kill -9 the worker half-way
    for (let round = 0; round < 20; round++) {
      await sql(blue.url, `begin;
        insert into legacy."Orders" values (${1000 + round}, '新' || ${round}, ${round});
        update legacy."Orders" set id = id + 10000 where id = ${round + 1};
        update legacy.items set item_no = item_no + 5000, name = 'moved' where item_no = ${round + 1};
        update legacy."Orders" set "客户" = '改' where id = ${100 + round};
        delete from legacy.items where item_no = ${50 + round};
        commit`);
      if (round === 10) {
        process.kill(pid1!, 'SIGKILL');
        // a signal takes effect once the killed process is scheduled: on a busy machine, later
        await until(async () => !processAlive(pid1!), 15_000, 'the killed worker to die');
      }
    }
    const again = await runCli(base('replicate', 'start'));
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    const pid2 = readStatusFile(streamNames(env, 'forward').statusFile)?.worker?.pid;
    pids.push(pid2!);
    expect(pid2).not.toBe(pid1);
    expect(processAlive(pid2!)).toBe(true);

    const wait = await runCli(base('replicate', 'wait'));
    expect(wait.code, `${wait.stdout}\n${wait.stderr}`).toBe(0);
    const v = await runCli(base('--json', 'validate'));
    expect(v.code, `${v.stdout}\n${v.stderr}`).toBe(0);
    const report = JSON.parse(v.stdout);
    expect(report.equal).toBe(true);
    expect(report.tables.map((t: { target: string; sourceRows: number }) => `${t.target}:${t.sourceRows}`).sort()).toEqual(['app.Orders:520', 'app.items:80'].sort());
    expect(await dump(green.url, 'app')).toBe(await dump(blue.url, 'legacy'));

    // injected differences on the target: validate names exactly those keys, exit 1
    await sql(green.url, `update app."Orders" set "客户" = '错' where id = 200; delete from app."Orders" where id = 300;
      insert into app.items values (99999, 'stray'); update app.items set name = 'x' where item_no = 30`);
    const d = await runCli(base('--json', 'validate'));
    expect(d.code, d.stderr).toBe(1);
    const byTable = Object.fromEntries(JSON.parse(d.stdout).tables.map((t: { target: string }) => [t.target, t]));
    const orders = byTable['app.Orders'];
    const items = byTable['app.items'];
    expect([orders.different, orders.missing, orders.extra]).toEqual([[{ id: 200 }], [{ id: 300 }], []]);
    expect([items.different, items.missing, items.extra]).toEqual([[{ item_no: 30 }], [], [{ item_no: 99999 }]]);

    const c = await runCli(base('--yes', 'cancel'));
    expect(c.code, `${c.stdout}\n${c.stderr}`).toBe(0);
    for (const url of [blue.url, green.url]) {
      const left = await sql(url, `select 'slot ' || slot_name as o from pg_replication_slots
        union all select 'publication ' || pubname from pg_publication
        union all select 'origin ' || roname from pg_replication_origin
        union all select 'schema ' || nspname from pg_namespace where nspname = '_cutover'`);
      expect(left.rows.map((r) => r.o)).toEqual([]);
    }
    expect(processAlive(pid2!)).toBe(false);
  }, 120_000);
});
