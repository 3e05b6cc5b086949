// scratch: server-side cost of ways to write 5000 rows
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startTestPostgres } from '../test/_helpers/pg.ts';
const t = await startTestPostgres();
const N = 5000, B = 20;
try {
  const c = new pg.Client({ connectionString: t.url }); await c.connect();
  await c.query("set session_replication_role = replica; set synchronous_commit = off");
  await c.query("select pg_replication_origin_create('o'); select pg_replication_origin_session_setup('o')");
  const reset = async () => { await c.query('drop table if exists bulk; create table bulk (id bigint primary key, payload text, n int)'); };
  const batch = (b: number) => { const ids: string[] = [], p: string[] = [], n: string[] = []; for (let i = 0; i < N; i++) { const id = b * N + i + 1; ids.push(String(id)); p.push('p' + id); n.push('0'); } return [ids, p, n]; };
  const run = async (name: string, fn: (b: number) => Promise<void>) => { await reset(); const t0 = performance.now(); for (let b = 0; b < B; b++) { await c.query('begin'); await fn(b); await c.query('commit'); } const ms = performance.now() - t0; console.log(name.padEnd(40), (ms).toFixed(0), 'ms', Math.round(N * B / ms * 1000), 'rows/s'); };
  const sel = 'select u.c0::bigint, u.c1::text, u.c2::integer from unnest($1::text[], $2::text[], $3::text[]) as u(c0, c1, c2)';
  for (let rep = 0; rep < 4; rep++) {
  if (0) await run('unnest upsert (current)', async (b) => { await c.query(`insert into bulk (id, payload, n) overriding system value ${sel} on conflict (id) do update set payload = excluded.payload, n = excluded.n`, batch(b)); });
  await run('unnest plain insert, literal', async (b) => { const a = batch(b).map((xs) => "'{" + xs.map((x) => '"' + x + '"').join(',') + "}'"); await c.query(`insert into bulk (id, payload, n) select u.c0::bigint, u.c1::text, u.c2::integer from unnest(${a[0]}::text[], ${a[1]}::text[], ${a[2]}::text[]) as u(c0, c1, c2)`); });
  if (0) await run('unnest upsert, literal arrays', async (b) => { const a = batch(b).map((xs) => '{' + xs.map((x) => '"' + x + '"').join(',') + '}'); await c.query(`insert into bulk (id, payload, n) overriding system value ${sel} on conflict (id) do update set payload = excluded.payload, n = excluded.n`, a); });
  await run('copy', async (b) => { const [ids, p, n] = batch(b); let s = ''; for (let i = 0; i < N; i++) s += ids[i] + '\t' + p[i] + '\t' + n[i] + '\n'; await pipeline(Readable.from([s]), c.query(copyStreams.from('copy bulk from stdin'))); });
  if (0) await run('upsert again over existing rows', async (b) => { if (b === 0) { for (let k = 0; k < B; k++) await c.query(`insert into bulk (id, payload, n) ${sel}`, batch(k)); } await c.query(`insert into bulk (id, payload, n) overriding system value ${sel} on conflict (id) do update set payload = excluded.payload, n = excluded.n`, batch(b)); });
  }
  await c.end();
} finally { await t.dispose(); }
