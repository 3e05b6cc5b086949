/**
 * One large source transaction: how long the replicator takes to apply it, against a native
 * `CREATE SUBSCRIPTION` of the same table in the same run. Users' batch jobs (a nightly UPDATE of
 * a big table, a backfill, a purge) commit exactly this; the worker applies each source
 * transaction as one target transaction, so while it applies, nothing else (heartbeats
 * included) reaches the target.
 *
 * A table of BENCH_ROWS rows (default 200,000; id bigint primary key, text, int, numeric and
 * timestamptz columns) on the source, copied by the replicator's own full load to its target and
 * written by the same generate_series into the native subscriber's database (a second database
 * on the target server). The replicator starts from a caught-up state (started, waited for,
 * stopped); the subscription is created disabled, after the load (copy_data = false). Then, one workload at a time, each ONE source transaction:
 *   update  — `update t set qty = qty + 1, note = …` of every row (BENCH_ROWS rows);
 *   insert  — BENCH_ROWS new rows;
 *   delete  — every other row (BENCH_ROWS of the 2 × BENCH_ROWS rows).
 * Each apply is timed from its slot turning active (polled every 2 ms) to the transaction
 * visible on its target (one row it changed, polled every 5 ms: a transaction applies
 * atomically); the two take turns going first. That span is split at the moment the target
 * transaction that applies it began (pg_stat_activity.xact_start of the apply backend, polled):
 * before it, the source decodes the transaction and (ours) the worker receives its first part and
 * builds its statements; after it, the target transaction is open and nothing else reaches the
 * target. CPU seconds from /proc: the worker process
 * (after its stream was accepted; its start-up not counted), its target backend, the
 * replicator's walsender; the native apply worker and its walsender. The worker's peak resident
 * memory too: it holds a few parts of the transaction (5 × batchSize changes each), applied while
 * it arrives in one target transaction (open-transaction-apply.ts); before that it held the whole
 * transaction, parsed (1,185 MB at 1,000,000 updated rows). The printed ratio is
 * native seconds / ours (> 1: ours faster). No assertions: a measurement.
 *
 * The source's walsender decodes the whole transaction before sending any of it (spilling to
 * disk above logical_decoding_work_mem, 64 MB): both sides wait for that; the native
 * subscription runs with PostgreSQL 17's default `streaming = off`, as the replicator reads.
 *
 *   npx tsx bench/replication-large-txn.ts            (BENCH_ROWS=600000 for the helper's case)
 *   BENCH_WORKLOADS=update npx tsx bench/replication-large-txn.ts
 */
import os from 'node:os';
import pg from 'pg';
import { silentOutput } from '../lib/output/output.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { streamNames } from '../lib/replication/stream-names.ts';
import { readStatusFile } from '../lib/replication/status-file.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { testEnvironment } from '../test/replication/_env.ts';
import { backendCpu, connectClient, peakRssMb, processCpu, settleSlot, slotActiveAt as slotActiveWhen } from './replication-probes.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'update,insert,delete').split(',').map((w) => w.trim()).filter(Boolean);
const known = ['update', 'insert', 'delete'];
if (!Number.isInteger(ROWS) || ROWS < 2 || WORKLOADS.some((w) => !known.includes(w))) {
  console.error(`BENCH_ROWS must be a whole number >= 2 (got ${process.env.BENCH_ROWS}); BENCH_WORKLOADS a list of ${known.join(', ')} (got ${process.env.BENCH_WORKLOADS})`);
  process.exit(2);
}

const client = connectClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const TABLE = `create table t (
  id bigint primary key, sku text not null, qty int not null, price numeric(12,2) not null,
  note text, updated_at timestamptz not null)`;
// identical rows everywhere: every value a function of id
const ROWS_FROM = (first: number, last: number) =>
  `insert into t select g, 'sku-' || g, g % 1000, (g % 10000) / 100.0, 'note ' || md5(g::text), timestamptz '2026-01-01' + g * interval '1 second'
   from generate_series(${first}, ${last}) g`;

