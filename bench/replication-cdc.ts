/**
 * CDC benchmark:
 *  1. lag p50/p99 (source commit -> target row) under a steady write rate of 500 and 2,000
 *     single-row transactions per second (BENCH_LAG_RATES, default "500,2000"; empty skips the
 *     lag part; BENCH_SECONDS each, default 20; the issue's figure is 60), the replicator and a
 *     native `CREATE SUBSCRIPTION` of the same table fed by the same writes at the same time,
 *     both measured the same way (each target stamps a row when it lands), ratio ours / native,
 *     and the CPU each apply path used per transaction;
 *  2. apply rows/s on a backlog, the replicator against a native `CREATE SUBSCRIPTION` on an
 *     identity mapping, same source, same backlog, twice: BENCH_BACKLOG rows (default 100000) in
 *     1,000-row transactions (0: the lag part only), and BENCH_SMALL_BACKLOG rows (default 50000; 0: none) in single-row
 *     transactions; BENCH_BATCH changes per target transaction (default 5000). Both are timed
 *     from the moment the source accepted their stream (their slot turned active) until the
 *     backlog's last row is visible on their target; CPU seconds of each process are printed too
 *     (the source's walsender decodes the same WAL for both: it bounds both rates), and the
 *     seconds each side's processes were ready to run but waited for a CPU (Linux schedstat):
 *     where the cores are fewer than the busy processes (walsender, worker, target backend on
 *     this 2-core machine), a walsender waiting behind the apply side is where the time goes;
 *     BENCH_REPEAT rounds (default 1) on fresh backlogs, the two taking turns to go first; medians.
 *  3. on each backlog, the ceiling of one stream: the same slot (a copy of it, made before the
 *     replicator reads it) read by the kit's own reader writing nowhere, and by PostgreSQL's
 *     pg_recvlogical writing to /dev/null when a PostgreSQL install has it; apply / decode.
 *
 * On a host of fewer than 3 cores with both servers on it (this one), a worker catching up takes turns
 * with the target (catch-up-batching.ts, TargetsTurn); `CUTOVER_CATCH_UP_TURNS=off` measures it without.
 *
 * The replicator runs as `replicate start` runs it: a detached worker process (the timing
 * polls of this process must not share the worker's event loop; the native apply worker is a
 * process of its own too).
 *
 *   npx tsx bench/replication-cdc.ts
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { silentOutput } from '../lib/output/output.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { ChangeStream } from '../lib/replication/change-stream.ts';
import { streamNames } from '../lib/replication/stream-names.ts';
import { readStatusFile } from '../lib/replication/status-file.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { backendCpu, backendWaited, connectClient, processCpu, processWaited, settleSlot, slotActiveAt as slotActiveWhen } from './replication-probes.ts';
import { testEnvironment } from '../test/replication/_env.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const WRITERS = 4;
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const SMALL_BACKLOG = Number(process.env.BENCH_SMALL_BACKLOG ?? 50_000);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const LAG_RATES = (process.env.BENCH_LAG_RATES ?? '500,2000').split(',').filter((r) => r.trim()).map(Number);

const client = connectClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
try {
  const s = await client(source.url);
  const t = await client(target.url);
  await s.query('create table ev (id bigint primary key, payload text, src_at timestamptz not null)');
  await s.query('create table bulk (id bigint primary key, payload text, n int)');
  // the target stamps each row when it lands: lag = applied_at - src_at, same clock
  await t.query('create table ev (id bigint primary key, payload text, src_at timestamptz not null, applied_at timestamptz default clock_timestamp())');
  await t.query('create table bulk (id bigint primary key, payload text, n int)');

  const env = testEnvironment(source.url, target.url, { batchSize: BATCH });
  const replicator = new PostgresReplicator(env, 'forward', silentOutput);
  const lagWorkerPid = (await replicator.start()).worker!.pid;
  // steady state: measure from a caught-up stream, not from the worker's first second
  if (!(await replicator.waitForPosition(await replicator.sourcePosition(), 30_000))) throw new Error('CDC did not start');

  // ---- 1. lag at a steady rate, ours and native side by side on the same writes
  // the native subscriber: a database of its own on the target server, its own slot on the source
  await t.query('create database native');
  const n = await client(target.urlFor('native'));
  const sourceConnection = source.url.replace('postgres://', 'postgresql://');
  const lagRows: string[][] = [];
  let nextId = 1;
  if (LAG_RATES.length) {
    await n.query('create table ev (id bigint primary key, payload text, src_at timestamptz not null, applied_at timestamptz default clock_timestamp())');
    await s.query('create publication native_lag_pub for table ev');
    await n.query(`create subscription native_lag_sub connection '${sourceConnection}' publication native_lag_pub with (copy_data = false)`);
    // the subscription streams once its slot exists and its apply worker is up: wait for a probe row
    await s.query("insert into ev values (0, 'probe', clock_timestamp())");
    for (let i = 0; ; i++) {
      if ((await n.query('select 1 from ev where id = 0')).rowCount) break;
      if (i > 1200) throw new Error('native lag subscription did not start');
      await sleep(25);
    }
  }
  const lagOf = async (c: pg.Client, first: number) => {
    const { rows } = await c.query<{ ms: number }>('select extract(epoch from applied_at - src_at) * 1000 as ms from ev where id >= $1 order by id', [first]);
    return rows.map((r) => Number(r.ms));
  };
  for (const rate of LAG_RATES) {
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => client(source.url)));
    // logical decoding only sends flushed WAL: commit durably, as a production source does
    for (const w of writers) await w.query('set synchronous_commit = on');
    const first = nextId;
    // CPU of each apply path over the run, per transaction: ours = the worker process + its apply
    // backend, native = its apply worker. On a busy machine a process gets the CPU after a wake-up
    // later the more it has used: this figure is what the lag's tail follows
    const oursCpu = async () => (processCpu([lagWorkerPid]) ?? NaN) + ((await backendCpu(t, "application_name like 'cutover-apply%'")) ?? NaN);
    const nativeCpu = async () => (await backendCpu(n, "backend_type = 'logical replication apply worker'")) ?? NaN;
    const [ours0, native0] = [await oursCpu(), await nativeCpu()];
    const worker0 = processCpu([lagWorkerPid]) ?? NaN;
    const started = performance.now();
    let sent = 0;
    await Promise.all(
      writers.map(async (w, i) => {
        for (;;) {
          const elapsed = (performance.now() - started) / 1000;
          if (elapsed >= SECONDS) return;
          const due = Math.floor(elapsed * rate);
          if (sent >= due) {
            await sleep(1);
            continue;
          }
          sent++;
          const id = nextId++;
          await w.query('insert into ev values ($1, $2, clock_timestamp())', [id, `w${i} ${id}`]);
        }
      }),
    );
    const achieved = sent / ((performance.now() - started) / 1000);
    const cpuMsPerTxn = {
      ours: (((await oursCpu()) - ours0) * 1000) / sent,
      worker: (((processCpu([lagWorkerPid]) ?? NaN) - worker0) * 1000) / sent,
      native: (((await nativeCpu()) - native0) * 1000) / sent,
    };
    await Promise.all(writers.map((w) => w.end()));
    if (!(await replicator.waitForPosition(await replicator.sourcePosition(), 60_000))) throw new Error('CDC did not catch up');
    const last = nextId - 1;
    for (let i = 0; !(await n.query('select 1 from ev where id = $1', [last])).rowCount; i++) {
      if (i > 2400) throw new Error('native subscription did not catch up');
      await sleep(25);
    }
    const lags = await lagOf(t, first);
    const nativeLags = await lagOf(n, first);
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    const line = (name: string, xs: number[], ratio: (p: number) => string, cpuMs: string) => {
      const half = Math.floor(xs.length / 2);
      return [
        `${rate}/s (achieved ${Math.round(achieved)}/s)`,
        name,
        pct(xs, 50).toFixed(1),
        pct(xs, 99).toFixed(1),
        pct(xs.slice(0, half), 99).toFixed(1),
        pct(xs.slice(half), 99).toFixed(1),
        String(xs.length),
        ratio(50),
        ratio(99),
        cpuMs,
        load,
      ];
    };
    const ratio = (p: number) => (pct(lags, p) / pct(nativeLags, p)).toFixed(2);
    const ms = (x: number) => (Number.isNaN(x) ? '?' : x.toFixed(2));
    lagRows.push(
      line('cutover replicator', lags, ratio, `${ms(cpuMsPerTxn.ours)} (worker ${ms(cpuMsPerTxn.worker)})`),
      line('native CREATE SUBSCRIPTION', nativeLags, () => '', `${ms(cpuMsPerTxn.native)} (apply worker)`),
    );
  }
  if (LAG_RATES.length) {
    await n.query('drop subscription native_lag_sub'); // drops its slot on the source too
    await s.query('drop publication native_lag_pub');
  }

  const lagLoad = os.loadavg().map((l) => l.toFixed(1)).join(' ');

  const print = (title: string, header: string[], rows: string[][]) => {
    const all = [header, ...rows];
    const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
    process.stdout.write(`${title}\n`);
    for (const r of all) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
  };
  if (lagRows.length) {
    print(
      `CDC lag, ${SECONDS} s per rate, single-row transactions from ${WRITERS} connections, the same writes to both (goal p99 <= 50 ms); load average at the end ${lagLoad}`,
      ['rate', 'apply', 'p50 ms', 'p99 ms', 'p99 1st half', 'p99 2nd half', 'rows', 'p50 ratio ours/native', 'p99 ratio ours/native', 'apply CPU ms per txn', 'load average'],
      lagRows,
    );
  }
  // BENCH_BACKLOG=0: the lag part only
  if (BACKLOG > 0) {
    // ---- 2. apply rows/s on a backlog: ours vs native logical replication
    await n.query('create table bulk (id bigint primary key, payload text, n int)');
    await s.query('create publication native_pub for table bulk');
    await n.query(
      `create subscription native_sub connection '${sourceConnection}' publication native_pub with (copy_data = false, enabled = false)`,
    );
    await replicator.stop();

    // both sides are timed the same way, from the moment the source accepted their stream (their
    // slot turned active, polled on a connection of its own every 2 ms) to the backlog's last row
    // visible on their target (see rowVisible): total = that span; first row = to the
    // backlog's first row; steady rows/s = the last 90 % of the backlog, from its row 10 % visible
    // to its last row visible (transactions apply in source order and atomically, so a row
    // visible means every row before it applied). Start-up before streaming (the worker's
    // process and connections, the native apply worker's launch) is not counted for either: the
    // replicator's is printed apart.
    const slotWatch = await client(source.url);
    const targetWatch = await client(target.url);
    const slotActiveAt = (slot: string) => slotActiveWhen(slotWatch, slot);
    // When a row became visible on its target, on this process's clock (performance.now()):
    // polled every 2 ms inside the target's own session (row_landed), which returns its
    // clock_timestamp() when the row is there. Polling from this process, every 5 ms, cost it
    // ~0.6 ms of CPU and its session ~0.2 ms per poll on this machine: ~14 % of a core for the
    // whole run, taken from the CPUs the measured processes share — more from the kit's three
    // (walsender, worker, target) than from native's two (perf sched showed this process
    // running while the kit's walsender waited for a CPU). The server-side loop costs ~2 %.
    // each database's loop runs on a session of its own: the session waits in it
    const landing = new Map<pg.Client, pg.Client>([
      [t, await client(target.url)],
      [n, await client(target.urlFor('native'))],
    ]);
    for (const c of landing.values()) {
      await c.query(`create function row_landed(wanted bigint) returns float8 language plpgsql as $$
        begin
          loop
            -- a volatile function's statements each see the latest commits
            if exists (select 1 from bulk where id = wanted) then return extract(epoch from clock_timestamp()) * 1000; end if;
            perform pg_sleep(0.002);
          end loop;
        end $$`);
    }
    const rowVisible = async (c: pg.Client, id: number) => {
      const { rows } = await landing.get(c)!.query<{ at: number }>('select row_landed($1) as at', [id]);
      return Number(rows[0]!.at) - performance.timeOrigin;
    };
    const rowsVisible = async (c: pg.Client, first: number, last: number) => {
      const firstAt = await rowVisible(c, first);
      const steadyFrom = first + Math.floor((last - first + 1) / 10);
      const from = await rowVisible(c, steadyFrom);
      const lastAt = await rowVisible(c, last);
      return { firstAt, lastAt, steady: (last - steadyFrom) / ((lastAt - from) / 1000) };
    };
    interface ApplyRun {
      seconds: number;
      steady: number;
      /** From streaming to the backlog's first row visible. */
      firstSeconds: number;
      cpu: { walsender: number | null; apply: number | null; split?: { worker: number; backend: number } };
      /** Seconds the stream's processes were ready to run but waited for a CPU (see processWaited). */
      waited?: { walsender: number | null; apply: number | null };
    }
    /** Each replicator start until its stream was accepted (its worker's start-up, the apply warm-up included). */
    const startups: number[] = [];
    const oursApply = async (first: number, last: number, until: string): Promise<ApplyRun> => {
      const startAt = performance.now();
      const streaming = slotActiveAt(names.slot).then(async (at) => {
        // the worker's and its target session's CPU until its stream is accepted is start-up
        // (module loading, connections, the session's catalog caches, the control schema)
        const pid = readStatusFile(names.statusFile)?.worker?.pid;
        const workerCpu = pid ? processCpu([pid]) : null;
        const workerWaited = pid ? processWaited([pid]) : null;
        const backendCpu0 = await backendCpu(targetWatch, "application_name like 'cutover-apply%'");
        return { at, workerCpu, workerWaited, backendCpu0 };
      });
      const visible = rowsVisible(t, first, last);
      const { worker } = await replicator.start();
      const { at: t0, workerCpu: workerCpu0, workerWaited: workerWaited0, backendCpu0 } = await streaming;
      startups.push((t0 - startAt) / 1000);
      const { firstAt, lastAt, steady } = await visible;
      const workerCpu = processCpu([worker!.pid]);
      const worker_ = (workerCpu ?? NaN) - (workerCpu0 ?? NaN);
      const backend = ((await backendCpu(t, "application_name like 'cutover-apply%'")) ?? NaN) - (backendCpu0 ?? NaN);
      const cpu = { walsender: await backendCpu(s, "application_name like 'cutover-cdc%'"), apply: worker_ + backend, split: { worker: worker_, backend } };
      const waited = {
        walsender: await backendWaited(s, "application_name like 'cutover-cdc%'"),
        apply: (processWaited([worker!.pid]) ?? NaN) - (workerWaited0 ?? NaN) + ((await backendWaited(t, "application_name like 'cutover-apply%'")) ?? NaN),
      };
      if (!(await replicator.waitForPosition(until, 60_000))) throw new Error('replicator did not catch up');
      await settle(names.slot);
      await replicator.stop();
      return { seconds: (lastAt - t0) / 1000, steady, firstSeconds: Math.max(0, (firstAt - t0) / 1000), cpu, waited };
    };
    // the native subscription's processes start afresh on enable, so their CPU counts from zero
    const nativeApply = async (first: number, last: number): Promise<ApplyRun> => {
      const streaming = slotActiveAt('native_sub');
      const visible = rowsVisible(n, first, last);
      await n.query('alter subscription native_sub enable');
      const t0 = await streaming;
      const { firstAt, lastAt, steady } = await visible;
      const cpu = {
        walsender: await backendCpu(s, "application_name = 'native_sub'"),
        apply: await backendCpu(n, "backend_type = 'logical replication apply worker'"),
      };
      const waited = {
        walsender: await backendWaited(s, "application_name = 'native_sub'"),
        apply: await backendWaited(n, "backend_type = 'logical replication apply worker'"),
      };
      await settle('native_sub');
      await n.query('alter subscription native_sub disable');
      for (let i = 0; i < 400; i++) {
        const { rows } = await s.query<{ active: boolean }>("select active from pg_replication_slots where slot_name = 'native_sub'");
        if (!rows[0]?.active) break;
        await sleep(25);
      }
      return { seconds: (lastAt - t0) / 1000, steady, firstSeconds: Math.max(0, (firstAt - t0) / 1000), cpu, waited };
    };
    const sourcePosition = async () => (await s.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn;
    // both consumers' slots settle the same way before they stop (see settleSlot)
    const settle = (slot: string) => settleSlot(s, slot);
    // the decode ceiling: a copy of the replicator's slot (same position, same WAL to decode), read
    // by the kit's own reader, which counts rows and writes nowhere
    const names = streamNames(env, 'forward');
    const copySlot = (name: string) => s.query('select pg_copy_logical_replication_slot($1, $2)', [names.slot, name]);
    const dropProbe = async (name: string) => {
      for (let i = 0; i < 400; i++) {
        const { rows: r } = await s.query<{ active: boolean }>('select active from pg_replication_slots where slot_name = $1', [name]);
        if (!r[0]?.active) break;
        await sleep(25);
      }
      await s.query('select pg_drop_replication_slot($1)', [name]);
    };
    const decodeOnly = async (rows: number): Promise<ApplyRun> => {
      await copySlot('decode_probe');
      let seen = 0;
      let firstAt = 0;
      let steadyFrom = 0;
      const steadyRow = Math.floor(rows / 10);
      const streaming = slotActiveAt('decode_probe');
      const cpu0 = process.cpuUsage();
      let stream!: ChangeStream;
      await new Promise<void>((resolve, reject) => {
        stream = new ChangeStream(source.url, 'decode_probe', names.publication, {
          onTransaction: (txn) => {
            if (!seen) firstAt = performance.now();
            seen += txn.changes.length;
            if (!steadyFrom && seen >= steadyRow) steadyFrom = performance.now();
            if (seen >= rows) resolve();
          },
          onKeepalive: () => {},
          onError: reject,
        });
        stream.start().catch(reject);
      });
      const end = performance.now();
      const t0 = await streaming;
      const cpu = process.cpuUsage(cpu0);
      const walsender = await backendCpu(s, "application_name like 'cutover-cdc decode_probe%'");
      await stream.stop();
      await dropProbe('decode_probe');
      return {
        seconds: (end - t0) / 1000,
        steady: (rows - steadyRow) / ((end - steadyFrom) / 1000),
        firstSeconds: Math.max(0, (firstAt - t0) / 1000),
        cpu: { walsender, apply: (cpu.user + cpu.system) / 1e6 },
      };
    };
    // the same ceiling read by PostgreSQL's own C client, pg_recvlogical (from a PostgreSQL
    // install: the embedded servers come without it), writing to /dev/null until the backlog's end
    const recvlogical = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/15/bin', '/usr/bin'].map((d) => `${d}/pg_recvlogical`).find((f) => existsSync(f));
    const decodeInC = async (untilLsn: string): Promise<ApplyRun | null> => {
      if (!recvlogical) return null;
      await copySlot('decode_probe_c');
      const streaming = slotActiveAt('decode_probe_c');
      const child = spawn(recvlogical, ['-d', source.url, '-S', 'decode_probe_c', '--start', '-f', '/dev/null', '-E', untilLsn, '--no-loop', '-o', 'proto_version=1', '-o', `publication_names=${names.publication}`], { stdio: 'inherit' });
      const exited = new Promise((r) => child.on('exit', r));
      const t0 = await streaming;
      const { rows: w } = await slotWatch.query<{ pid: number }>("select active_pid as pid from pg_replication_slots where slot_name = 'decode_probe_c'");
      // both processes end with the stream: their CPU is read while they run
      let walsender: number | null = null;
      let reader: number | null = null;
      const sample = setInterval(() => {
        walsender = processCpu([w[0]!.pid]) ?? walsender;
        reader = processCpu([child.pid!]) ?? reader;
      }, 2);
      await exited;
      const end = performance.now();
      clearInterval(sample);
      await dropProbe('decode_probe_c');
      return { seconds: (end - t0) / 1000, steady: NaN, firstSeconds: NaN, cpu: { walsender, apply: reader } };
    };

    // BENCH_REPEAT rounds, each on a fresh backlog; the replicator and native take turns going first
    // (a machine whose load drifts favours neither). Figures are medians over the rounds, and the
    // total ratio of every round is printed too.
    interface Round { ours: ApplyRun; native: ApplyRun; decode: ApplyRun; decodeC: ApplyRun | null }
    const bulkRounds: Round[] = [];
    const smallRounds: Round[] = [];
    await s.query(`create procedure bench_single_row_commits(first bigint, last bigint) language plpgsql as $$
      begin for i in first..last loop insert into bulk values (i, 'p' || i, 1); commit; end loop; end $$`);
    const round = async (first: number, last: number, r: number, write: () => Promise<void>): Promise<Round> => {
      // both consumers start the round decoding from the same place: each slot (idle now, everything
      // before applied) is moved past a fresh checkpoint's running-transactions record, so neither
      // decodes the previous round's WAL again inside its timed window (settleSlot alone left
      // restart_lsn behind in some rounds: the native subscriber confirms every few seconds only)
      await s.query('checkpoint');
      for (const slot of [names.slot, 'native_sub']) await s.query('select pg_replication_slot_advance($1, pg_current_wal_lsn())', [slot]);
      await write();
      const decodeC = await decodeInC(await sourcePosition());
      const decode = await decodeOnly(last - first + 1);
      const until = await sourcePosition();
      if (r % 2 === 0) {
        const ours = await oursApply(first, last, until);
        return { ours, native: await nativeApply(first, last), decode, decodeC };
      }
      const native = await nativeApply(first, last);
      return { ours: await oursApply(first, last, until), native, decode, decodeC };
    };
    for (let r = 0, base = 0; r < REPEAT; r++, base += BACKLOG + SMALL_BACKLOG) {
      // backlog A: 1,000-row transactions of inserts (bulk loads, batch jobs)
      bulkRounds.push(
        await round(base + 1, base + BACKLOG, r, async () => {
          for (let i = 0; i < BACKLOG / 1000; i++) {
            await s.query(`insert into bulk select g, 'p' || g, 0 from generate_series(${base + i * 1000 + 1}, ${base + (i + 1) * 1000}) g`);
          }
        }),
      );
      // backlog B: single-row transactions (what an OLTP source commits), each its own commit record
      if (SMALL_BACKLOG > 0) smallRounds.push(
        await round(base + BACKLOG + 1, base + BACKLOG + SMALL_BACKLOG, r, async () => {
          await s.query('set synchronous_commit = off'); // generating the backlog faster; decoding is unaffected
          await s.query(`call bench_single_row_commits(${base + BACKLOG + 1}, ${base + BACKLOG + SMALL_BACKLOG})`);
          await s.query('set synchronous_commit = on');
        }),
      );
      if (REPEAT > 1) process.stdout.write(`(round ${r + 1} of ${REPEAT} done)\n`);
    }
    const medianOf = (xs: number[]) => {
      const v = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
      return v.length ? (v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2) : NaN;
    };
    const orNull = (x: number) => (Number.isFinite(x) ? x : null);
    const medianRun = (runs: ApplyRun[]): ApplyRun => ({
      seconds: medianOf(runs.map((x) => x.seconds)),
      steady: medianOf(runs.map((x) => x.steady)),
      firstSeconds: medianOf(runs.map((x) => x.firstSeconds)),
      cpu: {
        walsender: orNull(medianOf(runs.map((x) => x.cpu.walsender ?? NaN))),
        apply: orNull(medianOf(runs.map((x) => x.cpu.apply ?? NaN))),
        ...(runs[0]!.cpu.split
          ? { split: { worker: medianOf(runs.map((x) => x.cpu.split?.worker ?? NaN)), backend: medianOf(runs.map((x) => x.cpu.split?.backend ?? NaN)) } }
          : {}),
      },
      ...(runs[0]!.waited
        ? { waited: { walsender: orNull(medianOf(runs.map((x) => x.waited?.walsender ?? NaN))), apply: orNull(medianOf(runs.map((x) => x.waited?.apply ?? NaN))) } }
        : {}),
    });
    const median = (rounds: Round[]) => ({
      ours: medianRun(rounds.map((x) => x.ours)),
      native: medianRun(rounds.map((x) => x.native)),
      decode: medianRun(rounds.map((x) => x.decode)),
      decodeC: rounds[0]!.decodeC ? medianRun(rounds.map((x) => x.decodeC!)) : null,
      perRound: rounds.map((x) => (x.native.seconds / x.ours.seconds).toFixed(2)).join(' '),
    });
    const bulk = median(bulkRounds);
    const small = smallRounds.length ? median(smallRounds) : null;

    await n.query('alter subscription native_sub set (slot_name = none)');
    await n.query('drop subscription native_sub');
    await s.query("select pg_drop_replication_slot('native_sub')").catch(() => {});
    process.stdout.write(`\n(replicator start-up until the source accepted its stream, the apply path's warm-up included: median ${medianOf(startups).toFixed(2)} s, up to ${Math.max(...startups).toFixed(2)} s over ${startups.length} starts, not counted; every apply is timed from its slot turning active)`);
    const cpu = (x: number | null) => (x === null || Number.isNaN(x) ? '?' : x.toFixed(2));
    const applyTable = (title: string, goal: string, rows: number, ours: ApplyRun, native: ApplyRun, decode: ApplyRun, decodeC: ApplyRun | null) => {
      const figure = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
      const line = (name: string, run: ApplyRun, apply: string) => [
        name,
        figure(run.firstSeconds, 2),
        run.seconds.toFixed(2),
        Math.round(rows / run.seconds).toString(),
        (native.seconds / run.seconds).toFixed(2),
        figure(Math.round(run.steady), 0),
        figure(run.steady / native.steady, 2),
        (decode.seconds / run.seconds).toFixed(2),
        decodeC ? (decodeC.seconds / run.seconds).toFixed(2) : '-',
        cpu(run.cpu.walsender),
        `${cpu(run.cpu.apply)} ${apply}`,
        run.waited ? `${cpu(run.waited.walsender)} / ${cpu(run.waited.apply)}` : '-',
      ];
      print(
        `\napply of ${title}, identity mapping, batchSize ${BATCH}${REPEAT > 1 ? `, median of ${REPEAT} rounds` : ""} (${goal}); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
        ['apply', 'first row s', 'seconds (total)', 'rows/s (total)', 'total ratio', 'steady rows/s', 'steady ratio to native', 'apply / decode', 'apply / C decode', 'CPU s: source walsender', 'CPU s: apply side', 'waited for a CPU s: walsender / apply side'],
        [
          line('cutover replicator', ours, `(worker ${cpu(ours.cpu.split?.worker ?? null)} + target backend ${cpu(ours.cpu.split?.backend ?? null)})`),
          line('native CREATE SUBSCRIPTION', native, '(apply worker)'),
          line('decode only (kit reader, writes nowhere)', decode, '(reader)'),
          ...(decodeC ? [line('decode only (pg_recvlogical, C, writes nowhere)', decodeC, '(pg_recvlogical)')] : []),
        ],
      );
    };
    applyTable(`a ${BACKLOG}-row backlog in 1,000-row transactions`, 'goal: total ratio >= 1.1', BACKLOG, bulk.ours, bulk.native, bulk.decode, bulk.decodeC);
    if (REPEAT > 1) process.stdout.write(`total ratio per round (ours / native): ${bulk.perRound}\n`);
    if (small) {
      applyTable(`a ${SMALL_BACKLOG}-row backlog in single-row transactions`, 'goal: total ratio >= 1.0, steady >= 1.2, first row <= 0.2 s', SMALL_BACKLOG, small.ours, small.native, small.decode, small.decodeC);
      if (REPEAT > 1) process.stdout.write(`total ratio per round (ours / native): ${small.perRound}\n`);
    }
    if (!recvlogical) process.stdout.write('(pg_recvlogical not found in /usr/lib/postgresql/{17,15}/bin or /usr/bin: no C decode line; apt-get install postgresql-client)\n');
    process.stdout.write('\n');
    await slotWatch.end();
    await targetWatch.end();
    for (const c of landing.values()) await c.end();
  }
  await n.end();
  await replicator.teardown();
  await s.end();
  await t.end();

} finally {
  await Promise.all([source.dispose(), target.dispose()]);
}
