/**
 * The cross-engine case of validate-scan.ts: a MariaDB source and a PostgreSQL target, one table
 * of BENCH_ROWS rows (default 1,000,000) on each, identical through the DMS type mapping; then:
 *   limit      one parallel scan of both tables computing count(*) + a 60-bit md5 sum over the
 *              same columns joined with '|' (the least any exact comparison reads and hashes)
 *   validate0  the cross-engine `validate` with 0 differences  -> ratio validate0 / limit (goal <= 1.5)
 *   validate100 with 100 scattered changed rows on the target   -> all 100 found, ratio to validate0
 * Besides wall times it reports each server's CPU time for the limit scan and for validate0 (wall
 * times swing with the machine's load; CPU per side does not).
 * Needs Debian's mariadb-server. Run: node --import tsx bench/validate-scan-cross-engine.ts (BENCH_ROWS=200000 for a quick run,
 * BENCH_CONCURRENCY=2 for 2 sessions per side)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../lib/config/load.ts';
import { CrossEngineValidator } from '../lib/diff/cross-engine-validator.ts';
import { silentOutput } from '../lib/output/output.ts';
import { startEmbeddedPostgres } from '../lib/postgres/embedded-server.ts';
import { startTestMariadb } from '../test/_helpers/mariadb.ts';
import { pidFromFile, serverCpuMs } from './server-cpu.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
/** `validation.concurrency`: sessions per side (the default config's 4 unless BENCH_CONCURRENCY says). */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const best = (xs: number[]) => Math.min(...xs);
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-xengine-'));
const maria = await startTestMariadb({ database: 'legacy', serverArgs: ['--innodb-buffer-pool-size=512M'] });
const target = await startEmbeddedPostgres({ dir: path.join(dir, 't') });
try {
  const m = await maria.connect('legacy');
  const t = new pg.Client({ connectionString: target.url });
  t.on('error', (e) => console.error('target connection:', e.message));
  await t.connect();
  let t0 = performance.now();
  await m.query(`CREATE TABLE big (id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL, score DOUBLE NOT NULL,
    created DATETIME(6) NOT NULL, note VARCHAR(40) NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  for (let from = 1; from <= ROWS; from += 100_000) {
    const to = Math.min(ROWS, from + 99_999);
    await m.query(`INSERT INTO big SELECT seq, CONCAT('客户 ', seq), seq * 0.25, seq / 7e0, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 1000) MICROSECOND,
      IF(seq % 5 = 0, NULL, CONCAT('note ', seq)) FROM seq_${from}_to_${to}`);
  }
  await t.query(`CREATE TABLE big (id bigint PRIMARY KEY, name varchar(40) NOT NULL, amount numeric(12,2) NOT NULL, score double precision NOT NULL,
      created timestamp(6) NOT NULL, note varchar(40));
    INSERT INTO big SELECT g, '客户 ' || g, g * 0.25, g / 7::float8, timestamp '2024-01-01' + g * interval '1 second' + (g % 1000) * interval '1 microsecond',
      CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, ${ROWS}) g`);
  await t.query('VACUUM ANALYZE big');
  await m.query('ANALYZE TABLE big');
  console.log(`loaded ${ROWS} rows on each side in ${((performance.now() - t0) / 1000).toFixed(1)} s (MariaDB ${maria.version})`);

  const rule = { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 't', 'object-locator': { 'schema-name': 'legacy', 'table-name': 'big' }, 'rule-action': 'include' };
  const rename = { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 's', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'legacy' }, 'rule-action': 'rename', value: 'public' };
  writeFileSync(path.join(dir, 'forward.json'), JSON.stringify({ rules: [rule, rename] }));
  writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify({ rules: [{ ...rule, 'object-locator': { 'schema-name': 'public', 'table-name': 'big' } }] }));
  const raw = { environments: { bench: { platform: 'local', source: { url: maria.urlFor('legacy') }, target: { url: target.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' }, validation: { concurrency: CONCURRENCY } } } };
  const env = selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json')), 'bench') as ResolvedPostgresEnvironment;

  const [[pidFile]] = (await m.query({ sql: 'SELECT @@pid_file', rowsAsArray: true }))[0] as [[string]];
  const pids = { mariadb: pidFromFile(pidFile), postgres: pidFromFile(path.join(target.dataDir, 'postmaster.pid')) };
  const cpu = () => ({ mariadb: serverCpuMs(pids.mariadb), postgres: serverCpuMs(pids.postgres) });
  // the pools' backends are reaped by the postmaster shortly after they exit
  const settle = () => new Promise((r) => setTimeout(r, 300));
  const cpuOf = async <T>(f: () => Promise<T>): Promise<{ value: T; mariadb: number; postgres: number }> => {
    const a = cpu();
    const value = await f();
    await settle();
    const b = cpu();
    return { value, mariadb: b.mariadb - a.mariadb, postgres: b.postgres - a.postgres };
  };
  const limitScan = async (): Promise<number> => {
    const s0 = performance.now();
    await Promise.all([
      m.query(`SELECT COUNT(*), SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', id, name, amount, score, created, note)), 1, 15), 16, 10) AS UNSIGNED)) FROM big`),
      t.query(`SELECT count(*), sum(('x' || substr(md5(concat_ws('|', id, name, amount, score, created, note)), 1, 15))::bit(60)::bigint) FROM big`),
    ]);
    return performance.now() - s0;
  };
  const validate = async () => {
    const s0 = performance.now();
    const report = await new CrossEngineValidator(env, silentOutput).validate();
    return { ms: performance.now() - s0, report };
  };
  const loadBefore = loadAverage();
  await limitScan(); // warm the caches
  const limits: number[] = [];
  const zero: Awaited<ReturnType<typeof validate>>[] = [];
  const limitCpu: { mariadb: number; postgres: number }[] = [];
  const zeroCpu: { mariadb: number; postgres: number }[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const l = await cpuOf(limitScan);
    limits.push(l.value);
    limitCpu.push(l);
    const v = await cpuOf(validate);
    zero.push(v.value);
    zeroCpu.push(v);
  }
  const minCpu = (xs: { mariadb: number; postgres: number }[]) => ({ mariadb: Math.min(...xs.map((x) => x.mariadb)), postgres: Math.min(...xs.map((x) => x.postgres)) });
  if (!zero[0]!.report.equal) throw new Error(`the identical tables differ: ${JSON.stringify(zero[0]!.report.tables[0]).slice(0, 400)}`);
  const ids = new Set<number>();
  while (ids.size < 100) ids.add(1 + Math.floor(Math.random() * ROWS));
  await t.query(`UPDATE big SET score = score * 1.0000001 WHERE id = ANY($1)`, [[...ids]]);
  const hundred: Awaited<ReturnType<typeof validate>>[] = [];
  for (let i = 0; i < REPEAT; i++) hundred.push(await validate());
  const limit = best(limits);
  const v0 = best(zero.map((r) => r.ms));
  const v100 = best(hundred.map((r) => r.ms));
  const h = hundred[0]!.report;
  console.log(
    JSON.stringify(
      {
        rows: ROWS,
        limitMd5Ms: Math.round(limit),
        validate0Ms: Math.round(v0),
        validate100Ms: Math.round(v100),
        'validate0/limit (goal <= 1.5)': +(v0 / limit).toFixed(3),
        'validate100/validate0': +(v100 / v0).toFixed(3),
        limitCpuMs: minCpu(limitCpu),
        validate0CpuMs: minCpu(zeroCpu),
        'validate0/limit CPU (mariadb, postgres)': [+(minCpu(zeroCpu).mariadb / minCpu(limitCpu).mariadb).toFixed(2), +(minCpu(zeroCpu).postgres / minCpu(limitCpu).postgres).toFixed(2)],
        differentFound: h.tables[0]!.different.length,
        'rowsFetched/rowsCompared (0 diffs)': +(zero[0]!.report.figures.rowsFetched / zero[0]!.report.figures.rowsCompared).toFixed(6),
        chunks: zero[0]!.report.figures.chunks,
        loadAverage: `${loadBefore} -> ${loadAverage()}`,
      },
      null,
      2,
    ),
  );
  await m.end();
  await t.end();
} finally {
  await target.stop().catch(() => {});
  await maria.dispose();
  rmSync(dir, { recursive: true, force: true });
}
