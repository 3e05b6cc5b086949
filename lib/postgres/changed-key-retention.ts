import os from 'node:os';
import type pg from 'pg';
import { processAlive, processStartMark } from '../platform/process-liveness.ts';

/**
 * How much of `_cutover.changed_key_batch` (the source keys the forward worker applied, read by the
 * write switch's frozen validation; lib/replication/control-schema.ts) is kept. The log is
 * append-only, a row per table per applied batch, so it must be pruned, and the pruning
 * must never let a frozen check pass on a record with a hole in it:
 *
 * - A frozen check reads the log from its baseline (the source position a passing full
 *   validation read before its first row) onward. A full validation *holds* the log from where
 *   the stream stood when it began (`keep_from`, set before it reads its position), and on
 *   passing moves the hold to its baseline and drops what is before it; on failing it releases
 *   the hold (no baseline is left to serve).
 * - The worker prunes regularly below `least(keep_from, its applied position)`: with no hold,
 *   no future validation can need a key applied before now (its baseline will be a later source
 *   position), so the log stays as small as the changes of one pruning interval.
 * - Each prune records `pruned_below`; a baseline below it is refused, and the frozen check
 *   compares every row instead. So a hold that came too late (a race with a prune) costs time
 *   at the switch, never a missed change.
 *
 * - A hold records its owner (host, pid, start time of the validation's process) and what was
 *   kept before it. A validation killed before it ends cannot release its hold: the worker's next
 *   prune finds the owner gone and puts back what was kept before. An owner on another host
 *   cannot be seen from the worker: its hold stays until the next full validation ends.
 */

/** The process of a full validation that holds the log. */
export interface HoldOwner {
  readonly host: string;
  readonly pid: number;
  /** When the process started (processStartMark): a pid reused by a later process is not the owner; null: unknown. */
  readonly start: string | null;
}

/** This process, as the owner of a hold it takes. */
export function thisProcessAsOwner(): HoldOwner {
  return { host: os.hostname(), pid: process.pid, start: processStartMark(process.pid) };
}

/**
 * Whether a hold's owner is known to be gone: on this host, no live process has its pid, or the
 * one that has it started at another time. On another host nothing is known: not gone.
 */
export function holdOwnerGone(owner: HoldOwner, host = os.hostname()): boolean {
  if (owner.host !== host) return false;
  if (!processAlive(owner.pid)) return true;
  const start = processStartMark(owner.pid);
  return owner.start !== null && start !== null && start !== owner.start;
}

/** Runs one statement on the target, rows as text (a pool's or the cross-engine validator's DiffSide.rows). */
export type TextQuery = (sql: string, params?: readonly unknown[]) => Promise<(string | null)[][]>;

/**
 * A full validation begins: keep the log from the stream's applied position (at most: an earlier
 * hold stays), owned by `owner` (this process). What was kept before the first hold under way is
 * remembered, to be put back if the owner dies before it ends.
 */
export async function holdChangedKeys(query: TextQuery, slots: readonly string[], owner: HoldOwner = thisProcessAsOwner()): Promise<void> {
  await query(
    `insert into _cutover.changed_key_retention as r (slot, keep_from, holder_host, holder_pid, holder_start)
       select a.slot, a.applied_lsn, $2, $3::integer, $4 from _cutover.apply_state a where a.slot = any($1::text[])
     on conflict (slot) do update set
       keep_from_before_hold = case when r.holder_pid is null then r.keep_from else r.keep_from_before_hold end,
       keep_from = least(coalesce(r.keep_from, excluded.keep_from), excluded.keep_from),
       holder_host = excluded.holder_host, holder_pid = excluded.holder_pid, holder_start = excluded.holder_start`,
    [slots, owner.host, owner.pid, owner.start],
  );
}

/** A full validation failed or ended without a baseline: its hold goes. */
export async function releaseChangedKeys(query: TextQuery, slots: readonly string[]): Promise<void> {
  await query(`update _cutover.changed_key_retention set keep_from = null, ${NO_HOLDER} where slot = any($1::text[])`, [slots]);
}

/** A hold no process owns any more (a baseline's, or none). */
const NO_HOLDER = 'holder_host = null, holder_pid = null, holder_start = null, keep_from_before_hold = null';

/**
 * A passing full validation recorded its baseline at `position` (`pg_lsn` text): the hold moves
 * there, and what is before it goes (no frozen check reads it again). Returns the batch rows dropped.
 */
