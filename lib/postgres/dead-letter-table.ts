/**
 * `_cutover.dead_letter` on a PostgreSQL apply side: rows the target rejected, never silently
 * dropped — written by the kit's replicator (a change it could not apply) and by `validate --repair`
 * (a repair statement the target refused). Here, in the engine, so both the local control plane
 * (lib/replication/control-schema.ts) and the diff (lib/diff/repair-apply.ts) create the same table.
 */
export const DEAD_LETTER_TABLE_DDL = `
    create schema if not exists _cutover;
    create table if not exists _cutover.dead_letter (
      id bigserial primary key,
      slot text not null,
      direction text not null,
      source_table text not null,
      target_table text not null,
      source_key jsonb,
      change jsonb not null,
      error text not null,
      lsn pg_lsn,
      at timestamptz not null default now()
    );`;
