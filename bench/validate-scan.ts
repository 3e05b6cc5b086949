/**
 * Validation at the scan limit. Two real PostgreSQL servers, one table of BENCH_ROWS rows
 * (default 1,000,000) on each, identical; then:
 *   limit      one parallel scan of both tables computing count(*) + a hash aggregate over the
 *              same columns (what any exact comparison must at least read and hash), twice: with
 *              the md5 row hash (the first definition) and with the row hash the engine uses
 *              (hashtextextended when both servers agree on it: the fair physical limit)
 *   validate0  `validate` with 0 differences            -> ratio validate0 / limit   (goal <= 1.1)
 *   validate100 with 100 scattered updated rows         -> ratio validate100 / validate0 (goal <= 1.2)
 *   rows shipped to the client / rows compared           (goal <= 0.001 with 0 differences)
 *   peak RSS of a validating process at N/5 vs N rows   (flat)
 * Run: npx tsx bench/validate-scan.ts   (BENCH_ROWS=200000 for a quick run; BENCH_PG_BIN=/usr/lib/postgresql/15/bin
 * runs both servers from those binaries, e.g. Debian's PostgreSQL 15, instead of the embedded 17)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../lib/config/load.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../lib/postgres/embedded-server.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const BIN_DIR = process.env.BENCH_PG_BIN || undefined;
const here = path.dirname(fileURLToPath(import.meta.url));
const COLUMNS = 'id, name, amount, score, created_at, note';

function fill(table: string, rows: number): string {
  return `create table ${table} (id bigint primary key, name text, amount numeric(12,2), score double precision, created_at timestamptz, note text);
    insert into ${table} select g, '客户 ' || g, g * 0.25, g / 7.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
      case when g % 5 = 0 then null else 'note ' || g end from generate_series(1, ${rows}) g;`;
}

function environment(dir: string, source: EmbeddedServer, target: EmbeddedServer, table: string): ResolvedPostgresEnvironment {
  const rule = { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 't', 'object-locator': { 'schema-name': 'public', 'table-name': table }, 'rule-action': 'include' };
  const tdir = path.join(dir, table);
  execFileSync('mkdir', ['-p', tdir]);
  writeFileSync(path.join(tdir, 'forward.json'), JSON.stringify({ rules: [rule] }));
  writeFileSync(path.join(tdir, 'reverse.json'), JSON.stringify({ rules: [rule] }));
  const raw = { environments: { bench: { platform: 'postgres', source: { url: source.url }, target: { url: target.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } } };
  return selectEnvironment(parseConfig(raw, path.join(tdir, 'cutover.config.json')), 'bench') as ResolvedPostgresEnvironment;
}

interface ChildRun {
  ms: number;
  equal: boolean;
  figures: { rowsCompared: number; rowsFetched: number; chunks: number; mismatchedChunks: number };
  different: number;
  maxRssKb: number;
}

function validateInChild(dir: string, env: ResolvedPostgresEnvironment): ChildRun {
  const file = path.join(dir, `env-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(env));
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'validate-rss-child.ts'), file], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildRun;
}

const ROW_HASH = {
  md5: `('x' || substr(md5(row(${COLUMNS})::text), 1, 16))::bit(64)::bigint`,
  engine: `hashtextextended(row(${COLUMNS})::text COLLATE "C", 0)`,
};

async function limitScan(source: pg.Client, target: pg.Client, table: string, hash: keyof typeof ROW_HASH = 'md5'): Promise<number> {
  const sql = `select count(*), sum(${ROW_HASH[hash]}) from ${table}`;
  const t0 = performance.now();
  await Promise.all([source.query(sql), target.query(sql)]);
  return performance.now() - t0;
}

const best = (xs: number[]) => Math.min(...xs);
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-validate-'));
const servers: EmbeddedServer[] = [];
try {
  const [source, target] = await Promise.all([startEmbeddedPostgres({ dir: path.join(dir, 's'), binDir: BIN_DIR }), startEmbeddedPostgres({ dir: path.join(dir, 't'), binDir: BIN_DIR })]);
  servers.push(source, target);
  const s = new pg.Client({ connectionString: source.url });
  const t = new pg.Client({ connectionString: target.url });
  s.on('error', (e) => console.error('source connection:', e.message));
  t.on('error', (e) => console.error('target connection:', e.message));
  await Promise.all([s.connect(), t.connect()]);
  const small = Math.floor(ROWS / 5);
  let t0 = performance.now();
  await Promise.all([s.query(fill('big', ROWS)), t.query(fill('big', ROWS))]);
  await Promise.all([s.query(fill('small', small)), t.query(fill('small', small))]);
  await Promise.all([s.query('vacuum analyze'), t.query('vacuum analyze')]);
  console.log(`loaded ${ROWS} + ${small} rows on each side in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const env = environment(dir, source, target, 'big');

  const loadBefore = loadAverage();
  await limitScan(s, t, 'big'); // warm the caches
  const limits: number[] = [];
  const engineLimits: number[] = [];
  const zero: ChildRun[] = [];
  for (let i = 0; i < REPEAT; i++) {
    limits.push(await limitScan(s, t, 'big'));
    engineLimits.push(await limitScan(s, t, 'big', 'engine'));
    zero.push(validateInChild(dir, env));
  }
  const ids = new Set<number>();
  while (ids.size < 100) ids.add(1 + Math.floor(Math.random() * ROWS));
  await t.query(`update big set note = coalesce(note, '') || '*' where id = any($1)`, [[...ids]]);
  const hundred: ChildRun[] = [];
  for (let i = 0; i < REPEAT; i++) hundred.push(validateInChild(dir, env));
  const smallRun = validateInChild(dir, environment(dir, source, target, 'small'));

  const limit = best(limits);
  const engineLimit = best(engineLimits);
  const v0 = best(zero.map((r) => r.ms));
  const v100 = best(hundred.map((r) => r.ms));
  const z = zero[0]!;
  const h = hundred[0]!;
  const figures = {
    server: (await s.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v,
    rows: ROWS,
    limitMd5Ms: Math.round(limit),
    limitEngineHashMs: Math.round(engineLimit),
    validate0Ms: Math.round(v0),
    validate100Ms: Math.round(v100),
    'validate0/limit (md5 limit)': +(v0 / limit).toFixed(3),
    'validate0/limit (same row hash as the engine)': +(v0 / engineLimit).toFixed(3),
    'validate100/validate0': +(v100 / v0).toFixed(3),
    'rowsFetched/rowsCompared (0 diffs)': +(z.figures.rowsFetched / z.figures.rowsCompared).toFixed(6),
    'rowsFetched/rowsCompared (100 diffs)': +(h.figures.rowsFetched / h.figures.rowsCompared).toFixed(6),
    differentFound: h.different,
    mismatchedChunks: h.figures.mismatchedChunks,
    [`peakRssMb at ${small}`]: Math.round(smallRun.maxRssKb / 1024),
    [`peakRssMb at ${ROWS}`]: Math.round(z.maxRssKb / 1024),
    // the machine's 1/5/15-minute load averages before and after the timed runs (noise)
    loadAverage: `${loadBefore} -> ${loadAverage()}`,
  };
  console.log(JSON.stringify(figures, null, 2));
  await Promise.all([s.end(), t.end()]);
} finally {
  for (const srv of servers) await srv.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
