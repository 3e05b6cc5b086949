import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FolderBackupStore } from '../../lib/backup/backup-store.ts';
import { IN_PROGRESS_FILE, markInProgress } from '../../lib/backup/partial-backups.ts';
import { PostgresSnapshotter } from '../../lib/backup/postgres-snapshotter.ts';
import { loadConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/** `cutover backup list`: what the store holds, complete and not, from the real snapshotter's files. */
describe('cutover backup list', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  let env: ResolvedPostgresEnvironment;
  const cli = (...a: string[]) => runCli([...a, '--config', cfg.file, '--env', 'real']);

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('green');
    await sql(server.url, `create table customers (id int primary key, name text not null);
      insert into customers select g, '客户 ' || g from generate_series(1, 30) g;
      create table orders (id int primary key, customer_id int, note text);
      insert into orders select g, 1 + g % 30, 'o' || g from generate_series(1, 120) g;`);
    cfg = tempConfig({ real: { platform: 'postgres', source: { url: server.url }, target: { url: server.urlFor('green') } } }, { mappings: 'identity' });
    env = selectEnvironment(await loadConfig({ file: cfg.file }), 'real') as ResolvedPostgresEnvironment;
  }, 60_000);
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('no backups yet: says so, exit 0; --json has an empty list and the store', async () => {
    const r = await cli('backup', 'list');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`no backups in ${env.backupDir}`);
    const j = await cli('backup', 'list', '--json');
    expect(JSON.parse(j.stdout)).toEqual({ location: env.backupDir, backups: [] });
  });

  test('lists a complete backup with its tables and rows, one still being written, and partial ones (killed; no marker), oldest first', async () => {
    const manifest = await new PostgresSnapshotter(env, new RecordingOutput()).snapshot();
    const store = new FolderBackupStore(env.backupDir);
    // being written by this (live) process
    await markInProgress(store, 'snap-writing');
    await store.put('snap-writing/public.customers.csv.gz', 'x');
    // left by a snapshot that was killed: its process has exited
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await store.put(`snap-killed/${IN_PROGRESS_FILE}`, JSON.stringify({ id: 'snap-killed', pid: gone, host: os.hostname(), processStart: null, startedAt: '2000-01-01T00:00:00.000Z', toolVersion: 'x', created: { slot: 'cutover_real' } }));
    // no marker at all (an older kit's, or not the kit's)
    await store.put('snap-orphan/public.orders.csv.gz', 'x');

    const j = await cli('backup', 'list', '--json');
    expect(j.code, j.stderr).toBe(0);
    const listed = JSON.parse(j.stdout) as { location: string; backups: Record<string, unknown>[] };
    expect(listed.location).toBe(env.backupDir);
    expect(listed.backups.map((b) => [b.id, b.state])).toEqual([
      ['snap-killed', 'partial'],
      [manifest.id, 'complete'],
      ['snap-writing', 'in-progress'],
      ['snap-orphan', 'partial'],
    ]);
    expect(listed.backups[1]).toEqual({ id: manifest.id, state: 'complete', time: manifest.createdAt, tables: 2, rows: 150, bytes: manifest.tables.reduce((n, t) => n + t.bytes, 0), position: manifest.position });
    expect(listed.backups[0]).toMatchObject({ time: '2000-01-01T00:00:00.000Z', tables: null, rows: null, objects: 1, owner: { pid: gone, host: os.hostname() }, created: ['replication slot cutover_real'] });
    expect(listed.backups[2]).toMatchObject({ objects: 2, owner: { pid: process.pid } });
    expect(listed.backups[3]).toMatchObject({ time: null, owner: null });

    const r = await cli('backup', 'list');
    expect(r.code).toBe(0);
    const line = (id: string) => r.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
    expect(line(manifest.id)).toMatch(new RegExp(`^${manifest.id}\\s+complete\\s+${manifest.createdAt}\\s+2\\s+150\\s+at ${manifest.position}$`));
    expect(line('snap-writing')).toMatch(/in-progress .* still running/);
    expect(line('snap-killed')).toMatch(/partial .*is gone: not restorable, the next snapshot removes it; made replication slot cutover_real on the source/);
    expect(line('snap-orphan')).toMatch(/partial .*no owner marker: not restorable, delete it by hand/);
    expect(r.stdout).toContain(`4 backup(s) in ${env.backupDir}: 1 complete (restorable), 3 without a manifest`);
    // reads only: the same list with --dry-run, and nothing removed
    const dry = await cli('backup', 'list', '--dry-run');
    expect(dry.stdout).toBe(r.stdout);
    expect(await store.exists(`snap-killed/${IN_PROGRESS_FILE}`)).toBe(true);
  });
});
