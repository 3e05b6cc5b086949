/**
 * The MySQL-family pieces of the local control plane, against baselines on the same servers:
 *   snapshot   MysqlSnapshotter.snapshot() of one table of BENCH_ROWS rows (default 200,000) against
 *              `mariadb-dump --single-transaction --quick <table> | gzip -1 > file` -> ratio
 *   restore    MysqlSnapshotter.restore() (load + read back + compare) against `mariadb < dump.sql`
 *   reverse    BENCH_BACKLOG row changes (default 20,000, 100-row transactions) written on green while
 *              the reverse worker runs into a fenced blue -> rows/s from the first write to caught up
 * Needs Debian's mariadb-server (mariadb-dump, mariadb). Run: npx tsx bench/mysql-snapshot-and-reverse.ts
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { MysqlSnapshotter } from '../lib/backup/mysql-snapshotter.ts';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../lib/config/load.ts';
import { silentOutput } from '../lib/output/output.ts';
import { startEmbeddedPostgres } from '../lib/postgres/embedded-server.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { startTestMariadb } from '../test/_helpers/mariadb.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const seconds = async (fn: () => Promise<unknown> | unknown) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-mysql-snap-'));
const maria = await startTestMariadb({ database: 'legacy', serverArgs: ['--innodb-buffer-pool-size=256M'] });
const green = await startEmbeddedPostgres({ dir: path.join(dir, 'g') });
let reverse: PostgresReplicator | undefined;
try {
  const m = await maria.connect('legacy');
  await m.query(`CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL, paid TINYINT(1) NOT NULL,
    status ENUM('new','paid','shipped') NOT NULL, created DATETIME(6) NOT NULL, note VARCHAR(40) NULL) DEFAULT CHARSET=utf8mb4`);
  await m.query(`INSERT INTO orders SELECT seq, CONCAT('客户 ', seq % 1000), seq * 1.25, seq % 2, ELT(1 + seq % 3, 'new', 'paid', 'shipped'),
    '2024-01-01' + INTERVAL seq SECOND, IF(seq % 5 = 0, NULL, 'note') FROM seq_1_to_${ROWS}`);
  const rule = (schema: string, rename: string) => ({
    rules: [
      { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 's', 'object-locator': { 'schema-name': schema, 'table-name': '%' }, 'rule-action': 'include' },
      { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'r', 'rule-target': 'schema', 'object-locator': { 'schema-name': schema }, 'rule-action': 'rename', value: rename },
    ],
  });
  writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(rule('legacy', 'duoduo')));
  writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify(rule('duoduo', 'legacy')));
  const env = selectEnvironment(
    parseConfig({ environments: { b: { platform: 'local', source: { url: maria.url }, target: { url: green.url }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } } } }, path.join(dir, 'c.json')),
    'b',
  ) as ResolvedPostgresEnvironment;

  console.log(`MariaDB ${maria.version}, ${ROWS} rows, load average ${loadAverage()}`);
  const snapshotter = new MysqlSnapshotter(env, silentOutput);
  const dump = path.join(dir, 'dump.sql.gz');
  const auth = `-h127.0.0.1 -P${maria.port} -uroot -p${maria.password}`;
  const rawDump = await seconds(() => execSync(`mariadb-dump ${auth} --single-transaction --quick legacy orders | gzip -1 > ${dump}`));
  let id = '';
  const kit = await seconds(async () => (id = (await snapshotter.snapshot()).id));
  console.log(`snapshot  kit ${kit.toFixed(2)} s, mariadb-dump|gzip ${rawDump.toFixed(2)} s, ratio ${(kit / rawDump).toFixed(2)} (load ${loadAverage()})`);
  await maria.createDatabase('r1');
  await maria.createDatabase('r2');
  const rawRestore = await seconds(() => execSync(`gunzip -c ${dump} | mariadb ${auth} r1`));
  const kitRestore = await seconds(() => snapshotter.restore({ id, targetUrl: maria.urlFor('r2') }));
  console.log(`restore   kit (load + read back + compare) ${kitRestore.toFixed(2)} s, gunzip|mariadb ${rawRestore.toFixed(2)} s, ratio ${(kitRestore / rawRestore).toFixed(2)} (load ${loadAverage()})`);

  const g = new pg.Client({ connectionString: green.url });
  await g.connect();
  await g.query(`create schema duoduo; create table duoduo.orders (id bigint primary key, customer text not null, amount numeric(12,2) not null, paid boolean not null,
    status text not null, created timestamptz not null, note text)`);
  await m.query('SET GLOBAL read_only = ON');
  reverse = new PostgresReplicator(env, 'reverse', silentOutput);
  await reverse.start({ foreground: true });
  const t0 = performance.now();
  for (let i = 0; i < BACKLOG; i += 100) {
    await g.query(`insert into duoduo.orders select g, 'c' || g, g * 0.5, g % 2 = 0, 'paid', now(), null from generate_series(${ROWS + i + 1}, ${ROWS + i + 100}) g`);
  }
  const written = (performance.now() - t0) / 1000;
  if (!(await reverse.waitForPosition(await reverse.sourcePosition(), 300_000))) throw new Error('reverse replication did not catch up');
  const total = (performance.now() - t0) / 1000;
  console.log(`reverse   ${BACKLOG} rows (100-row transactions) written in ${written.toFixed(2)} s, on blue after ${total.toFixed(2)} s: ${Math.round(BACKLOG / total)} rows/s (load ${loadAverage()})`);
  await g.end();
  await m.query('SET GLOBAL read_only = OFF');
  await m.end();
} finally {
  await reverse?.stop().catch(() => {});
  await green.stop().catch(() => {});
  await maria.dispose();
  rmSync(dir, { recursive: true, force: true });
}
