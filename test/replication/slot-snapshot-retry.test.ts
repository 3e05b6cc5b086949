import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { createSlotWithSnapshot, dropSlot, SLOT_SNAPSHOT_TRIES, type SlotRetryListener } from '../../lib/replication/replication-slot.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { until } from './_env.ts';

/**
 * PostgreSQL (15+) can refuse to build a new slot's initial snapshot under load: "cannot build an
 * initial slot snapshot as oldest safe xid N follows snapshot's xmin M" (seen once in test
 * `stalled-worker`). A real server cannot be made to raise it on demand, so the driver raises it
 * for the first CREATE_REPLICATION_SLOT statements (a spy on pg.Client's query), and the real
 * server creates the slot after that. Bounded: a race that does not end fails loudly.
 */
const RACE = "cannot build an initial slot snapshot as oldest safe xid 1234 follows snapshot's xmin 1230";

/** Makes the next `times` CREATE_REPLICATION_SLOT statements fail with `message` (XX000, as PostgreSQL's elog) before they reach the server. */
function failSlotCreation(times: number, message: string): { calls: () => number } {
  const original = pg.Client.prototype.query;
  let calls = 0;
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    if (typeof args[0] === 'string' && args[0].startsWith('CREATE_REPLICATION_SLOT')) {
      calls++;
      if (calls <= times) return Promise.reject(Object.assign(new Error(message), { code: 'XX000', severity: 'ERROR' }));
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original);
  return { calls: () => calls };
}

describe('createSlotWithSnapshot under PostgreSQL\'s transient snapshot race', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let admin: pg.Client;
  const slots = async () => (await admin.query<{ slot_name: string }>('select slot_name from pg_replication_slots order by 1')).rows.map((r) => r.slot_name);

  beforeAll(async () => {
    server = await startTestPostgres();
    admin = await connect(server.url);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const s of await slots()) await dropSlot(admin, s);
  });
  afterAll(async () => {
    await admin?.end().catch(() => {});
    await server?.dispose();
  });

  test('retries the race, says so for each retry, then creates the slot on the real server', async () => {
    const injected = failSlotCreation(2, RACE);
    const told: Parameters<SlotRetryListener>[0][] = [];
    const slot = await createSlotWithSnapshot(server.url, 'race_retried', { onRetry: (r) => told.push(r) });
    try {
      expect(injected.calls()).toBe(3);
      expect(told.map((r) => [r.attempt, r.tries, r.error])).toEqual([
        [1, SLOT_SNAPSHOT_TRIES, RACE],
        [2, SLOT_SNAPSHOT_TRIES, RACE],
      ]);
      expect(told[1]!.waitMs).toBeGreaterThan(told[0]!.waitMs);
      expect(slot.consistentLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(slot.snapshotName).toBeTruthy();
      expect(await slots()).toEqual(['race_retried']);
    } finally {
      await slot.connection.end();
    }
  });

  test('fails if the race goes on: PRECONDITION_FAILED after the bounded number of tries, saying how many, no slot left', async () => {
    const injected = failSlotCreation(Number.MAX_SAFE_INTEGER, RACE);
    const told: number[] = [];
    const err = await createSlotWithSnapshot(server.url, 'race_lost', { onRetry: (r) => told.push(r.attempt) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CutoverError);
    expect((err as CutoverError).code).toBe('PRECONDITION_FAILED');
    expect((err as CutoverError).message).toContain(`${RACE} (${SLOT_SNAPSHOT_TRIES} tries in a row)`);
    expect((err as CutoverError).details.fix).toMatch(/quieter moment|long-running transactions/);
    expect(injected.calls()).toBe(SLOT_SNAPSHOT_TRIES);
    expect(told).toEqual(Array.from({ length: SLOT_SNAPSHOT_TRIES - 1 }, (_, i) => i + 1));
    expect(await slots()).toEqual([]);
  });

  test('fails at once on any other error (not retried)', async () => {
    const injected = failSlotCreation(1, 'permission denied to create replication slot');
    const told: number[] = [];
    const err = await createSlotWithSnapshot(server.url, 'denied', { onRetry: (r) => told.push(r.attempt) }).catch((e: unknown) => e);
    expect((err as CutoverError).code).toBe('PRECONDITION_FAILED');
    expect((err as CutoverError).message).not.toContain('tries in a row');
    expect(injected.calls()).toBe(1);
    expect(told).toEqual([]);
  });

  test('without the race a slot is created at the first try (real server, nothing injected)', async () => {
    const told: number[] = [];
    const slot = await createSlotWithSnapshot(server.url, 'plain', { temporary: true, onRetry: (r) => told.push(r.attempt) });
    try {
      expect(told).toEqual([]);
      expect(await slots()).toEqual(['plain']);
    } finally {
      await slot.connection.end();
    }
    // temporary: gone with its connection (the walsender ends after the client)
    await until(async () => (await slots()).length === 0, 15_000, 'the temporary slot to go');
  });
});
