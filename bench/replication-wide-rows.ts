/**
 * The replication worker's memory against the bytes of WIDE rows it is handed (jsonb documents of
 * BENCH_ROW_KB kB each): what a CDC worker holds is counted in changes (replication.batchSize,
 * the queue's pause point, the parts of a large transaction), and a change of 50 kB weighs as
 * much there as one of 50 bytes.
 *
 * Workloads, each written on the source while the worker is stopped (the slot holds it as a
 * backlog: the worker then reads it as fast as the source sends it, the worst case for what it
 * holds), then one worker start, caught up, its peak resident memory (VmHWM of the detached
 * process) read, stopped:
 *   idle    — nothing: the worker's own footprint (start-up, warm-up, one heartbeat);
 *   one     — ONE source transaction inserting BENCH_ROWS rows;
 *   update  — ONE source transaction setting the document of those BENCH_ROWS rows (updates
 *             reach the applier as parsed strings, inserts as bytes);
 *   many    — BENCH_TXNS transactions of BENCH_TXN_ROWS rows each (by default ~5 MB each:
 *             below the open-transaction threshold, queued whole; BENCH_TXN_ROWS=2000 makes
 *             each one a large transaction of its own, one after the other).
 * Printed per workload: the rows' bytes as the stream carries them (the text form of every
 * column), the worker's peak RSS, and (peak - idle peak) / bytes. No assertions: a measurement.
 *
 * Documents are compressible (repeated md5 text): the source and target store them small (TOAST
 * compression), while pgoutput sends every value whole, so the worker sees full-size rows at a
 * fraction of the disk and WAL.
 *
 * Peak RSS, idle worker 87 MB (one run each, 2 cores shared, load average 6–15):
 *   rows                                     before the byte bounds    with them
 *   one: 4,000 × 50 kB (196 MB)              830 MB                    223 MB
 *   one: 20,000 × 50 kB (978 MB)             2,210 MB                  223 MB
 *   update: 4,000 × 50 kB (196 MB)           1,311 MB                  428 MB
 *   update: 20,000 × 50 kB (978 MB)          > 3,700 MB (run cut short) 421 MB
 *   many: 100 × 100 rows × 50 kB (489 MB)    913 MB                    224 MB
 *   many: 5 × 2,000 rows × 50 kB (489 MB)    1,023 MB                  245 MB
 * Flat in the transaction's size: the worker holds at most ~80 MB of changes as received
 * (replication-worker.ts, HELD_BYTES), an update's parsed values and statement text a few times that.
 *
 *   npx tsx bench/replication-wide-rows.ts
 *   BENCH_ROWS=20000 BENCH_ROW_KB=50 BENCH_WORKLOADS=one npx tsx bench/replication-wide-rows.ts
 */
