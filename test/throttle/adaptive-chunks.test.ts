import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { SourceHealth } from '../../lib/platform/roles.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { readStatusFile } from '../../lib/replication/status-file.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { SourceThrottler } from '../../lib/throttle/source-throttler.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment, until } from '../replication/_env.ts';

const SCHEMA = `create table items (id bigint primary key, name text, qty int);
  create table "Bestellung" ("Region" text, id int, "备注" text, primary key ("Region", id));`;
const ITEMS = 3000;
const ORDERS = 1200;
/** A 1 ms target: every chunk is slower than that, so chunks stay near minChunkRows. */
const TINY = { enabled: true, chunkTargetMs: 1, minChunkRows: 20, maxChunkRows: 60 };

/** Full load and validation with a tiny target chunk time: many small chunks, and still every row. */
describe('chunks sized to pacing.chunkTargetMs on real servers', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let env: ReturnType<typeof testEnvironment>;

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(target.url, SCHEMA);
    await sql(source.url, `insert into items select g, 'item ' || g, g % 100 from generate_series(1, ${ITEMS}) g`);
    await sql(source.url, `insert into "Bestellung" select (array['北京','Süd','east'])[g % 3 + 1], g, 'n' || g from generate_series(1, ${ORDERS}) g`);
    // validation buckets of 10 rows (validation.chunkRows / 8): a chunk is a run of 2..6 of them
    env = testEnvironment(source.url, target.url, { chunkRows: 1000, parallelTables: 2, batchSize: 100 }, {}, 'lab', { pacing: TINY, validation: { chunkRows: 80, concurrency: 2 } });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([source?.dispose(), target?.dispose()]);
  });
  const healthyThrottler = () => {
    const healthy: SourceHealth = { blueP99Ms: 20, blueRequests: 100, activeSessions: 0, probeMs: 1 };
    return new SourceThrottler(env.pacing, { caveat: null, sample: async () => healthy, close: async () => {} }, new RecordingOutput());
  };

  test('the full load reads each planned chunk in slices of at most maxChunkRows, each committed: stopped mid-chunk, it resumes there and copies every row once', async () => {
    // each slice's COPY waits 30 ms on the target, so the stop lands inside a planned chunk
    await sql(
      target.url,
      `create function slow_slice() returns trigger language plpgsql as $$ begin perform pg_sleep(0.03); return null; end $$;
       create trigger slow_slice after insert on items for each statement execute function slow_slice();
       alter table items enable always trigger slow_slice;`,
    );
    const statusFile = streamNames(env, 'forward').statusFile;
    const progress = async () =>
      (await sql(target.url, `select coalesce(sum(rows), 0)::int as rows, count(*) filter (where not done and rows > 0)::int as partial from _cutover.load_chunk where source_table = 'public.items'`)).rows[0] as { rows: number; partial: number };
    let replicator = new PostgresReplicator(env, 'forward', new RecordingOutput());
    try {
      await replicator.start({ foreground: true });
      await until(async () => (await progress()).rows >= 300, 60_000, 'some slices of items');
      await replicator.stop();
      const stopped = await progress();
      expect(stopped.rows).toBeLessThan(ITEMS);
      // planned chunks are 1,000 rows, slices at most 60: the stop left one part-loaded
      expect(stopped.partial).toBeGreaterThanOrEqual(1);
      expect((await tableDigest(target.url, 'items')).rows).toBe(stopped.rows);
      await sql(target.url, 'drop trigger slow_slice on items; drop function slow_slice()');

      replicator = new PostgresReplicator(env, 'forward', new RecordingOutput());
      await replicator.start({ foreground: true });
      await until(async () => readStatusFile(statusFile)?.phase === 'cdc', 60_000, 'the full load to finish');
      const pacing = (await replicator.status()).fullLoadPacing;
      expect(pacing?.chunkSizing).toBeDefined();
      // the rest of 4,200 rows in slices of 20..60 rows
      expect(pacing!.chunkSizing!.chunks).toBeGreaterThanOrEqual(Math.floor((ITEMS + ORDERS - stopped.rows) / 60));
      expect(pacing!.chunkSizing!.largestRows).toBeLessThanOrEqual(60);
      expect(pacing!.chunkSizing!.smallestRows).toBeGreaterThan(0);
      const plan = await sql(target.url, 'select count(*)::int as chunks, count(*) filter (where done)::int as done, sum(rows)::int as rows from _cutover.load_chunk');
      expect(plan.rows[0]).toEqual({ chunks: plan.rows[0].chunks, done: plan.rows[0].chunks, rows: ITEMS + ORDERS });
      const items = await tableDigest(target.url, 'items');
      expect(items.rows).toBe(ITEMS);
      expect(items).toEqual(await tableDigest(source.url, 'items'));
      const orders = await tableDigest(target.url, '"Bestellung"', '"Region", id');
      expect(orders.rows).toBe(ORDERS);
      expect(orders).toEqual(await tableDigest(source.url, '"Bestellung"', '"Region", id'));
    } finally {
      await replicator.teardown().catch(() => {});
      await replicator.stop().catch(() => {});
    }
  }, 180_000);

  test('the validation hashes many small chunks, compares every row, and finds a missing and a changed row', async () => {
    // the full load above left the target equal: now one row goes missing and one differs
    await sql(target.url, `delete from items where id = 1234; update "Bestellung" set "备注" = 'changed' where id = 777`);
    const throttler = healthyThrottler();
    const out = new RecordingOutput();
    const report = await new PostgresValidator(env, out, undefined, { throttler }).validate();
    expect(report.equal).toBe(false);
    const items = report.tables.find((t) => t.source.includes('items'))!;
    const orders = report.tables.find((t) => t.source.includes('Bestellung'))!;
    expect(items).toMatchObject({ sourceRows: ITEMS, targetRows: ITEMS - 1, missing: [{ id: 1234 }], extra: [], different: [] });
    expect(orders).toMatchObject({ sourceRows: ORDERS, targetRows: ORDERS, missing: [], extra: [] });
    expect(orders.different).toEqual([{ Region: expect.any(String), id: 777 }]);
    // 4,200 rows in buckets of 10, chunks of 2..6 buckets
    expect(report.figures.chunks).toBeGreaterThanOrEqual(Math.floor((ITEMS + ORDERS) / 60));
    expect(report.figures.rowsCompared).toBe(ITEMS + ORDERS + ITEMS - 1 + ORDERS);
    expect(report.pacing?.chunkSizing?.chunks).toBe(report.figures.chunks);
    expect(report.pacing!.chunkSizing!.largestRows).toBeLessThanOrEqual(60);
    // progress counts buckets and shows the chunk size
    const progress = out.progressUpdates.filter((p) => p.topic === 'validate');
    expect(progress.at(-1)).toMatchObject({ unit: 'buckets', done: progress.at(-1)!.total, figures: { eta: expect.any(String) } });
    expect(progress.some((p) => Number(p.figures?.['chunk rows']) <= 60)).toBe(true);
  }, 120_000);

  test('stopped half-way, it resumes after its finished chunks (checkpointed by first bucket) and still compares every row once', async () => {
    const controller = new AbortController();
    class StopAfter20 extends RecordingOutput {
      override progress(update: Parameters<RecordingOutput['progress']>[0]): void {
        super.progress(update);
        if (update.topic === 'validate' && this.progressUpdates.length >= 20) controller.abort();
      }
    }
    await expect(new PostgresValidator(env, new StopAfter20(), undefined, { throttler: healthyThrottler() }).validate({ signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const out = new RecordingOutput();
    const report = await new PostgresValidator(env, out, undefined, { throttler: healthyThrottler() }).validate();
    expect(out.text()).toMatch(/resuming the validation started .* \((2\d|[3-9]\d|\d{3,}) chunk\(s\) already compared\)/);
    const figures = report.figures as typeof report.figures & { resumedChunks: number };
    expect(figures.resumedChunks).toBeGreaterThanOrEqual(20);
    expect(figures.resumedChunks).toBeLessThan(report.figures.chunks);
    expect(report.figures.rowsCompared).toBe(ITEMS + ORDERS + ITEMS - 1 + ORDERS);
    const items = report.tables.find((t) => t.source.includes('items'))!;
    expect(items).toMatchObject({ sourceRows: ITEMS, targetRows: ITEMS - 1, missing: [{ id: 1234 }] });
    expect(report.tables.find((t) => t.source.includes('Bestellung'))!.different).toEqual([{ Region: expect.any(String), id: 777 }]);
  }, 120_000);
});
