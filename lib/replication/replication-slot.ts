import pg from 'pg';
import { CutoverError } from '../errors.ts';
import type { MappedTable } from '../mappings/types.ts';
import { planPublication, unpublishablePartitionsError } from '../postgres/publication-plan.ts';
import { quoteIdent } from './sql-names.ts';

/** A logical slot created together with a snapshot that sees exactly the data before its consistent point. */
export interface ExportedSlot {
  readonly slotName: string;
  readonly consistentLsn: string;
  readonly snapshotName: string;
  /** Keeps the snapshot alive; closing it ends the snapshot (the slot stays unless temporary). */
  readonly connection: pg.Client;
}

export async function replicationConnection(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, replication: 'database' } as pg.ClientConfig);
  await client.connect();
  client.on('error', () => {}); // the owner ends it; a dropped socket is reported by the next query
  return client;
}

/**
 * PostgreSQL's refusal to build a new slot's initial snapshot while a concurrent transaction's
 * xid horizon moved past it (snapbuild.c, PostgreSQL 15+; seen under load, test `stalled-worker`).
 * Transient: the slot being created is dropped with the error, and a second try a moment later
 * builds its snapshot from the new horizon.
 */
const SNAPSHOT_RACE = /cannot build an initial slot snapshot as oldest safe xid \d+ follows snapshot's xmin/;
/** Tries of one slot creation that meets SNAPSHOT_RACE, and the pause before each retry (ms). */
export const SLOT_SNAPSHOT_TRIES = 5;
const SLOT_SNAPSHOT_BACKOFF_MS = [250, 500, 1000, 2000] as const;

/** Told before each retry of a slot creation that met PostgreSQL's transient snapshot race. */
export type SlotRetryListener = (what: { readonly slotName: string; readonly attempt: number; readonly tries: number; readonly waitMs: number; readonly error: string }) => void;

/**
 * `CREATE_REPLICATION_SLOT … LOGICAL pgoutput EXPORT_SNAPSHOT` over a replication connection:
 * the slot's consistent point and the exported snapshot are the same instant, so a full load in
 * that snapshot followed by CDC from the slot has no gap and no duplicate. PostgreSQL's transient
 * snapshot race (SNAPSHOT_RACE) is retried up to SLOT_SNAPSHOT_TRIES times with a growing pause,
 * each retry told to `onRetry` (the caller's log); after that, or on any other error, it fails.
 */