interface Workload {
  /** The one source transaction. */
  sql: string;
  /** Rows it changes. */
  rows: number;
  /** True on a target once the transaction is visible there. */
  landed: string;
}
const WORKLOAD: Record<string, Workload> = {
  update: { sql: `update t set qty = qty + 1, note = 'nightly ' || id, updated_at = updated_at + interval '1 day' where id <= ${ROWS}`, rows: ROWS, landed: `select 1 from t where id = ${ROWS} and note = 'nightly ${ROWS}'` },
  insert: { sql: ROWS_FROM(ROWS + 1, 2 * ROWS), rows: ROWS, landed: `select 1 from t where id = ${2 * ROWS}` },
  delete: { sql: 'delete from t where id % 2 = 0', rows: ROWS, landed: `select 1 where not exists (select 1 from t where id = ${2 * ROWS})` },
};

const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
try {
  const s = await client(source.url);
  const t = await client(target.url);
  await t.query('create database native');
  const n = await client(target.urlFor('native'));
  // the replicator's target gets the rows from its own full load, the native database from the
  // same generate_series (its subscription, created after, starts from then: copy_data = false)
  for (const c of [s, t, n]) await c.query(TABLE);
  for (const c of [s, n]) await c.query(ROWS_FROM(1, ROWS));
  const env = testEnvironment(source.url, target.url, { batchSize: BATCH });
  const replicator = new PostgresReplicator(env, 'forward', silentOutput);
  const names = streamNames(env, 'forward');
  // full load, then caught up before the workloads: the stream's start-up is not the subject
  await replicator.start();
  if (!(await replicator.waitForPosition(await replicator.sourcePosition(), 300_000))) throw new Error('full load and CDC did not catch up');
  await replicator.stop();
  for (const c of [s, t, n]) await c.query('analyze t');
  const sourceConnection = source.url.replace('postgres://', 'postgresql://');
  await s.query('create publication native_pub for table t');
  await n.query(`create subscription native_sub connection '${sourceConnection}' publication native_pub with (copy_data = false, enabled = false)`);

  const slotWatch = await client(source.url);
  const slotActiveAt = (slot: string) => slotActiveWhen(slotWatch, slot);
  const landedAt = async (c: pg.Client, w: Workload) => {
    for (;;) {
      if ((await c.query(w.landed)).rowCount) return performance.now();
      await sleep(5);
    }
  };
  const sourcePosition = async () => (await s.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn;
  // as in bench/replication-cdc.ts: before a consumer stops, its slot settles (settleSlot)
  const settle = (slot: string) => settleSlot(s, slot);
  /**
   * When the apply side's target transaction began (performance.now() terms): the first sight,
   * polled every 10 ms on a connection of its own, of a transaction of the backends `where`
   * selects open for over 50 ms (the large one; the short ones of heartbeats never last that
   * long), back-dated by its age. Null when none was seen before `stop` settled.
   */
  const targetTxnStart = (where: string, stop: Promise<unknown>) => {
    let done = false;
    void stop.then(() => (done = true));
    return (async () => {
      const c = await client(target.url);
      try {
        while (!done) {
          const { rows } = await c.query<{ age: number }>(
            `select extract(epoch from clock_timestamp() - xact_start) as age from pg_stat_activity where ${where} and xact_start < clock_timestamp() - interval '50 ms' order by xact_start limit 1`,
          );
          if (rows[0]) return performance.now() - Number(rows[0].age) * 1000;
          await sleep(10);
        }
        return null;
      } finally {
        await c.end();
      }
    })();
  };
  interface Run { seconds: number; inTarget: number | null; peakMb?: number | null; apply: number | null; worker?: number | null; backend: number | null; walsender: number | null }

  const ours = async (w: Workload, until: string): Promise<Run> => {
    const streaming = slotActiveAt(names.slot).then((at) => {
      const pid = readStatusFile(names.statusFile)?.worker?.pid;
      return { at, workerCpu0: pid ? processCpu([pid]) : null };
    });
    const visible = landedAt(t, w);
    const applying = targetTxnStart("application_name like 'cutover-apply%'", visible);
    const { worker } = await replicator.start();
    const { at: t0, workerCpu0 } = await streaming;
    const end = await visible;
    const began = await applying;
    const workerCpu = (processCpu([worker!.pid]) ?? NaN) - (workerCpu0 ?? NaN);
    const peakMb = peakRssMb(worker!.pid);
    const backend = await backendCpu(t, "application_name like 'cutover-apply%'");
    const walsender = await backendCpu(s, "application_name like 'cutover-cdc%'");
    if (!(await replicator.waitForPosition(until, 120_000))) throw new Error('replicator did not catch up');
    await settle(names.slot);
    await replicator.stop();
    return { seconds: (end - t0) / 1000, inTarget: began === null ? null : (end - began) / 1000, apply: workerCpu + (backend ?? NaN), worker: workerCpu, backend, walsender, peakMb };
  };
  const native = async (w: Workload): Promise<Run> => {
    const streaming = slotActiveAt('native_sub');
    const visible = landedAt(n, w);
    const applying = targetTxnStart("backend_type = 'logical replication apply worker'", visible);
    await n.query('alter subscription native_sub enable');
    const t0 = await streaming;
    const end = await visible;
    const began = await applying;
    const backend = await backendCpu(n, "backend_type = 'logical replication apply worker'");
    const walsender = await backendCpu(s, "application_name = 'native_sub'");
    await settle('native_sub');
    await n.query('alter subscription native_sub disable');
    for (let i = 0; i < 400; i++) {
      const { rows } = await s.query<{ active: boolean }>("select active from pg_replication_slots where slot_name = 'native_sub'");
      if (!rows[0]?.active) break;
      await sleep(25);
    }
    return { seconds: (end - t0) / 1000, inTarget: began === null ? null : (end - began) / 1000, apply: backend, backend, walsender };
  };

  const rows: string[][] = [];
  const span = (r: Run) => (r.inTarget === null ? '-' : `${Math.max(0, r.seconds - r.inTarget).toFixed(2)} + ${r.inTarget.toFixed(2)}`);
  const cpu = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '?' : x.toFixed(2));
  for (const [i, name] of WORKLOADS.entries()) {
    const w = WORKLOAD[name]!;
    const sourceStart = performance.now();
    await s.query(w.sql); // one statement, autocommit: one source transaction
    const sourceSeconds = (performance.now() - sourceStart) / 1000;
    const until = await sourcePosition();
    let o: Run;
    let nat: Run;
    if (i % 2 === 0) {
      o = await ours(w, until);
      nat = await native(w);
    } else {
      nat = await native(w);
      o = await ours(w, until);
    }
    const [td, nd] = await Promise.all([
      t.query<{ md5: string }>("select md5(string_agg(t::text, '|' order by id)) as md5 from t"),
      n.query<{ md5: string }>("select md5(string_agg(t::text, '|' order by id)) as md5 from t"),
    ]);
    const same = td.rows[0]!.md5 === nd.rows[0]!.md5 ? 'same' : 'DIFFERENT';
    const l = load();
    rows.push(
      [name, `cutover replicator${i % 2 === 0 ? ' (first)' : ''}`, o.seconds.toFixed(2), span(o), String(Math.round(w.rows / o.seconds)), (nat.seconds / o.seconds).toFixed(2), `${cpu(o.apply)} (worker ${cpu(o.worker)} + target backend ${cpu(o.backend)}; worker peak RSS ${o.peakMb == null ? '?' : Math.round(o.peakMb)} MB)`, cpu(o.walsender), same, sourceSeconds.toFixed(2), l],
      [name, `native CREATE SUBSCRIPTION${i % 2 === 1 ? ' (first)' : ''}`, nat.seconds.toFixed(2), span(nat), String(Math.round(w.rows / nat.seconds)), '', `${cpu(nat.apply)} (apply worker)`, cpu(nat.walsender), '', '', l],
    );
    process.stdout.write(`(${name} done: ours ${o.seconds.toFixed(2)} s, native ${nat.seconds.toFixed(2)} s)\n`);
  }
  const header = ['workload', 'apply', 'seconds', 'before + in target txn',  'rows/s', 'ratio native/ours', 'CPU s: apply side', 'CPU s: walsender', 'tables', 'source txn s', 'load average'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  process.stdout.write(`\nONE source transaction of ${ROWS} rows per workload, identity mapping, batchSize ${BATCH}; timed from the slot turning active to the transaction visible (split: until the target transaction that applies it began, then that transaction open until visible: the span nothing else, heartbeats included, reaches the target); ratio > 1: ours faster\n`);
  for (const r of all) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');

  await n.query('alter subscription native_sub set (slot_name = none)');
  await n.query('drop subscription native_sub');
  await s.query("select pg_drop_replication_slot('native_sub')").catch(() => {});
  await slotWatch.end();
  await n.end();
  await replicator.teardown();
  await s.end();
  await t.end();
} finally {
  await Promise.all([source.dispose(), target.dispose()]);
}
