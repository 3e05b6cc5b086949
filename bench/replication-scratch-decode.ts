// scratch: how fast does the source decode a 100k-row backlog (no apply)?
import pg from 'pg';
import { startTestPostgres } from '../test/_helpers/pg.ts';
const s = await startTestPostgres();
try {
  const c = new pg.Client({ connectionString: s.url }); await c.connect();
  await c.query('create table bulk (id bigint primary key, payload text, n int)');
  await c.query('create publication p for table bulk');
  await c.query("select pg_create_logical_replication_slot('x', 'pgoutput')");
  for (let i = 0; i < 100; i++) await c.query(`insert into bulk select g, 'p' || g, 0 from generate_series(${i * 1000 + 1}, ${(i + 1) * 1000}) g`);
  let t0 = performance.now();
  const r = await c.query("select count(*), sum(length(data)) from pg_logical_slot_peek_binary_changes('x', null, null, 'proto_version', '1', 'publication_names', 'p')");
  console.log('decode via SQL', r.rows[0], ((performance.now() - t0) / 1000).toFixed(2), 's');
  await c.end();
} finally { await s.dispose(); }
