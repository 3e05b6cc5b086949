import type pg from 'pg';
import type { BinlogPosition } from '../engines/mysql/binlog-position.ts';
import { quoteLiteral } from './sql-names.ts';

/**
 * The binlog replicator's own bookkeeping beside `_cutover.apply_state` (whose `applied_lsn` holds
 * the same position in `pg_lsn` form, binlog-position.ts): the file name, offset and GTID of the
 * last source transaction applied, written in the same target transaction as its changes, so a
 * killed worker resumes exactly after it.
 */
export async function ensureBinlogState(client: pg.ClientBase): Promise<void> {
  await client.query(`create table if not exists _cutover.binlog_state (
      slot text primary key,
      file text not null,
      position bigint not null,
      lsn pg_lsn not null,
      gtid text,
      applied_at timestamptz not null default now()
    )`);
}

/** Upsert of the stream's position; never moves it back. */
export function binlogStateSql(slot: string, p: BinlogPosition, lsn: string): string {
  return `insert into _cutover.binlog_state (slot, file, position, lsn, gtid, applied_at)
     values (${quoteLiteral(slot)}, ${quoteLiteral(p.file)}, ${p.position}, ${quoteLiteral(lsn)}::pg_lsn, ${p.gtid ? quoteLiteral(p.gtid) : 'null'}, now())
     on conflict (slot) do update set file = excluded.file, position = excluded.position, lsn = excluded.lsn,
       gtid = coalesce(excluded.gtid, _cutover.binlog_state.gtid), applied_at = now()
     where excluded.lsn >= _cutover.binlog_state.lsn`;
}

export async function readBinlogState(client: pg.ClientBase, slot: string): Promise<BinlogPosition | null> {
  const { rows } = await client.query<{ file: string; position: string; gtid: string | null }>('select file, position::text, gtid from _cutover.binlog_state where slot = $1', [slot]);
  return rows[0] ? { file: rows[0].file, position: Number(rows[0].position), gtid: rows[0].gtid } : null;
}

export async function deleteBinlogState(client: pg.ClientBase, slot: string): Promise<void> {
  await client.query('delete from _cutover.binlog_state where slot = $1', [slot]).catch(() => {});
}
