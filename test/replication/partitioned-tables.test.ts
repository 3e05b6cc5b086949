import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { planPublication } from '../../lib/postgres/publication-plan.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { processAlive } from '../../lib/replication/status-file.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from './_env.ts';

/**
 * A mapped partitioned table. Its changes are sent under the name of the partition they touched
 * unless the publication publishes through the root (publish_via_partition_root, PostgreSQL 13+);
 * the worker knows the mapped root only and dropped them as unmapped: CDC inserts, updates and
 * deletes of a partitioned table never reached the target, with no error, no dead letter and lag 0
 * (found on PostgreSQL 18 → 15; the full load, a COPY of the root, was complete).
 *
 * And a stored generated column copied to a plain target column: pgoutput sends generated columns
 * only when the publication says publish_generated_columns (PostgreSQL 18); without it every
 * replicated insert and update wrote NULL there (the full load had copied the values). On 18 the
 * kit's publication says it; before 18 assess blocks (test/assess/least-privilege.test.ts).
 */
const SCHEMA = `
  create table events (id int not null, at date not null, what text, primary key (id, at)) partition by range (at);
  create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
  create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01');
  create table notes (id int primary key, body text, size int);`;

describe('a partitioned table and a generated column under CDC (PostgreSQL 18)', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  // two databases of one server
  const source = { url: '' };
  const target = { url: '' };
  let env: ResolvedPostgresEnvironment;
  let forward: PostgresReplicator;
  const workers: number[] = [];

  beforeAll(async () => {
    server = await startTestPostgres('blue', undefined, 18);
    await server.createDatabase('green');
    source.url = server.url;
    target.url = server.urlFor('green');
    await sql(source.url, SCHEMA.replace('size int', 'size int generated always as (length(body)) stored'));
    await sql(target.url, SCHEMA);
    await sql(source.url, "insert into events select g, date '2025-06-01' + g, 'ev ' || g from generate_series(1, 300) g; insert into notes (id, body) values (1, 'a')");
    env = testEnvironment(source.url, target.url, { chunkRows: 1000 }, {}, 'part');
    forward = new PostgresReplicator(env, 'forward', new RecordingOutput());
  }, 90_000);
  afterAll(async () => {
    await forward?.stop().catch(() => {});
    for (const pid of workers) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    await server?.dispose();
  });

  test('inserts, updates (one moving a row to another partition) and deletes reach the target through the root; a generated column keeps its values', async () => {
    // a publication made beforehand as assess used to print it (no publish_via_partition_root):
    // the kit makes it publish through the root
    await sql(source.url, `create publication ${streamNames(env, 'forward').publication} for table events, notes`);
    const started = await forward.start();
    workers.push(started.worker!.pid);
    await until(async () => ['cdc', 'failed'].includes((await forward.status()).phase), 60_000, 'CDC');
    expect((await forward.status()).error).toBeUndefined();
    await sql(
      source.url,
      `insert into events values (9001, '2026-05-05', 'cdc');
       update events set what = 'changed' where id = 5;
       update events set at = '2026-02-02' where id = 6;
       delete from events where id = 7;
       insert into notes (id, body) values (2, 'bb');
       update notes set body = 'ccc' where id = 1`,
    );
    expect(await forward.waitForPosition(await forward.sourcePosition(), 30_000)).toBe(true);
    expect(await tableDigest(target.url, 'notes')).toEqual(await tableDigest(source.url, 'notes'));
    expect(await tableDigest(target.url, 'events', 'id, at')).toEqual(await tableDigest(source.url, 'events', 'id, at'));
    expect((await sql(target.url, "select what from events where id = 9001")).rows).toEqual([{ what: 'cdc' }]);
    expect((await sql(target.url, 'select id, size from notes order by id')).rows).toEqual([{ id: 1, size: 3 }, { id: 2, size: 2 }]);
    expect((await forward.status()).deadLetters).toBe(0);
  });

  test('a generated column the mapping leaves out (the target computes it) asks nothing more of the publication: a read-only role can use one its owner made', async () => {
    const c = await connect(source.url);
    try {
      expect((await planPublication(c, 'other_pub', [{ schema: 'public', table: 'notes' }])).statements).toEqual([
        'CREATE PUBLICATION "other_pub" FOR TABLE "public"."notes" WITH (publish_generated_columns = stored)',
      ]);
      expect((await planPublication(c, 'other_pub', [{ schema: 'public', table: 'notes', removedColumns: ['size'] }])).statements).toEqual([
        'CREATE PUBLICATION "other_pub" FOR TABLE "public"."notes"',
      ]);
    } finally {
      await c.end();
    }
  });
});
