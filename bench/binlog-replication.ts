/**
 * The binlog replicator (MariaDB 10.11 → PostgreSQL) on the same two servers as its baselines:
 *   full load   BinlogReplicator's full load (consistent snapshots, DMS mapping, COPY) of one table of
 *               BENCH_ROWS rows (default 500,000) against a raw pipe of the same rows:
 *               `mariadb --batch --quick -e 'SELECT …' | psql -c 'COPY … FROM STDIN'` -> ratio (goal <= 1.2)
 *   CDC lag     BENCH_RATE single-row inserts per second (default 500) for BENCH_SECONDS (default 60):
 *               lag of each row = when PostgreSQL inserted it (column default clock_timestamp()) minus
 *               when MariaDB did (UTC_TIMESTAMP(6)), same machine clock -> p50 / p99 (goal p99 <= 200 ms)
 *   apply       a backlog of BENCH_BACKLOG row changes (default 100,000, 500-row transactions) written while
 *               the worker runs -> rows/s from the first write to caught up
 * Needs Debian's mariadb-server and psql. Run: npx tsx bench/binlog-replication.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../lib/config/load.ts';
import { silentOutput } from '../lib/output/output.ts';
import { startEmbeddedPostgres } from '../lib/postgres/embedded-server.ts';
import { BinlogReplicator } from '../lib/replication/binlog-replicator.ts';
import { readStatusFile } from '../lib/replication/status-file.ts';
import { streamNames } from '../lib/replication/stream-names.ts';
import { startTestMariadb } from '../test/_helpers/mariadb.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-binlog-'));
const maria = await startTestMariadb({ database: 'legacy', serverArgs: ['--innodb-buffer-pool-size=256M', '--default-time-zone=+08:00'] });
const target = await startEmbeddedPostgres({ dir: path.join(dir, 't') });
const t = new pg.Client({ connectionString: target.url });
let replicator: BinlogReplicator | undefined;
try {
  await t.connect();
  const m = await maria.connect('legacy');
  const TABLE = `(id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL, paid TINYINT(1) NOT NULL,
    status ENUM('new','paid','shipped') NOT NULL, created DATETIME(6) NOT NULL, note VARCHAR(40) NULL) DEFAULT CHARSET=utf8mb4`;
  await m.query(`CREATE TABLE orders ${TABLE}; CREATE TABLE ticks (id BIGINT PRIMARY KEY, written_at DATETIME(6) NOT NULL, payload VARCHAR(40)) DEFAULT CHARSET=utf8mb4`);
  for (let from = 1; from <= ROWS; from += 100_000) {
    const to = Math.min(ROWS, from + 99_999);
    await m.query(`INSERT INTO orders SELECT seq, CONCAT('客户 ', seq), seq * 0.25, seq % 2, ELT(1 + seq % 3, 'new', 'paid', 'shipped'),
      TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 1000) MICROSECOND, IF(seq % 5 = 0, NULL, CONCAT('note ', seq)) FROM seq_${from}_to_${to}`);
  }
  await m.query('ANALYZE TABLE orders');
  const PG_ORDERS = `(id bigint primary key, customer varchar(40) not null, amount numeric(12,2) not null, paid boolean not null, status varchar(7) not null, created timestamp(6) not null, note varchar(40))`;
  await t.query(`create schema legacy; create table legacy.orders ${PG_ORDERS}; create table public.orders_raw ${PG_ORDERS};
    create table legacy.ticks (id bigint primary key, written_at timestamp(6) not null, payload varchar(40), applied_at timestamp(6) default (clock_timestamp() at time zone 'UTC'))`);
  console.log(`MariaDB ${maria.version}; ${ROWS} rows; load average ${loadAverage()}`);

  // raw pipe: the same SELECT, tab-separated, straight into COPY
  const sqlText = `SELECT id, customer, amount, paid, status, created, note FROM orders`;
  const u = new URL(maria.url);
  const rawStart = performance.now();
  await new Promise<void>((resolve, reject) => {
    const src = spawn('mariadb', ['--batch', '--quick', '--skip-column-names', '-h', '127.0.0.1', '-P', u.port, '-u', 'root', `-p${maria.password}`, '--default-character-set=utf8mb4', `--init-command=SET time_zone='+00:00'`, 'legacy', '-e', sqlText], { stdio: ['ignore', 'pipe', 'inherit'] });
    const dst = spawn('psql', [target.url, '-v', 'ON_ERROR_STOP=1', '-c', `COPY public.orders_raw FROM STDIN WITH (NULL 'NULL')`], { stdio: ['pipe', 'ignore', 'inherit'] });
    src.stdout.pipe(dst.stdin);
    dst.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}`))));
    src.on('error', reject);
    dst.on('error', reject);
  });
  const rawSeconds = (performance.now() - rawStart) / 1000;
  const rawRows = (await t.query('select count(*)::int as n from public.orders_raw')).rows[0].n;
  console.log(`raw pipe:  ${rawRows} rows in ${rawSeconds.toFixed(2)} s (${Math.round(rawRows / rawSeconds)} rows/s); load average ${loadAverage()}`);

  const mapping = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 't', 'object-locator': { 'schema-name': 'legacy', 'table-name': '%' }, 'rule-action': 'include' }] };
  writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(mapping));
  writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify(mapping));
  const raw = {
    environments: {
      bench: {
        platform: 'local',
        source: { url: maria.urlFor('legacy') },
        target: { url: target.url },
        mappings: { forward: 'forward.json', reverse: 'reverse.json' },
        replication: { parallelTables: Number(process.env.BENCH_LANES ?? 2) },
      },
    },
  };
  const env = selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json')), 'bench') as ResolvedPostgresEnvironment;
  replicator = new BinlogReplicator(env, silentOutput, { startTimeoutMs: 600_000 });
  const loadStart = performance.now();
  await replicator.start({ foreground: true });
  // the worker's status file, not status(): that one asks the source for its binlog end each call
  const statusFile = streamNames(env, 'forward').statusFile;
  while (readStatusFile(statusFile)?.phase === 'full-load') await new Promise((r) => setTimeout(r, 20));
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const st = await replicator.status();
  const loaded = (await t.query('select count(*)::int as n from legacy.orders')).rows[0].n;
  const same = (await t.query(`select count(*)::int as n from (select * from legacy.orders except select * from public.orders_raw) d`)).rows[0].n;
  console.log(
    `kit load:  ${loaded} rows in ${loadSeconds.toFixed(2)} s (full load ${st.fullLoadSeconds} s, ${env.replication.parallelTables} lanes, chunks of ${env.replication.chunkRows}); rows differing from the raw pipe: ${same}; ratio ${(loadSeconds / rawSeconds).toFixed(2)} (goal <= 1.2); load average ${loadAverage()}`,
  );

  // CDC lag at RATE inserts/s, paced on the wall clock, over a few connections
  const writers = await Promise.all(Array.from({ length: 8 }, () => maria.connect('legacy')));
  let next = 1;
  const cdcStart = Date.now();
  const total = RATE * SECONDS;
  await Promise.all(
    writers.map(async (c) => {
      for (;;) {
        const id = next++;
        if (id > total) break;
        const due = cdcStart + ((id - 1) * 1000) / RATE;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await c.query(`INSERT INTO ticks VALUES (${id}, UTC_TIMESTAMP(6), 'tick ${id}')`);
      }
    }),
  );
  const wroteSeconds = (Date.now() - cdcStart) / 1000;
  const caught = await replicator.waitForPosition(await replicator.sourcePosition(), 120_000);
  const lags = (await t.query<{ ms: number }>(`select extract(epoch from applied_at - written_at) * 1000 as ms from legacy.ticks`)).rows.map((r) => Number(r.ms));
  console.log(
    `CDC lag:   ${lags.length} of ${total} inserts at ${Math.round(total / wroteSeconds)}/s for ${wroteSeconds.toFixed(1)} s (caught up: ${caught}): p50 ${pct(lags, 50).toFixed(1)} ms, p99 ${pct(lags, 99).toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms (goal p99 <= 200); load average ${loadAverage()}`,
  );

  // apply throughput: a backlog of 500-row transactions written while the worker is stopped, then caught up
  await replicator.stop();
  for (let from = 1; from <= BACKLOG; from += 500) {
    await m.query(`UPDATE orders SET amount = amount + 1, note = 'b' WHERE id BETWEEN ${from} AND ${Math.min(BACKLOG, from + 499)}`);
  }
  const backlogEnd = await replicator.sourcePosition();
  const applyStart = performance.now();
  await replicator.start({ foreground: true });
  const applied = await replicator.waitForPosition(backlogEnd, 600_000);
  const applySeconds = (performance.now() - applyStart) / 1000;
  const after = (await replicator.status()).applyCapacity!;
  console.log(
    `apply:     a backlog of ${BACKLOG} row updates caught up (${applied}) in ${applySeconds.toFixed(1)} s from the worker's start: ${Math.round(BACKLOG / applySeconds)} rows/s (while batches were in flight: ${Math.round(after.changes / (after.busyMs / 1000))} rows/s); load average ${loadAverage()}`,
  );
  await Promise.all(writers.map((c) => c.end()));
  await m.end();
} finally {
  await replicator?.stop().catch(() => {});
  await replicator?.close();
  await t.end().catch(() => {});
  await target.stop().catch(() => {});
  await maria.dispose();
  rmSync(dir, { recursive: true, force: true });
}
