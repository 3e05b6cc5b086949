import type pg from 'pg';
import { DEAD_LETTER_TABLE_DDL } from '../postgres/dead-letter-table.ts';
import { quoteLiteral } from './sql-names.ts';

/**
 * The kit's bookkeeping on the apply side, in schema `_cutover`, keyed by slot name (forward and
 * reverse use different slots, so both can live in one database):
 * - `load_state`: one row per stream; `replay_until` is the newest snapshot position a full load
 *   used, so CDC knows below which position a missing row is expected (the row was loaded later).
 * - `load_chunk`: the full-load plan, one row per key-range chunk; a chunk's rows and its
 *   `done = true` commit in one transaction, so a killed load resumes without duplicates.
 * - `apply_state`: the last source commit applied, written in the same transaction as the changes.
 * - `dead_letter`: changes the target rejected, never silently dropped.
 * - `changed_key_batch`: forward streams only: the source keys changes touched, one row per
 *   table per applied batch (written in the same transaction as the changes): `keys` (each the
 *   key's values as `text[]` text), one element per change in change order; `present_bits` (bit
 *   n-1: change n left a row); `txn_lsns` and `txn_starts`, the commit position of each source
 *   transaction in the batch and the number of its first change (null: one change each); `lsn`,
 *   the newest position. Rows written before that kept one element per change in `present
 *   boolean[]` and `lsns pg_lsn[]` instead (both read alike: lib/postgres/changed-key-record.ts):
 *   parsing those two arrays of a batch was half of what the record cost the target — 0.13
 *   CPU-s per 100,000 keys, now 0.06 (a sixth of the target's whole apply of the 1,000-row
 *   backlog, bench/replication-cdc.ts, #17). The write
 *   switch's frozen validation compares just the rows changed since the last full validation
 *   (lib/diff/changed-rows.ts; a key's latest change wins); key '{}' marks a TRUNCATE (the whole
 *   table changed). Arrays, not a row per key: a row per key (the former `changed_key_log`)
 *   cost the target a tuple and an index entry per applied row and the worker an array literal
 *   per key — 0.46 CPU-s of the target and 0.67 of the worker per 100,000 rows, the 1,000-row
 *   backlog at 0.6x native (bench/replication-cdc.ts, issue #17); a unique index on
 *   (slot, table, key) before that made every batch 3x slower. Indexed on `lsn` alone (a
 *   position only grows, so each insert lands at the btree's right edge): the frozen read and
 *   the pruning read a range of positions, not the whole record.
 * - `changed_key_retention`: how much of that log is kept (lib/replication/changed-key-retention.ts):
 *   `keep_from`, the position a full validation (passing, or under way) needs the log from;
 *   `pruned_below`, below which it is gone — a baseline older than that is refused, so the
 *   frozen check then compares every row rather than miss a change; `holder_*`, the process of
 *   the validation under way that holds it, and `keep_from_before_hold`, what was kept before
 *   that hold (restored when the holder is found gone).
 */
export const CONTROL_SCHEMA = '_cutover';


