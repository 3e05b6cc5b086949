import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresSnapshotter } from '../../lib/backup/postgres-snapshotter.ts';
import { loadConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/** `cutover restore --dry-run` meets every refusal of the real run (by reading only) and changes nothing. */
describe('cutover restore --dry-run', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  const cli = (...a: string[]) => runCli([...a, '--config', cfg.file, '--env', 'real']);
  const journal = () => path.join(cfg.dir, '.cutover', 'real', 'journal.jsonl');
  const tablesOf = async (db: string) => (await sql(server.urlFor(db), `select count(*)::int as n from pg_tables where schemaname = 'public'`)).rows[0].n as number;

  beforeAll(async () => {
    server = await startTestPostgres();
    for (const db of ['green', 'empty_one', 'taken']) await server.createDatabase(db);
    await sql(server.url, `create table customers (id int primary key, name text not null);
      insert into customers select g, '客户 ' || g from generate_series(1, 30) g;`);
    await sql(server.urlFor('taken'), 'create table already_here (id int primary key)');
    cfg = tempConfig({ real: { platform: 'postgres', source: { url: server.url }, target: { url: server.urlFor('green') } } }, { mappings: 'identity' });
  }, 60_000);
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('fails if there is no backup yet: the dry run exits 1 with the real run\'s PRECONDITION_FAILED; nothing journaled or restored', async () => {
    const real = await cli('restore', '--yes', '--target-url', server.urlFor('empty_one'));
    expect(real.code, real.stderr).toBe(1);
    expect(real.stderr).toContain('PRECONDITION_FAILED: no backup in');
    const dry = await cli('restore', '--dry-run', '--target-url', server.urlFor('empty_one'));
    expect(dry.code, dry.stdout + dry.stderr).toBe(1);
    expect(dry.stderr).toContain('PRECONDITION_FAILED: no backup in');
    const json = await cli('restore', '--dry-run', '--json', '--target-url', server.urlFor('empty_one'));
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: 'PRECONDITION_FAILED' });
    expect(await tablesOf('empty_one')).toBe(0);
    expect(existsSync(journal())).toBe(false);
  });

  test('fails if the target has tables: the dry run refuses as the real run does (exit 1, naming a table); into an empty one it exits 0 and restores nothing', async () => {
    const env = selectEnvironment(await loadConfig({ file: cfg.file }), 'real') as ResolvedPostgresEnvironment;
    await new PostgresSnapshotter(env, new RecordingOutput()).snapshot();
    const journalText = () => (existsSync(journal()) ? readFileSync(journal(), 'utf8') : '');
    const journalBefore = journalText();
    const dryTaken = await cli('restore', '--dry-run', '--target-url', server.urlFor('taken'));
    expect(dryTaken.code, dryTaken.stdout + dryTaken.stderr).toBe(1);
    expect(dryTaken.stderr).toContain('PRECONDITION_FAILED: restore needs an empty database');
    expect(dryTaken.stderr).toContain('public.already_here');
    const realTaken = await cli('restore', '--yes', '--target-url', server.urlFor('taken'));
    expect(realTaken.code).toBe(1);
    expect(realTaken.stderr).toContain('PRECONDITION_FAILED: restore needs an empty database');

    const dry = await cli('restore', '--dry-run', '--target-url', server.urlFor('empty_one'));
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain('nothing was changed');
    expect(await tablesOf('empty_one')).toBe(0);
    expect(journalText()).toBe(journalBefore);

    const real = await cli('restore', '--yes', '--target-url', server.urlFor('empty_one'));
    expect(real.code, real.stderr).toBe(0);
    expect(await tablesOf('empty_one')).toBe(1);
  });

  test('fails if the target database does not exist (a backup exists): the dry run exits 2 as the real run does', async () => {
    const dry = await cli('restore', '--dry-run', '--target-url', server.urlFor('no_such_db'));
    expect(dry.code, dry.stdout + dry.stderr).toBe(2);
    const real = await cli('restore', '--yes', '--target-url', server.urlFor('no_such_db'));
    expect(real.code).toBe(2);
  });
});