import os from 'node:os';
import { silentOutput } from '../lib/output/output.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { testEnvironment } from '../test/replication/_env.ts';
import { connectClient, peakRssMb } from './replication-probes.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 8000);
const ROW_KB = Number(process.env.BENCH_ROW_KB ?? 50);
const TXNS = Number(process.env.BENCH_TXNS ?? 100);
const TXN_ROWS = Number(process.env.BENCH_TXN_ROWS ?? 100);
const BATCH = Number(process.env.BENCH_BATCH ?? 2000);
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'idle,one,update,many').split(',').map((w) => w.trim()).filter(Boolean);
const known = ['idle', 'one', 'update', 'many'];
for (const [name, v] of Object.entries({ BENCH_ROWS: ROWS, BENCH_ROW_KB: ROW_KB, BENCH_TXNS: TXNS, BENCH_TXN_ROWS: TXN_ROWS, BENCH_BATCH: BATCH })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} must be a whole number >= 1 (got ${process.env[name]})`);
    process.exit(2);
  }
}
if (WORKLOADS.some((w) => !known.includes(w))) {
  console.error(`BENCH_WORKLOADS must be a list of ${known.join(', ')} (got ${process.env.BENCH_WORKLOADS})`);
  process.exit(2);
}

const MB = 1024 * 1024;
/** A document of ~ROW_KB kB, a function of id and a round (updates write new text). */
const DOC = (round: number, id = 'g') => `jsonb_build_object('id', ${id}, 'round', ${round}, 'body', repeat(md5(${id}::text || '-${round}'), ${Math.round((ROW_KB * 1024) / 32)}))`;
const TABLE = 'create table wide (id bigint primary key, label text not null, doc jsonb not null)';
/** The rows' text form as pgoutput sends it (what the worker receives), in bytes. */
const BYTES = (where: string) => `select coalesce(sum(octet_length(id::text) + octet_length(label) + octet_length(doc::text)), 0)::float8 as bytes, count(*)::int as n from wide where ${where}`;

const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
try {
  const s = await connectClient(source.url);
  const t = await connectClient(target.url);
  for (const c of [s, t]) await c.query(TABLE);
  const env = testEnvironment(source.url, target.url, { batchSize: BATCH });
  const replicator = new PostgresReplicator(env, 'forward', silentOutput);
  // an empty full load, then caught up: each workload is then a backlog of its own
  await replicator.start();
  if (!(await replicator.waitForPosition(await replicator.sourcePosition(), 120_000))) throw new Error('the worker did not catch up');
  await replicator.stop();

  let nextId = 1;
  let round = 0;
  const results: { name: string; what: string; bytes: number; peakMb: number | null; seconds: number }[] = [];
  const run = async (name: string, what: string, write: () => Promise<number>) => {
    const bytes = await write();
    const until = await replicator.sourcePosition();
    const started = performance.now();
    const { worker } = await replicator.start();
    if (!(await replicator.waitForPosition(until, 1_800_000))) throw new Error(`${name}: the worker did not catch up`);
    const seconds = (performance.now() - started) / 1000;
    const peakMb = peakRssMb(worker!.pid);
    await replicator.stop();
    const [sd, td] = await Promise.all([s, t].map((c) => c.query("select count(*)::int as n, md5(string_agg(md5(t::text), '' order by id)) as md5 from wide t")));
    if (sd!.rows[0].md5 !== td!.rows[0].md5 || sd!.rows[0].n !== td!.rows[0].n) throw new Error(`${name}: target differs from source (${td!.rows[0].n} rows vs ${sd!.rows[0].n})`);
    results.push({ name, what, bytes, peakMb, seconds });
    process.stdout.write(`(${name}: ${(bytes / MB).toFixed(0)} MB of rows, worker peak RSS ${peakMb?.toFixed(0)} MB, ${seconds.toFixed(1)} s)\n`);
  };
  const insertRows = async (rows: number) => {
    const first = nextId;
    nextId += rows;
    await s.query(`insert into wide select g, 'label ' || g, ${DOC(round)} from generate_series(${first}, ${first + rows - 1}) g`);
    return (await s.query(BYTES(`id between ${first} and ${first + rows - 1}`))).rows[0].bytes as number;
  };
  for (const name of WORKLOADS) {
    if (name === 'idle') await run(name, 'no change', async () => 0);
    if (name === 'one') await run(name, `1 transaction: insert ${ROWS} rows`, () => insertRows(ROWS));
    if (name === 'update') {
      if (nextId <= ROWS) await insertRows(ROWS - nextId + 1).then(async () => {
        // the rows to update, replicated first (not part of the measurement)
        await replicator.start();
        await replicator.waitForPosition(await replicator.sourcePosition(), 1_800_000);
        await replicator.stop();
      });
      await run(name, `1 transaction: update ${ROWS} rows' documents`, async () => {
        round++;
        await s.query(`update wide set doc = ${DOC(round, 'id')} where id <= ${ROWS}`);
        return (await s.query(BYTES(`id <= ${ROWS}`))).rows[0].bytes as number;
      });
    }
    if (name === 'many') {
      await run(name, `${TXNS} transactions of ${TXN_ROWS} rows`, async () => {
        let bytes = 0;
        for (let i = 0; i < TXNS; i++) bytes += await insertRows(TXN_ROWS);
        return bytes;
      });
    }
  }
  const idle = results.find((r) => r.name === 'idle')?.peakMb ?? null;
  process.stdout.write(`\nworker memory against wide rows (~${ROW_KB} kB each), batchSize ${BATCH}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  const header = ['workload', 'what', 'rows MB', 'peak RSS MB', '(peak - idle) / rows', 'seconds'];
  const lines = results.map((r) => [
    r.name,
    r.what,
    (r.bytes / MB).toFixed(0),
    r.peakMb === null ? '?' : r.peakMb.toFixed(0),
    idle === null || r.peakMb === null || r.bytes === 0 ? '-' : ((r.peakMb - idle) / (r.bytes / MB)).toFixed(2),
    r.seconds.toFixed(1),
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => l[i]!.length)));
  for (const l of all) process.stdout.write(l.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
  await replicator.teardown();
  await s.end();
  await t.end();
} finally {
  await Promise.all([source.dispose(), target.dispose()]);
}
