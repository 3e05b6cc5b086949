import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { fixtureNodeArgs } from '../_helpers/fixture-process.ts';
import { startServerPair, type ServerPair } from './server-pair.ts';
import { testEnvironment } from './validation-env.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
let servers: ServerPair;
let source: pg.Client;
let target: pg.Client;
let dir: string;
let env: ResolvedPostgresEnvironment;

const ROWS = 60_000;

beforeAll(async () => {
  servers = await startServerPair('cutover-resume');
  ({ source, target, dir } = servers);
  const fill = `create table big (id bigint primary key, payload text, amount numeric(12,2));
    insert into big select g, 'row ' || g, g * 0.25 from generate_series(1, ${ROWS}) g;`;
  await Promise.all([source.query(fill), target.query(fill)]);
  // a few differences spread over the table, so the resumed result has something to agree on
  await target.query(`delete from big where id in (17, 30000); update big set payload = '改' where id in (59999, 4242); insert into big values (${ROWS + 5}, 'extra', 1)`);
  env = testEnvironment({
    dir,
    sourceUrl: servers.sourceServer.url,
    targetUrl: servers.targetServer.url,
    forward: { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'public', 'table-name': 'big' }, 'rule-action': 'include' }] },
    validation: { chunkRows: 200, concurrency: 1 },
  });
});

afterAll(async () => {
  await servers?.dispose();
});

function finishedChunks(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"chunk"')).length;
}

test('a validation killed with SIGKILL resumes from the last finished chunk with the same result', async () => {
  const envFile = path.join(dir, 'env.json');
  writeFileSync(envFile, JSON.stringify(env));
  const log = path.join(env.stateDir, 'validation-run.jsonl');
  const child = spawn(process.execPath, [...(await fixtureNodeArgs(path.join(here, 'validate-child.ts'))), envFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killedAt = 0;
  // bounded by time, not by a count of polls: the child alone may take 20 s to start under load
  const deadline = Date.now() + 90_000;
  while (child.exitCode === null && Date.now() < deadline) {
    if (finishedChunks(log) >= 30) {
      child.kill('SIGKILL');
      killedAt = finishedChunks(log);
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await exited;
  expect(killedAt).toBeGreaterThanOrEqual(30);
  expect(killedAt).toBeLessThan(ROWS / 200);
  expect(readFileSync(log, 'utf8')).not.toContain('"type":"done"');

  const out = new RecordingOutput();
  const resumed = await new PostgresValidator(env, out).validate();
  expect(out.text()).toContain('resuming the validation');
  expect(resumed.figures.resumedChunks).toBeGreaterThanOrEqual(killedAt);
  expect(resumed.figures.resumedChunks).toBeLessThan(resumed.figures.chunks);

  const fresh = await new PostgresValidator(env, new RecordingOutput()).validate();
  expect(fresh.figures.resumedChunks).toBe(0);
  expect(resumed.tables).toEqual(fresh.tables);
  expect(resumed.figures.chunks).toBe(fresh.figures.chunks);
  expect(resumed.tables[0]!.missing).toEqual([{ id: 17 }, { id: 30000 }]);
  expect(resumed.tables[0]!.different).toEqual([{ id: 4242 }, { id: 59999 }]);
  expect(resumed.tables[0]!.extra).toEqual([{ id: ROWS + 5 }]);
});
