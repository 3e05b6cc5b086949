import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { ReplicationStatus } from '../../lib/platform/roles.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { runCli } from '../cli/run-cli.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { IDENTITY_MAPPING, sql, until } from '../replication/_env.ts';

/**
 * A column added on the source during replication (aa246d5 made the worker say so) is lost to
 * green unless the mapping removes it: the replicate gate (`replicate wait`) says no at once,
 * naming it and the fix, instead of passing (it did: the lag was small and the position applied).
 * A column the mapping removes by a pattern rule written before it existed is not said. After the
 * fix (the column on the target, the worker restarted on the same mapping) the wait passes and the
 * column's new values replicate. Real servers, the real detached worker, the CLI in-process.
 */
const FORWARD = {
  rules: [
    ...IDENTITY_MAPPING.rules,
    { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': '2', 'rule-target': 'column', 'object-locator': { 'schema-name': 'public', 'table-name': 'items', 'column-name': 'legacy_%' }, 'rule-action': 'remove-column' },
  ],
};

describe('replicate wait while a source column added during replication is not replicated', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  let dir: string;
  let configFile: string;
  const cli = (...args: string[]) => runCli([...args, '--config', configFile, '--env', 'lab']);
  const status = async () => JSON.parse((await cli('replicate', 'status', '--json')).stdout) as ReplicationStatus;

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    const schema = 'create table items (id bigint primary key, name text);';
    await sql(source.url, schema + "insert into items select g, 'n' || g from generate_series(1, 100) g;");
    await sql(target.url, schema);
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-unreplicated-'));
    writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(FORWARD));
    writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify(IDENTITY_MAPPING));
    const raw = { environments: { lab: { platform: 'postgres', source: { url: source.url }, target: { url: target.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } } };
    configFile = path.join(dir, 'cutover.config.json');
    writeFileSync(configFile, JSON.stringify(raw));
    const env = selectEnvironment(parseConfig(raw, configFile), 'lab') as ResolvedPostgresEnvironment;
    replicator = new PostgresReplicator(env, 'forward', new RecordingOutput());
    await replicator.start();
    await until(async () => (await replicator.status()).phase === 'cdc', 60_000, 'CDC');
  }, 120_000);

  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await replicator?.close().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('fails if a new column is not replicated: the wait says no at once, naming schema.table.column and the fix; a column the mapping removes is not said', async () => {
    // removed on purpose by the pattern rule (written before the column existed): not lost
    await sql(source.url, "alter table items add column legacy_flag text; insert into items values (101, 'n101', 'old');");
    await sql(source.url, "alter table items add column gift_note text default 'none'; insert into items values (102, 'n102', 'x', 'wrap it');");
    await until(async () => ((await status()).unreplicatedColumns ?? []).length > 0, 30_000, 'the worker to say the new column');
    expect((await status()).unreplicatedColumns).toEqual(['public.items.gift_note']);
    // the other columns still replicate: the row is there
    await until(async () => (await sql(target.url, 'select count(*)::int as n from items where id = 102')).rows[0].n === 1, 30_000, 'row 102 on the target');

    const wait = await cli('replicate', 'wait', '--max-lag-ms', '60000', '--timeout-ms', '60000');
    const text = wait.stdout + wait.stderr;
    expect(wait.code, text).toBe(1);
    expect(text).toContain('source column(s) public.items.gift_note added on the source during replication are NOT replicated');
    expect(text).toMatch(/add each to its target table \(public\.items\) and to the forward mapping \S*forward\.json/);
    expect(text).toContain('replicate stop');
    expect(text).not.toContain('legacy_flag');
  }, 120_000);

  test('after the fix (column on the target, worker restarted) the wait passes and the column replicates', async () => {
    await sql(target.url, 'alter table items add column gift_note text');
    await replicator.stop();
    await replicator.start();
    await until(async () => (await replicator.status()).phase === 'cdc', 60_000, 'CDC again');
    await sql(source.url, "insert into items values (103, 'n103', null, 'ribbon')");
    const wait = await cli('replicate', 'wait', '--max-lag-ms', '60000', '--timeout-ms', '60000');
    expect(wait.code, wait.stdout + wait.stderr).toBe(0);
    expect((await status()).unreplicatedColumns).toBeUndefined();
    expect((await sql(target.url, 'select gift_note from items where id = 103')).rows).toEqual([{ gift_note: 'ribbon' }]);
  }, 120_000);
});
