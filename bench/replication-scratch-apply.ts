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
  const t0 = performance.now();
  if (!(await replicator.waitForPosition(lsn, 300_000))) throw new Error('no catch up');
  const secs = (performance.now() - t0) / 1000;
  console.log(`first batch after ${(firstAt[0]-t0).toFixed(0)} ms; building batches ${applyMs.toFixed(0)} ms, ${batches} batches, ${changes} changes`); console.log(`apply ${BACKLOG} rows: ${secs.toFixed(2)} s, ${Math.round(BACKLOG / secs)} rows/s`);
  console.log(qstats);
  await replicator.teardown();
  await s.end(); await t.end();
} finally { await Promise.all([source.dispose(), target.dispose()]); }
