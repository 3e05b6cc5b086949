import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { processAlive, readStatusFile } from '../../lib/replication/status-file.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/**
 * `cutover cancel` end to end on a real PostgreSQL server (blue and green are two databases of
 * it): forward replication started by the CLI (a detached worker), reverse replication started
 * too (slot on green, `_cutover` and an origin on blue), then cancel removes every trace of the
 * kit from both databases, keeps the backups, the target's rows and its dead letters, and says
 * so twice.
 */
describe('cutover cancel', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  const workers: number[] = [];
  const urls = { blue: '', green: '' };
  const base = (...args: string[]) => ['--config', cfg.file, '--env', 'kit', ...args];
  /** The URL as the least-privilege role `kitter` (no superuser). */
  const as = (url: string) => url.replace(/\/\/postgres:[^@]*@/, '//kitter:k-pw@');

  /** Every object of the kit in one database (slots, publications, schema), read from the catalogs. */
  async function kitObjects(url: string): Promise<string[]> {
    const r = await sql(
      url,
      `select 'slot ' || slot_name as o from pg_replication_slots where slot_name like 'cutover\\_kit%' and database = current_database()
       union all select 'publication ' || pubname from pg_publication where pubname like 'cutover\\_kit%'
       union all select 'schema ' || nspname from pg_namespace where nspname = '_cutover'
       order by 1`,
    );
    return r.rows.map((x) => x.o as string);
  }
  /** Replication origins of the kit (a cluster-wide catalog: both databases share one server here). */
  async function origins(): Promise<string[]> {
    const r = await sql(urls.blue, `select 'origin ' || roname as o from pg_replication_origin where roname like 'cutover\\_kit%' order by 1`);
    return r.rows.map((x) => x.o as string);
  }

  beforeAll(async () => {
    server = await startTestPostgres();
    await sql(server.url, 'create database blue');
    await sql(server.url, 'create database green');
    urls.blue = server.urlFor('blue');
    urls.green = server.urlFor('green');
    const schema = 'create table orders (id int primary key, note text not null)';
    await sql(urls.blue, schema);
    await sql(urls.green, schema);
    await sql(urls.blue, "insert into orders select g, 'o' || g from generate_series(1, 50) g");
    cfg = tempConfig({
      kit: { platform: 'postgres', source: { url: urls.blue }, target: { url: urls.green } },
      dep: { platform: 'postgres', source: { url: urls.blue }, target: { url: urls.green } },
      switched: { platform: 'postgres', source: { url: urls.blue }, target: { url: urls.green } },
      pubown: { platform: 'postgres', source: { url: as(urls.blue) }, target: { url: as(urls.green) } },
    }, { mappings: 'identity' });
  }, 60_000);
  afterAll(async () => {
    for (const pid of workers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    cfg?.dispose();
    await server?.dispose();
  });

  test('--help says what cancel removes, what it keeps and when it refuses', async () => {
    const r = await runCli(['cancel', '--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/slots, publications, replication origins and _cutover schema/);
    expect(text).toMatch(/--dry-run lists them/);
    expect(text).toMatch(/refused once writes are on green/);
  });

  test('removes slots, publications, origins and _cutover on both sides; keeps backups, target rows and dead letters; a second run finds nothing', async () => {
    for (const step of [['assess'], ['snapshot'], ['replicate', 'start']]) {
      const r = await runCli(base(...step));
      expect(r.code, `${step.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const env = selectEnvironment(await loadConfig({ file: cfg.file, cwd: cfg.dir, env: process.env }), 'kit') as ResolvedPostgresEnvironment;
    const forwardPid = readStatusFile(streamNames(env, 'forward').statusFile)?.worker?.pid;
    expect(forwardPid).toBeTypeOf('number');
    workers.push(forwardPid!);
    // reverse replication as the write switch starts it: a slot on green, an origin and _cutover on blue
    const reverse = new PostgresReplicator(env, 'reverse', new RecordingOutput());
    await reverse.start();
    const reversePid = readStatusFile(streamNames(env, 'reverse').statusFile)?.worker?.pid;
    workers.push(reversePid!);
    // the workers' start files carry the database URLs with their passwords: none is left once they run
    expect(readdirSync(env.stateDir).filter((f) => f.endsWith('.env.json'))).toEqual([]);
    await sql(urls.green, `insert into _cutover.dead_letter (slot, direction, source_table, target_table, change, error) values ('cutover_kit', 'forward', 'public.orders', 'public.orders', '{"id": 7}', 'rejected for the test')`);
    const before = { blue: await kitObjects(urls.blue), green: await kitObjects(urls.green) };
    expect(before.blue).toEqual(['publication cutover_kit', 'schema _cutover', 'slot cutover_kit']);
    expect(before.green).toEqual(['publication cutover_kit_rev', 'schema _cutover', 'slot cutover_kit_rev']);
    const originsBefore = await origins();
    expect(originsBefore).toEqual(expect.arrayContaining(['origin cutover_kit', 'origin cutover_kit_rev']));
    // forward's origins are on green (it writes there), reverse's on blue
    const reverseOrigins = originsBefore.filter((o) => o.startsWith('origin cutover_kit_rev'));
    const forwardOrigins = originsBefore.filter((o) => !o.startsWith('origin cutover_kit_rev'));

    // dry-run: exactly what is there, queried, and nothing changes
    const dry = await runCli(base('--dry-run', '--json', 'cancel'));
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout).plan as { action: string; target: string; detail?: string }[];
    const drops = plan.filter((s) => s.action.startsWith('drop ')).map((s) => `${s.action.slice(5)} ${s.target}`);
    const listed = (side: string, objects: string[]) => objects.map((o) => o.replace(' ', ` ${side} `)).sort();
    expect(drops.sort()).toEqual([...listed('source', [...before.blue, ...reverseOrigins]), ...listed('target', [...before.green, ...forwardOrigins])].sort());
    expect(plan.map((s) => s.action)).toEqual(expect.arrayContaining(['forward.stop', 'reverse.stop']));
    expect(plan.find((s) => s.action === 'drop slot' && s.target === 'source cutover_kit')?.detail).toMatch(/retains .* of WAL/);
    expect(plan.find((s) => s.action === 'drop schema' && s.target === 'target _cutover')?.detail).toMatch(/table dead_letter \(1 row\(s\)\)/);
    expect(await kitObjects(urls.blue)).toEqual(before.blue);
    expect(processAlive(forwardPid!)).toBe(true);

    const r = await runCli(base('--yes', 'cancel'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cancel: ok — /);
    expect(await kitObjects(urls.blue)).toEqual([]);
    expect(await kitObjects(urls.green)).toEqual([]);
    expect(await origins()).toEqual([]);
    expect(processAlive(forwardPid!)).toBe(false);
    expect(processAlive(reversePid!)).toBe(false);
    expect((await sql(urls.green, 'select count(*)::int as n from orders')).rows[0].n).toBe(50);
    expect(readdirSync(env.backupDir).length).toBeGreaterThan(0);
    const kept = readdirSync(path.join(env.stateDir, 'cancelled'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(path.join(env.stateDir, 'cancelled', kept[0]!), 'utf8')).toContain('rejected for the test');
    const journal = readFileSync(path.join(env.stateDir, 'journal.jsonl'), 'utf8');
    expect(journal).toContain('"action":"drop slot source:cutover_kit"');

    const again = await runCli(base('--yes', 'cancel'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/nothing left to cancel/);

    const status = await runCli(base('status'));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^phase +cancel: cancelled at /m);
    expect(status.stdout).toMatch(/assess=cancelled snapshot=cancelled replicate=cancelled/);
    expect(status.stdout).toMatch(/^next +npx cutover assess --config \S+ --env kit +\(the cutover was cancelled at .*empty the target's tables/m);
    // replicate start needs a new snapshot (the slot is gone): refused, not a full load into a non-empty green
    const restart = await runCli(base('replicate', 'start'));
    expect(restart.code).toBe(1);
    expect(restart.stderr).toMatch(/PHASE_OUT_OF_ORDER/);
  }, 180_000);

  test('fails if writes are on green: refused (exit 1), nothing changed, rollback named; the dry-run says so too', async () => {
    const env = selectEnvironment(await loadConfig({ file: cfg.file, cwd: cfg.dir, env: process.env }), 'switched') as ResolvedPostgresEnvironment;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(env.stateDir, { recursive: true });
    const rec = (seq: number, phase: string, action: string, status: string) =>
      JSON.stringify({ seq, time: new Date().toISOString(), operator: 't', host: 'h', pid: 1, env: 'switched', phase, action, status });
    writeFileSync(path.join(env.stateDir, 'journal.jsonl'), [rec(1, 'switch', 'run', 'started'), rec(2, 'switch', 'switch.flip', 'ok'), rec(3, 'switch', 'run', 'ok')].join('\n') + '\n');
    await sql(urls.blue, 'select pg_create_logical_replication_slot($1, $2)', ['cutover_switched', 'pgoutput']);
    try {
      const r = await runCli(['--config', cfg.file, '--env', 'switched', '--yes', 'cancel']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/PRECONDITION_FAILED: cancel undoes a cutover only before the write switch, and writes are on green since the write switch at/);
      expect(r.stderr).toMatch(/fix: +run `npx cutover rollback --config \S+ --env switched`/);
      expect((await sql(urls.blue, "select 1 from pg_replication_slots where slot_name = 'cutover_switched'")).rowCount).toBe(1);
      const dry = await runCli(['--config', cfg.file, '--env', 'switched', '--dry-run', 'cancel']);
      expect(dry.code).toBe(1);
      expect(dry.stderr).toMatch(/a real run would be refused now: cancel undoes a cutover only before the write switch/);
      expect(existsSync(path.join(env.stateDir, 'journal.jsonl'))).toBe(true);
      expect(readFileSync(path.join(env.stateDir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    } finally {
      await sql(urls.blue, "select pg_drop_replication_slot('cutover_switched')");
    }
  }, 60_000);

  test('a publication the role may not drop (its owner made it, as the docs say for a least-privilege role) is named with the DROP for its owner; cancel still removes the rest (exit 1)', async () => {
    await sql(server.url, "create role kitter login password 'k-pw'");
    await sql(urls.blue, 'create publication cutover_pubown for table orders');
    await sql(urls.green, 'create schema _cutover authorization kitter');
    await sql(as(urls.green), 'create table _cutover.load_state (slot text primary key)');
    const r = await runCli(['--config', cfg.file, '--env', 'pubown', '--yes', 'cancel']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('DROP PUBLICATION "cutover_pubown";');
    // before: cancel stopped at the publication and left green's _cutover behind
    expect((await sql(urls.green, "select 1 from pg_namespace where nspname = '_cutover'")).rowCount).toBe(0);
    expect((await sql(urls.blue, "select 1 from pg_publication where pubname = 'cutover_pubown'")).rowCount).toBe(1);
    await sql(urls.blue, 'drop publication cutover_pubown');
    const again = await runCli(['--config', cfg.file, '--env', 'pubown', '--yes', 'cancel']);
    expect(again.code, again.stderr).toBe(0);
  }, 60_000);

  test('fails if an object outside _cutover depends on it: refused naming it (exit 1), the schema stays; dropped once that object is gone', async () => {
    await sql(urls.green, 'create schema _cutover; create table _cutover.load_state (slot text primary key); create view public.kit_watch as select * from _cutover.load_state');
    try {
      const dry = await runCli(['--config', cfg.file, '--env', 'dep', '--dry-run', '--json', 'cancel']);
      expect(JSON.parse(dry.stdout).plan.find((s: { action: string }) => s.action === 'drop schema').detail).toMatch(/USED FROM OUTSIDE by view public\.kit_watch/);
      const r = await runCli(['--config', cfg.file, '--env', 'dep', '--yes', 'cancel']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/PRECONDITION_FAILED: schema _cutover on the target .* is used by objects outside it: view public\.kit_watch/);
      expect((await sql(urls.green, "select 1 from pg_namespace where nspname = '_cutover'")).rowCount).toBe(1);
      expect((await sql(urls.green, "select 1 from pg_views where viewname = 'kit_watch'")).rowCount).toBe(1);
    } finally {
      await sql(urls.green, 'drop view if exists public.kit_watch');
    }
    const ok = await runCli(['--config', cfg.file, '--env', 'dep', '--yes', 'cancel']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await sql(urls.green, "select 1 from pg_namespace where nspname = '_cutover'")).rowCount).toBe(0);
  }, 60_000);
});