export async function createSlotWithSnapshot(url: string, slotName: string, options: { temporary?: boolean; onRetry?: SlotRetryListener } = {}): Promise<ExportedSlot> {
  for (let attempt = 1; ; attempt++) {
    const connection = await replicationConnection(url);
    try {
      const res = await connection.query(
        `CREATE_REPLICATION_SLOT ${quoteIdent(slotName)}${options.temporary ? ' TEMPORARY' : ''} LOGICAL pgoutput EXPORT_SNAPSHOT`,
      );
      const row = res.rows[0] as { consistent_point: string; snapshot_name: string };
      return { slotName, consistentLsn: row.consistent_point, snapshotName: row.snapshot_name, connection };
    } catch (err) {
      await connection.end().catch(() => {});
      const raced = SNAPSHOT_RACE.test((err as Error).message);
      if (!raced || attempt >= SLOT_SNAPSHOT_TRIES) throw slotError(err, slotName, url, raced ? attempt : undefined);
      const waitMs = SLOT_SNAPSHOT_BACKOFF_MS[Math.min(attempt, SLOT_SNAPSHOT_BACKOFF_MS.length) - 1]!;
      options.onRetry?.({ slotName, attempt, tries: SLOT_SNAPSHOT_TRIES, waitMs, error: (err as Error).message });
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** Creates a slot without a snapshot (reverse replication: CDC only). Returns its consistent point. */
export async function createSlot(url: string, slotName: string): Promise<string> {
  const connection = await replicationConnection(url);
  try {
    const res = await connection.query(`CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} LOGICAL pgoutput NOEXPORT_SNAPSHOT`);
    return (res.rows[0] as { consistent_point: string }).consistent_point;
  } catch (err) {
    throw slotError(err, slotName, url);
  } finally {
    await connection.end().catch(() => {});
  }
}

/** Why a slot could not be created; `racedTries` when PostgreSQL's snapshot race was met that many times in a row. */
function slotError(err: unknown, slotName: string, url: string, racedTries?: number): CutoverError {
  const msg = (err as Error).message;
  const tries = racedTries ? ` (${racedTries} tries in a row)` : '';
  return new CutoverError('PRECONDITION_FAILED', `could not create replication slot "${slotName}" on ${redact(url)}: ${msg}${tries}`, {
    received: slotName,
    fix: racedTries
      ? 'transactions on the source kept moving its xid horizon while the slot built its snapshot: run the command again at a quieter moment, or end long-running transactions on the source (select pid, xact_start, state from pg_stat_activity order by xact_start)'
      : /wal_level/.test(msg)
      ? 'set wal_level = logical on the source and restart it'
      : /max_replication_slots|all replication slots are in use/.test(msg)
        ? 'raise max_replication_slots, or drop unused slots (select * from pg_replication_slots)'
        : 'check that the user has the REPLICATION attribute and that the slot name is free',
    cause: err,
  });
}

export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export interface SlotInfo {
  readonly exists: boolean;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: string | null;
}

export async function slotInfo(client: pg.ClientBase, slotName: string): Promise<SlotInfo> {
  const { rows } = await client.query<{ active: boolean; active_pid: number | null; confirmed: string | null }>(
    'select active, active_pid, confirmed_flush_lsn::text as confirmed from pg_replication_slots where slot_name = $1',
    [slotName],
  );
  const r = rows[0];
  return r
    ? { exists: true, active: r.active, activePid: r.active_pid, confirmedFlushLsn: r.confirmed }
    : { exists: false, active: false, activePid: null, confirmedFlushLsn: null };
}

/** Drops the slot (terminating a leftover walsender that still holds it). Idempotent. */
export async function dropSlot(client: pg.ClientBase, slotName: string): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const info = await slotInfo(client, slotName);
    if (!info.exists) return false;
    if (info.active && info.activePid) await client.query('select pg_terminate_backend($1)', [info.activePid]);
    try {
      await client.query('select pg_drop_replication_slot($1)', [slotName]);
      return true;
    } catch (err) {
      if (!/is active|does not exist/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new CutoverError('PRECONDITION_FAILED', `replication slot "${slotName}" stays active`, {
    fix: `stop the process using it (select active_pid from pg_replication_slots where slot_name = '${slotName}')`,
  });
}

/**
 * Makes publication `name` list exactly the mapped source tables (created before the slot, as
 * pgoutput requires; see planPublication). One that already does is left as it is: a role that
 * only reads the tables (REPLICATION + SELECT) may not create or alter it, so the tables' owner
 * makes it once (assess prints the statement) and the kit uses it. Says what it did: `created`
 * only when this call made it (a caller undoing its own work may drop that one, never one that
 * was there before).
 */
export async function ensurePublication(client: pg.ClientBase, name: string, tables: readonly MappedTable[]): Promise<'created' | 'altered' | 'unchanged'> {
  const plan = await planPublication(client, name, tables.map((t) => ({ ...t.source, removedColumns: t.removedColumns })));
  if (plan.unpublishable.length) throw unpublishablePartitionsError('server this stream reads', plan.unpublishable);
  if (plan.ready) return 'unchanged';
  try {
    for (const statement of plan.statements) await client.query(statement);
    return plan.exists ? 'altered' : 'created';
  } catch (err) {
    if ((err as { code?: string }).code !== '42501' && !/must be owner/.test((err as Error).message)) throw err;
    throw new CutoverError('PRECONDITION_FAILED', `the role may not ${plan.exists ? 'change' : 'create'} publication "${name}": ${(err as Error).message}`, {
      received: name,
      fix: `as the owner of the tables (or a superuser), run once: ${plan.statements.join('; ')};  the kit then uses the publication as it is`,
      cause: err,
    });
  }
}

/** Drops the publication; one the tables' owner made for a read-only role is theirs to drop (the error says how). */
export async function dropPublication(client: pg.ClientBase, name: string): Promise<void> {
  try {
    await client.query(`drop publication if exists ${quoteIdent(name)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    throw new CutoverError('PRECONDITION_FAILED', `the role may not drop publication "${name}": ${(err as Error).message}`, {
      received: name,
      fix: `as the publication's owner (who made it for the kit), run: DROP PUBLICATION ${quoteIdent(name)};  then run the command again`,
      cause: err,
    });
  }
}
