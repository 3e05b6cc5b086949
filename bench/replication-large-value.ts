/**
 * One large value across CDC: a single row whose text column holds BENCH_VALUE_MB (default 8) MB,
 * inserted, then updated to another value of that size, on the source while the replication worker
 * streams (a detached worker, as `replicate start` runs it). Timed from the source's commit
 * (the client's COMMIT returned) until the row is on the target with its new value's length; the
 * same for a small row (the stream's fixed cost), and COPY of the same row between the same
 * servers (`COPY … TO STDOUT` piped into `COPY … FROM STDIN`, what moving those bytes costs).
 * Printed per round and as medians: seconds, and the ratios large/COPY and large/small.
 * Found under load (trial5): an 8 MB value took ~25 s to cross.
 *
 * The cause: the stream's framing (copy-data-framer.ts) grew a message split across reads by
 * concatenation, copying everything received so far again at every read — quadratic in the value's
 * size (a 1 MB message in 1 kB reads: 550 MB copied; 8 MB in 16 kB reads: 8.5 s of copying alone).
 * Now the message is allocated once its header is read and each byte copied once. Back to back on
 * this 2-core machine shared with other sessions (before: load 3.4-7.2; after: 11-12.7), 3 rounds
 * of 8 MB and 1 of 32 MB, medians:
 *                          before                          after
 *   8 MB insert / COPY     3.94 s / 1.19 s = 3.3           2.57 s / 1.42 s = 1.8
 *   8 MB update / COPY     5.18 s / 1.19 s = 4.3           3.50 s / 1.42 s = 2.5
 *   32 MB insert / COPY    162.0 s / 3.98 s = 40.7         18.6 s / 9.43 s = 2.0
 *   32 MB update / COPY    50.7 s / 3.98 s = 12.7          12.8 s / 9.43 s = 1.4
 *
 *   npx tsx bench/replication-large-value.ts
 *   BENCH_VALUE_MB=32 BENCH_ROUNDS=3 npx tsx bench/replication-large-value.ts
 */
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { silentOutput } from '../lib/output/output.ts';
import { PostgresReplicator } from '../lib/replication/postgres-replicator.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { testEnvironment } from '../test/replication/_env.ts';
import { connectClient } from './replication-probes.ts';

const VALUE_MB = Number(process.env.BENCH_VALUE_MB ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
for (const [name, v] of Object.entries({ BENCH_VALUE_MB: VALUE_MB, BENCH_ROUNDS: ROUNDS })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} must be a whole number >= 1 (got ${process.env[name]})`);
    process.exit(2);
  }
}
const MD5S = Math.round((VALUE_MB * 1024 * 1024) / 32);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
let replicator: PostgresReplicator | null = null;
try {
  const s = await connectClient(source.url);
  const t = await connectClient(target.url);
  for (const c of [s, t]) c.on('error', () => {}); // ended when the servers stop
  for (const c of [s, t]) await c.query('create table big (id int primary key, body text not null); create table copied (id int primary key, body text not null)');
  // the mapping moves `big` only: `copied` is the COPY baseline's table on both sides
  const env = testEnvironment(source.url, target.url, {}, {
    forward: { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': 'big' }, 'rule-action': 'include' }] },
  });
  replicator = new PostgresReplicator(env, 'forward', silentOutput);
  await replicator.start();
  if (!(await replicator.waitForPosition(await replicator.sourcePosition(), 120_000))) throw new Error('the worker did not catch up');

  /** Seconds from `write` returning (committed) until the target's row `id` has `length` characters starting with `head`. */
  const crossing = async (write: () => Promise<unknown>, id: number, v: { length: number; head: string }): Promise<number> => {
    await write();
    const t0 = performance.now();
    for (;;) {
      const r = await t.query<{ n: number; head: string }>('select length(body)::int as n, left(body, 32) as head from big where id = $1', [id]);
      if (r.rows[0]?.n === v.length && r.rows[0]?.head === v.head) return (performance.now() - t0) / 1000;
      if (performance.now() - t0 > 600_000) throw new Error(`row ${id} did not arrive in 10 minutes`);
      await sleep(20);
    }
  };
  /** A value of MD5S × 32 characters, different per seed, kept in a temp table so the commit is quick. */
  const prepare = async (seed: number) => {
    await s.query('drop table if exists pending');
    await s.query(`create temp table pending as select string_agg(md5(g::text || '-${seed}'), '' order by g) as v from generate_series(1, ${MD5S}) g`);
    const r = (await s.query<{ n: number; head: string }>('select length(v)::int as n, left(v, 32) as head from pending')).rows[0]!;
    return { length: Number(r.n), head: r.head };
  };

  const rows: { insert: number; update: number; small: number; copy: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const id = round * 10;
    const first = await prepare(round * 2);
    const insert = await crossing(() => s.query('insert into big select $1, v from pending', [id]), id, first);
    const second = await prepare(round * 2 + 1);
    const update = await crossing(() => s.query('update big set body = (select v from pending) where id = $1', [id]), id, second);
    const small = await crossing(() => s.query("insert into big values ($1, 'small')", [id + 1]), id + 1, { length: 5, head: 'small' });
    // COPY of the same row between the same servers
    await t.query('truncate copied');
    await s.query('truncate copied');
    await s.query('insert into copied select id, body from big where id = $1', [id]);
    const c0 = performance.now();
    await pipeline(s.query(copyTo('copy copied to stdout')), t.query(copyFrom('copy copied from stdin')));
    const copy = (performance.now() - c0) / 1000;
    rows.push({ insert, update, small, copy });
    console.log(`round ${round}: insert ${insert.toFixed(2)} s, update ${update.toFixed(2)} s, small row ${small.toFixed(3)} s, COPY ${copy.toFixed(3)} s  (load ${os.loadavg()[0]!.toFixed(1)})`);
  }
  const m = { insert: median(rows.map((r) => r.insert)), update: median(rows.map((r) => r.update)), small: median(rows.map((r) => r.small)), copy: median(rows.map((r) => r.copy)) };
  console.log(`\n${VALUE_MB} MB value, medians of ${ROUNDS}: insert ${m.insert.toFixed(2)} s, update ${m.update.toFixed(2)} s; small row ${m.small.toFixed(3)} s; COPY of the row ${m.copy.toFixed(3)} s`);
  console.log(`ratios: insert/COPY ${(m.insert / m.copy).toFixed(1)}, update/COPY ${(m.update / m.copy).toFixed(1)}, insert/small ${(m.insert / m.small).toFixed(1)}, update/small ${(m.update / m.small).toFixed(1)}`);
  await s.end();
  await t.end();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await replicator?.stop().catch(() => {});
  await replicator?.close().catch(() => {});
  await Promise.all([source.dispose(), target.dispose()]);
}
