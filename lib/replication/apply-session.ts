import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { redact } from './replication-slot.ts';

/**
 * A connection that writes replicated rows into the apply side:
 * - `session_replication_role = replica`, as DMS does on a PostgreSQL target: FK and user
 *   triggers do not fire, so rows may arrive in any table order;
 * - a replication origin, so the changes it commits carry that origin: pgoutput sends it in an
 *   Origin message and the stream of the other direction on this database skips them (no
 *   ping-pong; see `appliedByKit`). Works on PostgreSQL 12–18 alike.
 *   An origin can be held by one session at a time, hence one origin name per session.
 * - TimeZone UTC and DateStyle ISO, as every kit session (KIT_SESSION_OPTIONS): a zone-less
 *   date-time written into a `timestamptz` column, or a `timestamptz` into a zone-less one, is UTC.
 */
export async function openApplySession(url: string, originName: string): Promise<pg.Client> {
  const client = await openKitClient(url, `cutover-apply ${originName}`.slice(0, 63) as `cutover-${string}`);
  try {
    // the write switch fences a side with `ALTER DATABASE … SET default_transaction_read_only`;
    // the kit's own apply sessions (reverse replication into a fenced blue) must still write.
    // synchronous_commit off: durability comes from the slot (unacknowledged changes are re-sent).
    // standard_conforming_strings on: batches carry backslash-escaped array literals.
    // no idle-in-transaction timeout: a large source transaction keeps its target transaction open
    // while the rest of it arrives (open-transaction-apply.ts).
    await client.query(
      "set session_replication_role = 'replica'; set default_transaction_read_only = off; set synchronous_commit = 'off'; set standard_conforming_strings = on; set idle_in_transaction_session_timeout = 0",
    );
    await client.query(
      'select pg_replication_origin_create($1) where not exists (select 1 from pg_replication_origin where roname = $1)',
      [originName],
    );
  } catch (err) {
    await client.end().catch(() => {});
    throw new CutoverError('PRECONDITION_FAILED', `cannot prepare an apply session on ${redact(url)}: ${(err as Error).message}`, {
      fix: 'run `cutover assess`: it prints the GRANT statements this role needs (SET on session_replication_role from PostgreSQL 15, EXECUTE on the pg_replication_origin_* functions from 14; superuser before)',
      cause: err,
    });
  }
  // A killed worker's backend may still hold the origin for a moment (until it sees EOF): retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query('select pg_replication_origin_session_setup($1)', [originName]);
      return client;
    } catch (err) {
      if (attempt >= 400 || !/already active|is already/.test((err as Error).message)) {
        await client.end().catch(() => {});
        throw new CutoverError('PRECONDITION_FAILED', `replication origin "${originName}" is in use: ${(err as Error).message}`, {
          fix: 'another worker of this stream is running: stop it first (replicate stop)',
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 25)); // a stopped worker's backend lets go within moments
    }
  }
}
