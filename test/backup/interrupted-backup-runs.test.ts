import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresSnapshotter, type PostgresSnapshotManifest } from '../../lib/backup/postgres-snapshotter.ts';
import { loadConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { replaceWithNamedPipe } from '../_helpers/named-pipe.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, until } from '../replication/_env.ts';
import { runCli, tempConfig } from '../cli/run-cli.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Ctrl-C during `cutover restore` and during the backup's re-read (verify). A table file of the
 * backup is swapped for a named pipe that the test feeds: the run is provably mid-table when the
 * signal comes (no timing), and the rest of the bytes are sent after it, so a run that ignores
 * the signal would finish and pass.
 */
describe('interrupted backup runs: Ctrl-C / SIGTERM during restore and verify, SIGKILL during a snapshot', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let dir: string;
  let configFile: string;
  let env: ResolvedPostgresEnvironment;
  let killedEnv: ResolvedPostgresEnvironment;
  let manifest: PostgresSnapshotManifest;
  const out = new RecordingOutput();

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('restored');
    await server.createDatabase('green');
    await sql(
      server.url,
      `create table customers (id serial primary key, name text not null);
       create table orders (id bigint generated always as identity primary key, customer_id int references customers(id), note text);
       insert into customers (name) select '客户 ' || g from generate_series(1, 200) g;
       insert into orders (customer_id, note) select 1 + g % 200, 'o' || g from generate_series(1, 2000) g;`,
    );
    // green has the schema (assess, which a CLI snapshot needs first, asks for it)
    await sql(server.urlFor('green'), 'create table customers (id int primary key, name text not null); create table orders (id bigint primary key, customer_id int, note text)');
    const lab = { platform: 'postgres', source: { url: server.url }, target: { url: server.urlFor('green') } };
    ({ dir, file: configFile } = tempConfig({ lab, killed: lab }, { mappings: 'identity' }));
    env = selectEnvironment(await loadConfig({ file: configFile }), 'lab') as ResolvedPostgresEnvironment;
    killedEnv = selectEnvironment(await loadConfig({ file: configFile }), 'killed') as ResolvedPostgresEnvironment;
    manifest = await new PostgresSnapshotter(env, out).snapshot();
    await sql(server.url, "select pg_drop_replication_slot('cutover_lab')");
  }, 120_000);
  afterAll(async () => {
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The orders table's file as a named pipe the test feeds (test/_helpers/named-pipe.ts). */
  const pipeInPlaceOfOrders = () => replaceWithNamedPipe(path.join(env.backupDir, manifest.tables.find((t) => t.name === 'public.orders')!.file));

  test.each(['SIGINT', 'SIGTERM'] as const)('%s during `cutover restore` stops it mid-table, rolls back what it restored, says so, exits ABORTED (1); a re-run restores', async (signal) => {
    const fifo = pipeInPlaceOfOrders();
    try {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'cutover.mjs'), 'restore', '--config', configFile, '--env', 'lab', '--target-url', server.urlFor('restored')], {
        cwd: ROOT,
        env: { ...process.env, CI: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const rest = await fifo.feed(exited); // customers is restored; orders is half read
        child.kill(signal);
        const deadline = Date.now() + 60_000;
        while (!/interrupt( \(SIGTERM\))?: stopping/.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await rest(); // a run that went on would now restore everything and exit 0
        const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
        expect(code, output).toBe(1);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      expect(output).toContain('public.customers: 200 rows'); // it was mid-way: one table in, one half read
      expect(output).toContain(`nothing of backup ${manifest.id} stays in`);
      expect(output).toMatch(/ABORTED: restore of backup snap-\S+ interrupted/);
      const tables = await sql(server.urlFor('restored'), "select count(*)::int as n from pg_tables where schemaname = 'public'");
      expect(tables.rows[0].n).toBe(0);
    } finally {
      fifo.restore();
    }
    // the database is empty again: the re-run the error names works
    expect(await new PostgresSnapshotter(env, out).restore({ targetUrl: server.urlFor('restored') })).toEqual({ ok: true, problems: [] });
    await sql(server.urlFor('restored'), 'drop table orders, customers');
  }, 120_000);

  test('SIGKILL during `cutover snapshot` leaves a partial backup that names its dead owner: not listed, not restorable, removed by the next snapshot', async () => {
    const assessed = await runCli(['assess', '--config', configFile, '--env', 'killed']);
    expect(assessed.code, assessed.stderr + assessed.stdout).toBe(0);
    // Provably mid-way at the kill, with no timing: a transaction holding an xid keeps the slot's
    // creation waiting (a logical slot waits for the transactions running), after the run wrote
    // its marker. (Table files of a killed run go the same way: test/backup/partial-backups.test.ts.)
    const xid = new pg.Client({ connectionString: server.url });
    await xid.connect();
    let killed: string;
    try {
      await xid.query('begin; select txid_current()');
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'cutover.mjs'), 'snapshot', '--config', configFile, '--env', 'killed'], { cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        const slotWaiting = async () => (await sql(server.url, "select count(*)::int as n from pg_replication_slots where slot_name = 'cutover_killed'")).rows[0].n === 1;
        const deadline = Date.now() + 60_000;
        while (!(await slotWaiting()) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(await slotWaiting(), output).toBe(true);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const partials = await new PostgresSnapshotter(killedEnv, out).partials();
      expect(partials).toEqual([{ id: expect.stringMatching(/^snap-/), objects: 1, owner: { pid: child.pid, host: os.hostname(), startedAt: expect.any(String) }, ownerGone: true, created: [] }]);
      killed = partials[0]!.id;
    } finally {
      await xid.query('rollback').catch(() => {});
      await xid.end();
    }
    // never a usable backup: not listed, and restore --id says why
    expect(await new PostgresSnapshotter(killedEnv, out).list()).toEqual([]);
    const refused = await runCli(['restore', '--config', configFile, '--env', 'killed', '--id', killed, '--target-url', server.urlFor('restored')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`backup "${killed}" is partial: it has no manifest`);
    // --dry-run names it among what the run would do, and changes nothing
    const dry = await runCli(['snapshot', '--dry-run', '--config', configFile, '--env', 'killed']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).toContain(`backupStore.remove -> folder ${killedEnv.backupDir} (partial backup(s) whose snapshot is no longer running: ${killed})`);
    expect(await new PostgresSnapshotter(killedEnv, out).partials()).toHaveLength(1);
    // the next snapshot removes it (its owner is gone) and says so; the slot the killed run was
    // creating goes with its walsender, which notices the lost client once the transaction ended
    await until(async () => (await sql(server.url, "select count(*)::int as n from pg_replication_slots where slot_name = 'cutover_killed'")).rows[0].n === 0, 30_000, 'the killed run\'s unfinished slot to go');
    const next = new RecordingOutput();
    const taken = await new PostgresSnapshotter(killedEnv, next).snapshot();
    expect(next.lines.map((l) => l.message)).toContainEqual(expect.stringMatching(new RegExp(`^removed partial backup ${killed} \\(no manifest\\): its snapshot \\(pid \\d+ on .*\\) is no longer running$`)));
    expect(readdirSync(killedEnv.backupDir)).toEqual([taken.id]);
    expect(await new PostgresSnapshotter(killedEnv, out).partials()).toEqual([]);
    await sql(server.url, "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name like 'cutover_killed%'");
    await sql(server.url, 'drop publication if exists cutover_killed');
  }, 120_000);

  test('an abort during the backup\'s re-read (the snapshot gate) stops it mid-table: ABORTED, not a verdict', async () => {
    const fifo = pipeInPlaceOfOrders();
    try {
      const stop = new AbortController();
      const verifying = new PostgresSnapshotter(env, out).verify(manifest.id, { signal: stop.signal });
      verifying.catch(() => {});
      const rest = await fifo.feed(verifying);
      stop.abort();
      await rest();
      await expect(verifying).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringContaining(`verify of backup ${manifest.id} interrupted`) });
    } finally {
      fifo.restore();
    }
    expect((await new PostgresSnapshotter(env, out).verify(manifest.id)).ok).toBe(true);
  });
});