export async function ensureControlSchema(client: pg.ClientBase): Promise<void> {
  await client.query(`
    create schema if not exists _cutover;
    create table if not exists _cutover.load_state (
      slot text primary key,
      direction text not null,
      consistent_lsn pg_lsn not null,
      replay_until pg_lsn not null,
      planned boolean not null default false,
      complete boolean not null default false,
      started_at timestamptz not null default now(),
      finished_at timestamptz
    );
    create table if not exists _cutover.load_chunk (
      slot text not null,
      source_table text not null,
      chunk integer not null,
      lower_key text[],
      upper_key text[],
      total_rows bigint not null default 0,
      done boolean not null default false,
      rows bigint,
      loaded_at timestamptz,
      primary key (slot, source_table, chunk)
    );
    create table if not exists _cutover.apply_state (
      slot text primary key,
      direction text not null,
      applied_lsn pg_lsn not null,
      source_commit_at timestamptz,
      applied_at timestamptz not null default now()
    );
    ${DEAD_LETTER_TABLE_DDL}
    create table if not exists _cutover.changed_key_batch (
      slot text not null,
      source_table text not null,
      lsn pg_lsn not null,
      keys text[] not null,
      present boolean[] not null,
      lsns pg_lsn[] not null
    );
    create index if not exists changed_key_batch_lsn on _cutover.changed_key_batch (lsn);
    -- the part of a source transaction applied while it arrived (open-transaction-apply.ts): its
    -- parts' keys share one commit position, and a key's later change is in the later part.
    -- Added only when missing: ALTER TABLE would lock the table on every worker start
    do $$ begin
      if not exists (select 1 from pg_attribute where attrelid = '_cutover.changed_key_batch'::regclass and attname = 'part' and not attisdropped) then
        alter table _cutover.changed_key_batch add column part integer not null default 0;
      end if;
    exception when duplicate_column then null; -- another worker added it meanwhile
    end $$;
    -- presence as bits and positions per source transaction (see above); the per-change arrays of
    -- rows written before stay readable. Checked first: ALTER TABLE would lock on every start
    do $$ begin
      if not exists (select 1 from pg_attribute where attrelid = '_cutover.changed_key_batch'::regclass and attname = 'present_bits' and not attisdropped) then
        alter table _cutover.changed_key_batch
          add column present_bits varbit, add column txn_lsns pg_lsn[], add column txn_starts integer[],
          alter column present drop not null, alter column lsns drop not null;
      end if;
    exception when duplicate_column then null; -- another worker added them meanwhile
    end $$;
    -- a record kept by an earlier version, a row per key: moved over whole (a frozen check may need it)
    do $$ begin
      if to_regclass('_cutover.changed_key_log') is not null then
        insert into _cutover.changed_key_batch (slot, source_table, lsn, keys, present, lsns)
          select slot, source_table, lsn, array_agg(key::text), array_agg(present), array_agg(lsn)
            from _cutover.changed_key_log group by slot, source_table, lsn;
        drop table _cutover.changed_key_log;
      end if;
    exception when undefined_table then null; -- another worker moved it meanwhile
    end $$;
    create table if not exists _cutover.changed_key_retention (
      slot text primary key,
      keep_from pg_lsn,
      pruned_below pg_lsn not null default '0/0'
    );
    alter table _cutover.changed_key_retention
      add column if not exists holder_host text,
      add column if not exists holder_pid integer,
      add column if not exists holder_start text,
      add column if not exists keep_from_before_hold pg_lsn;`);
}

/** Forgets a stream's load plan and apply position (a new slot means a new start). */
export async function resetStream(client: pg.ClientBase, slot: string): Promise<void> {
  await client.query('delete from _cutover.load_chunk where slot = $1', [slot]);
  await client.query('delete from _cutover.load_state where slot = $1', [slot]);
  await client.query('delete from _cutover.apply_state where slot = $1', [slot]);
  await client.query('delete from _cutover.changed_key_batch where slot = $1', [slot]);
  await client.query('delete from _cutover.changed_key_retention where slot = $1', [slot]);
}

export async function readAppliedLsn(client: pg.ClientBase, slot: string): Promise<string | null> {
  const { rows } = await client.query<{ lsn: string }>('select applied_lsn::text as lsn from _cutover.apply_state where slot = $1', [slot]);
  return rows[0]?.lsn ?? null;
}

/** Source commit time (ms) of the newest transaction applied for `slot`; null when none is recorded. */
export async function readAppliedCommitAt(client: pg.ClientBase, slot: string): Promise<number | null> {
  const { rows } = await client.query<{ at: string | null }>('select (extract(epoch from source_commit_at) * 1000)::text as at from _cutover.apply_state where slot = $1', [slot]);
  return rows[0]?.at ? Number(rows[0].at) : null;
}

export async function writeAppliedLsn(client: pg.ClientBase, slot: string, direction: string, lsn: string, sourceCommitAt: Date | null): Promise<void> {
  await client.query(
    `insert into _cutover.apply_state (slot, direction, applied_lsn, source_commit_at, applied_at) values ($1, $2, $3, $4, now())
     on conflict (slot) do update set applied_lsn = greatest(_cutover.apply_state.applied_lsn, excluded.applied_lsn),
       source_commit_at = coalesce(excluded.source_commit_at, _cutover.apply_state.source_commit_at), applied_at = now()`,
    [slot, direction, lsn, sourceCommitAt],
  );
}

/** The same upsert as writeAppliedLsn, as SQL text (for a batch sent in one round trip). */
export function writeAppliedLsnSql(slot: string, direction: string, lsn: string, sourceCommitAt: Date | null): string {
  const at = sourceCommitAt ? `${quoteLiteral(sourceCommitAt.toISOString())}::timestamptz` : 'null';
  return `insert into _cutover.apply_state (slot, direction, applied_lsn, source_commit_at, applied_at)
     values (${quoteLiteral(slot)}, ${quoteLiteral(direction)}, ${quoteLiteral(lsn)}::pg_lsn, ${at}, now())
     on conflict (slot) do update set applied_lsn = greatest(_cutover.apply_state.applied_lsn, excluded.applied_lsn),
       source_commit_at = coalesce(excluded.source_commit_at, _cutover.apply_state.source_commit_at), applied_at = now()`;
}

export async function countDeadLetters(client: pg.ClientBase, slot: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>('select count(*)::text as n from _cutover.dead_letter where slot = $1', [slot]);
  return Number(rows[0]?.n ?? 0);
}
