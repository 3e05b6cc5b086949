// scratch: apply of a backlog, for profiling
import pg from 'pg';
import { silentOutput } from '../lib/output/output.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { testEnvironment } from '../test/replication/_env.ts';
import { ChangeApplier } from '../lib/replication/change-applier.ts';
const qstats = new Map<string, { n: number; ms: number }>();
const oq = (pg.Client.prototype as any).query;
(pg.Client.prototype as any).query = function (this: any, text: any, ...rest: any[]) {
  const r = oq.call(this, text, ...rest);
  if (typeof text === 'string' && r && typeof r.then === 'function' && String(this.connectionParameters?.application_name ?? '').startsWith('cutover-apply')) {
    const k = text.slice(0, 70).replace(/\s+/g, ' '); const t0 = performance.now();
    r.then(() => { const s = qstats.get(k) ?? { n: 0, ms: 0 }; s.n++; s.ms += performance.now() - t0; qstats.set(k, s); }, () => {});
  }
  return r;
};
let applyMs = 0, batches = 0, changes = 0; const firstAt: number[] = [];
const orig = ChangeApplier.prototype.submit;
ChangeApplier.prototype.submit = function (txns: any, r: any, after: any) { const t0 = performance.now(); if (!firstAt.length) firstAt.push(t0); const res = orig.call(this, txns, r, after); applyMs += performance.now() - t0; batches++; return res; };

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
try {
  const s = new pg.Client({ connectionString: source.url }); await s.connect();
  const t = new pg.Client({ connectionString: target.url }); await t.connect();
  await s.query('create table bulk (id bigint primary key, payload text, n int)');
  await t.query('create table bulk (id bigint primary key, payload text, n int)');
  const env = testEnvironment(source.url, target.url, { batchSize: Number(process.env.BATCH ?? 5000) });
  const replicator = new PostgresReplicator(env, 'forward', silentOutput);
  await replicator.start({ foreground: true });
  await replicator.stop();
  for (let i = 0; i < BACKLOG / 1000; i++) await s.query(`insert into bulk select g, 'p' || g, 0 from generate_series(${i * 1000 + 1}, ${(i + 1) * 1000}) g`);
  if (process.env.UPDATES) for (let i = 0; i < BACKLOG / 1000; i++) await s.query(`update bulk set n = n + 1 where id between ${i * 1000 + 1} and ${(i + 1) * 1000}`);
  const lsn = (await s.query('select pg_current_wal_lsn()::text as l')).rows[0].l;
  await replicator.start({ foreground: true });
  const inspector = await import('node:inspector/promises'); const session = new inspector.Session(); session.connect();
  if (process.env.PROFILE) { await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 200 }); await session.post('Profiler.start'); }
  const t0 = performance.now(); const cpu0 = process.cpuUsage();
  if (!(await replicator.waitForPosition(lsn, 300_000))) throw new Error('no catch up');
  const secs = (performance.now() - t0) / 1000;
  console.log('WAITS', (globalThis as any).WAITS, 'IDLE', (globalThis as any).IDLE);
  console.log(`first batch after ${(firstAt[0]-t0).toFixed(0)} ms; building batches ${applyMs.toFixed(0)} ms, ${batches} batches, ${changes} changes`); console.log(`apply ${BACKLOG} rows: ${secs.toFixed(2)} s, ${Math.round(BACKLOG / secs)} rows/s`);
  const cpu = async (url: string) => { const c = new pg.Client({ connectionString: url }); await c.connect(); const { rows } = await c.query("select pid, application_name from pg_stat_activity where application_name like 'cutover%'"); await c.end(); const fs = await import('node:fs'); return rows.map((r: any) => { const f = fs.readFileSync(`/proc/${r.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return `${r.application_name}: ${((Number(f[11]) + Number(f[12])) * 10)} ms cpu`; }); };
  if (process.env.PROFILE) { const { profile } = await session.post('Profiler.stop'); (await import('node:fs')).writeFileSync('/tmp/apply.cpuprofile', JSON.stringify(profile)); }
  console.log('source', await cpu(source.url), 'target', await cpu(target.url), 'node', process.cpuUsage(cpu0));
  console.log(qstats);
  await replicator.stop();
  await t.query('create database native');
  const nn = new pg.Client({ connectionString: target.urlFor('native') }); await nn.connect();
  await nn.query('create table bulk (id bigint primary key, payload text, n int)');
  await s.query('create publication native_pub for table bulk');
  await s.query("select pg_create_logical_replication_slot('native_sub', 'pgoutput')");
  // same backlog again, for native
  await s.query('truncate bulk');
  await s.query(`insert into bulk select g, 'p' || g, 0 from generate_series(1, 1) g`);
  await s.query('delete from bulk');
  for (let i = 0; i < BACKLOG / 1000; i++) await s.query(`insert into bulk select g, 'p' || g, 0 from generate_series(${i * 1000 + 1}, ${(i + 1) * 1000}) g`);
  await nn.query(`create subscription native_sub connection '${source.url}' publication native_pub with (copy_data = false, create_slot = false)`);
  const n0 = performance.now();
  for (;;) { const { rowCount } = await nn.query('select 1 from bulk where id = $1', [BACKLOG]); if (rowCount) break; await new Promise((r) => setTimeout(r, 5)); }
  console.log('native', ((performance.now() - n0) / 1000).toFixed(2), 's');
  const cpuN = async (url: string) => { const c = new pg.Client({ connectionString: url }); await c.connect(); const { rows } = await c.query("select pid, coalesce(nullif(application_name, ''), backend_type) as application_name from pg_stat_activity where backend_type in ('walsender', 'logical replication apply worker')"); await c.end(); const fs = await import('node:fs'); return rows.map((r: any) => { const f = fs.readFileSync(`/proc/${r.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return `${r.application_name}: ${((Number(f[11]) + Number(f[12])) * 10)} ms cpu`; }); };
  console.log('native source', await cpuN(source.url), 'target', await cpuN(target.url));
  await nn.query('alter subscription native_sub disable'); await nn.query('alter subscription native_sub set (slot_name = none)'); await nn.query('drop subscription native_sub'); await nn.end();
  await replicator.teardown();
  await s.end(); await t.end();
} finally { await Promise.all([source.dispose(), target.dispose()]); }
