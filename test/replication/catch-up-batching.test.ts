import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { CATCH_UP_HOLD_MS, holdForFullBatch, type CatchUpBatchState } from '../../lib/replication/catch-up-batching.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { streamNames } from '../../lib/replication/stream-names.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment } from './_env.ts';

const catchingUp: CatchUpBatchState = {
  catchingUpTo: '0/5000000',
  receivedLsn: '0/1000000',
  queued: true,
  fullBatchWaiting: false,
  streamPaused: false,
  openTransaction: false,
  heldMs: 0,
};

describe('a worker catching up sends full batches', () => {
  test('a part-filled batch waits while more of the backlog is on its way, never longer than CATCH_UP_HOLD_MS', () => {
    expect(holdForFullBatch(catchingUp)).toBe(true);
    expect(holdForFullBatch({ ...catchingUp, heldMs: CATCH_UP_HOLD_MS - 1 })).toBe(true);
    expect(holdForFullBatch({ ...catchingUp, heldMs: CATCH_UP_HOLD_MS })).toBe(false);
    // never held: caught up (a live stream's lag), a full batch, the backlog's end arrived, the
    // stream paused (nothing comes until the queue drains), a large transaction applied as it arrives
    expect(holdForFullBatch({ ...catchingUp, catchingUpTo: null })).toBe(false);
    expect(holdForFullBatch({ ...catchingUp, fullBatchWaiting: true })).toBe(false);
    expect(holdForFullBatch({ ...catchingUp, receivedLsn: '0/5000000' })).toBe(false);
    expect(holdForFullBatch({ ...catchingUp, receivedLsn: '1/0' })).toBe(false);
    expect(holdForFullBatch({ ...catchingUp, streamPaused: true })).toBe(false);
    expect(holdForFullBatch({ ...catchingUp, openTransaction: true })).toBe(false);
    expect(holdForFullBatch({ ...catchingUp, queued: false })).toBe(false);
    // nothing received yet of this backlog: hold what is queued (the first rows come from the slow start's full batches)
    expect(holdForFullBatch({ ...catchingUp, receivedLsn: null })).toBe(true);
  });

  describe('a backlog of 1,000-row transactions (real servers, detached worker; the worker and the target taking turns, and not)', () => {
    let source: Awaited<ReturnType<typeof startTestPostgres>>;
    let target: Awaited<ReturnType<typeof startTestPostgres>>;
    let replicator: PostgresReplicator;
    let env: ReturnType<typeof testEnvironment>;
    const logText = () => readFileSync(streamNames(env, 'forward').logFile, 'utf8');
    const SCHEMA = 'create table items (id bigint primary key, name text, qty int)';

    beforeAll(async () => {
      [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
      await sql(source.url, SCHEMA);
      await sql(target.url, SCHEMA);
      env = testEnvironment(source.url, target.url, { batchSize: 5000 });
      replicator = new PostgresReplicator(env, 'forward', new RecordingOutput());
    }, 120_000);
    afterAll(async () => {
      await replicator?.stop().catch(() => {});
      await Promise.all([source?.dispose(), target?.dispose()]);
    });

    /** 30 transactions of 1,000 rows while the worker is stopped, then its catch-up. */
    async function backlogInFullBatches(turns: boolean): Promise<void> {
      await replicator.start();
      expect(await replicator.waitForPosition(await replicator.sourcePosition(), 30_000)).toBe(true);
      await replicator.stop();
      const before = (await sql(target.url, "select coalesce(max(lsn), '0/0')::text as lsn from _cutover.changed_key_batch")).rows[0].lsn as string;
      const first = (await sql(source.url, 'select coalesce(max(id), 0) as id from items')).rows[0].id as string;
      for (let i = 0; i < 30; i++) await sql(source.url, `insert into items select g, 'item ' || g, g % 7 from generate_series(${Number(first) + i * 1000 + 1}, ${Number(first) + (i + 1) * 1000}) g`);
      const logBefore = logText().length;
      await replicator.start();
      expect(await replicator.waitForPosition(await replicator.sourcePosition(), 30_000)).toBe(true);
      expect(await tableDigest(target.url, 'items')).toEqual(await tableDigest(source.url, 'items'));
      // one record row per target transaction that applied some of it (one table)
      const { rows } = await sql(target.url, 'select cardinality(keys) as keys from _cutover.changed_key_batch where lsn > $1::pg_lsn order by lsn', [before]);
      const sizes = rows.map((r) => Number(r.keys));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(30_000);
      // the slow start's first batches (a transaction each), then full ones: 5,000 changes each
      // but the last (8 batches in all on a quiet machine); sent as they arrived, it took a batch
      // per transaction or two (~20). On a starved machine (load 15-25) a hold of CATCH_UP_HOLD_MS
      // can end before a batch fills: up to 12 batches and 3 full ones were seen there
      expect(sizes.length, `batch sizes ${sizes.join(' ')}`).toBeLessThanOrEqual(13);
      expect(sizes.filter((n) => n === 5000).length, `batch sizes ${sizes.join(' ')}`).toBeGreaterThanOrEqual(2);
      expect(logText().slice(logBefore).includes('the worker and the target take turns')).toBe(turns);
    }

    test.each(['on', 'off'])('is applied in batches of the batch size, not a target transaction per source transaction (turns %s)', async (turns) => {
      const before = process.env.CUTOVER_CATCH_UP_TURNS;
      process.env.CUTOVER_CATCH_UP_TURNS = turns; // the detached worker inherits it
      try {
        await backlogInFullBatches(turns === 'on');
      } finally {
        if (before === undefined) delete process.env.CUTOVER_CATCH_UP_TURNS;
        else process.env.CUTOVER_CATCH_UP_TURNS = before;
      }
    }, 120_000);
  });
});