export async function keepChangedKeysFrom(query: TextQuery, slots: readonly string[], position: string): Promise<number> {
  const [row] = await query(
    `with held as (
       insert into _cutover.changed_key_retention (slot, keep_from, pruned_below) select s, $2::pg_lsn, $2::pg_lsn from unnest($1::text[]) s
       on conflict (slot) do update set keep_from = excluded.keep_from, pruned_below = greatest(_cutover.changed_key_retention.pruned_below, excluded.pruned_below), ${NO_HOLDER}
     ), dropped as (delete from _cutover.changed_key_batch where slot = any($1::text[]) and lsn < $2::pg_lsn returning 1)
     select count(*) from dropped`,
    [slots, position],
  );
  return Number(row?.[0] ?? 0);
}

/**
 * The worker's regular prune: drops the log below `least(keep_from, applied)` and records
 * `pruned_below`, in one transaction that locks the slot's retention row (a hold taken meanwhile
 * waits for it, then sees `pruned_below`). A hold whose owner is gone (a validation killed before
 * it ended) is dropped first: what was kept before it is kept again, and `onHoldDropped` hears
 * of it. Returns the batch rows dropped.
 */
export async function pruneChangedKeyLog(client: pg.ClientBase, slot: string, applied: string, onHoldDropped?: (owner: HoldOwner) => void): Promise<number> {
  await client.query('begin');
  try {
    await client.query(`insert into _cutover.changed_key_retention (slot) values ($1) on conflict (slot) do nothing`, [slot]);
    const { rows: held } = await client.query<{ host: string | null; pid: number | null; start: string | null }>(
      'select holder_host as host, holder_pid as pid, holder_start as start from _cutover.changed_key_retention where slot = $1 for update',
      [slot],
    );
    const h = held[0];
    const owner = h?.host != null && h.pid != null ? { host: h.host, pid: h.pid, start: h.start } : null;
    const gone = owner !== null && holdOwnerGone(owner);
    if (gone) {
      await client.query(`update _cutover.changed_key_retention set keep_from = keep_from_before_hold, ${NO_HOLDER} where slot = $1`, [slot]);
    }
    const { rows } = await client.query<{ floor: string }>(
      'select least(coalesce(keep_from, $2::pg_lsn), $2::pg_lsn)::text as floor from _cutover.changed_key_retention where slot = $1',
      [slot, applied],
    );
    const floor = rows[0]!.floor;
    const dropped = await client.query('delete from _cutover.changed_key_batch where slot = $1 and lsn < $2::pg_lsn', [slot, floor]);
    await client.query('update _cutover.changed_key_retention set pruned_below = greatest(pruned_below, $2::pg_lsn) where slot = $1', [slot, floor]);
    await client.query('commit');
    if (gone) onHoldDropped?.(owner);
    return dropped.rowCount ?? 0;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}

/** The slots whose log was pruned above `position` (`pg_lsn` text; a baseline there has lost keys), with where it was pruned to. */
export async function prunedAbove(query: TextQuery, slots: readonly string[], position: string): Promise<{ slot: string; prunedBelow: string }[]> {
  const rows = await query(
    'select slot, pruned_below::text from _cutover.changed_key_retention where slot = any($1::text[]) and pruned_below > $2::pg_lsn order by slot',
    [slots, position],
  );
  return rows.map(([slot, lsn]) => ({ slot: slot!, prunedBelow: lsn! }));
}

/** How often a forward worker prunes the log (the log then holds about this long of changes, plus any hold). */
export const PRUNE_CHANGED_KEYS_EVERY_MS = 30_000;

/**
 * A forward worker's regular prune ({@link pruneChangedKeyLog}) on its own bookkeeping connection
 * (not the apply session: a prune never delays a batch). `applied()` is the worker's applied
 * position; a failed prune is reported once per error text and retried at the next interval.
 */
export function pruneChangedKeysEvery(client: pg.ClientBase, slot: string, applied: () => string | null, warn: (message: string) => void, everyMs = PRUNE_CHANGED_KEYS_EVERY_MS): NodeJS.Timeout {
  let busy = false;
  let lastError: string | undefined;
  return setInterval(() => {
    const position = applied();
    if (busy || !position) return;
    busy = true;
    const dropped = (o: HoldOwner) => warn(`the full validation that held the record of changed keys (pid ${o.pid} on ${o.host}) is gone (killed?): its hold is dropped`);
    pruneChangedKeyLog(client, slot, position, dropped)
      .then(() => {
        lastError = undefined;
      })
      .catch((err: Error) => {
        if (err.message !== lastError) warn(`the record of changed keys was not pruned (${err.message}); retrying in ${everyMs} ms`);
        lastError = err.message;
      })
      .finally(() => {
        busy = false;
      });
  }, everyMs);
}
