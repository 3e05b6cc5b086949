import type pg from 'pg';

/** One replication slot and the WAL it keeps on its server. */
export interface SlotRow {
  readonly slot: string;
  readonly active: boolean;
  /** `pg_current_wal_lsn() - restart_lsn`: WAL the server may not remove for this slot; null before the slot has a restart point (or on a standby). */
  readonly retainedBytes: number | null;
  /** PostgreSQL 13+: `reserved`, `extended`, `unreserved` or `lost` (the slot can no longer stream); null before 13. */
  readonly walStatus: string | null;
  /** PostgreSQL 13+ with `max_slot_wal_keep_size` set: WAL left before the slot is lost; null otherwise. */
  readonly safeWalSizeBytes: number | null;
}

/**
 * The slots named `names` (or matching the LIKE `patterns`) of the connected database, with the
 * WAL each retains. `wal_status` and `safe_wal_size` exist from PostgreSQL 13 on; on 12 they are
 * reported as null rather than failing the query.
 */
export async function readSlotRetention(client: pg.ClientBase, names: readonly string[], patterns: readonly string[] = []): Promise<SlotRow[]> {
  const version = Number((await client.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]!.v);
  const pg13 = version >= 130000;
  const { rows } = await client.query<{ slot: string; active: boolean; retained: string | null; wal_status: string | null; safe: string | null }>(
    `select slot_name::text as slot, active,
            case when restart_lsn is null or pg_is_in_recovery() then null
                 else pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text end as retained,
            ${pg13 ? 'wal_status::text' : 'null::text'} as wal_status,
            ${pg13 ? 'safe_wal_size::text' : 'null::text'} as safe
       from pg_replication_slots
      where database = current_database() and (slot_name = any($1::text[]) or slot_name like any($2::text[]))
      order by slot_name`,
    [names, patterns],
  );
  return rows.map((r) => ({
    slot: r.slot,
    active: r.active,
    retainedBytes: r.retained === null ? null : Number(r.retained),
    walStatus: r.wal_status,
    safeWalSizeBytes: r.safe === null ? null : Number(r.safe),
  }));
}
