/**
 * Full-load benchmark: the replicator's full load (mapping applied, chunked, checkpointed,
 * parallel) against the limit, a plain `COPY … TO STDOUT | COPY … FROM STDIN` of the same tables
 * between the same two servers, one table after another.
 *
 *   npx tsx bench/replication-full-load.ts          (BENCH_ROWS=300000 rows per table, 3 tables)
 */
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { silentOutput } from '../lib/output/output.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { readStatusFile } from '../lib/replication/status-file.ts';
import { streamNames } from '../lib/replication/stream-names.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { testEnvironment } from '../test/replication/_env.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 300_000);
const TABLES = ['items_a', 'items_b', 'items_c'];
const DDL = (t: string) => `create table ${t} (id bigint primary key, name text, qty int, price numeric(12,2), at timestamptz, doc jsonb)`;

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
try {
  const s = await client(source.url);
  const t = await client(target.url);
  for (const name of TABLES) {
    await s.query(DDL(name));
    await t.query(DDL(name));
    await s.query(
      `insert into ${name} select g, 'name ' || g, g % 1000, g * 0.01, now() - g * interval '1 second', jsonb_build_object('g', g, 'k', 'v')
         from generate_series(1, ${ROWS}) g`,
    );
    await s.query(`vacuum analyze ${name}`);
  }

  // the limit: one COPY pipe per table, sequentially
  let t0 = performance.now();
  for (const name of TABLES) {
    const from = s.query(copyStreams.to(`copy ${name} to stdout`));
    const to = t.query(copyStreams.from(`copy ${name} from stdin`));
    await pipeline(from, to);
  }
  const copySeconds = (performance.now() - t0) / 1000;
  for (const name of TABLES) await t.query(`truncate ${name}`);
  await t.query('checkpoint');

  const rows: string[][] = [];
  for (const parallelTables of [1, 2]) {
    const env = testEnvironment(source.url, target.url, { parallelTables, chunkRows: 100_000 }, {}, `bench${parallelTables}`);
    const replicator = new PostgresReplicator(env, 'forward', silentOutput);
    t0 = performance.now();
    await replicator.start({ foreground: true });
    // the status file, not status(): that also asks the source for its position (a connection per call)
    const statusFile = streamNames(env, 'forward').statusFile;
    while (readStatusFile(statusFile)?.phase !== 'cdc') await new Promise((r) => setTimeout(r, 10));
    const loadSeconds = (performance.now() - t0) / 1000;
    await replicator.teardown();
    const { rows: n } = await t.query(`select ${TABLES.map((x) => `(select count(*) from ${x})`).join(' + ')} as n`);
    if (Number(n[0].n) !== ROWS * TABLES.length) throw new Error(`full load copied ${n[0].n} rows, expected ${ROWS * TABLES.length}`);
    for (const name of TABLES) await t.query(`truncate ${name}`);
    await t.query('drop schema _cutover cascade');
    await t.query('checkpoint');
    rows.push([`full load, ${parallelTables} lane(s)`, loadSeconds.toFixed(2), (loadSeconds / copySeconds).toFixed(2), Math.round((ROWS * TABLES.length) / loadSeconds).toString()]);
  }
  await s.end();
  await t.end();

  const header = ['run', 'seconds', 'ratio to COPY pipe', 'rows/s'];
  const table = [header, ['COPY TO | COPY FROM (limit)', copySeconds.toFixed(2), '1.00', Math.round((ROWS * TABLES.length) / copySeconds).toString()], ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  process.stdout.write(`full load of ${TABLES.length} tables x ${ROWS} rows (goal: ratio <= 1.0); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  for (const r of table) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
} finally {
  await Promise.all([source.dispose(), target.dispose()]);
}
