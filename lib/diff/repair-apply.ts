import type pg from 'pg';
import { connectionError } from '../assess/connection-errors.ts';
import { CutoverError } from '../errors.ts';
import type { RowKey } from '../platform/roles.ts';
import { DEAD_LETTER_TABLE_DDL } from '../postgres/dead-letter-table.ts';

/** A repair statement and the row it repairs (a statement the target rejects then becomes a dead letter). */
export interface RepairStatement {
  readonly sql: string;
  readonly row: { readonly sourceTable: string; readonly targetTable: string; readonly key: RowKey };
}

export interface RepairOutcome {
  /** Statements the target accepted. */
  readonly applied: number;
  /** Rows whose statement the target rejected, with its reason (also in `_cutover.dead_letter`). */
  readonly deadLetters: readonly { readonly table: string; readonly key: RowKey; readonly reason: string }[];
}

/** `_cutover.dead_letter.slot` of the rows a repair could not write. */
export const REPAIR_DEAD_LETTER_SLOT = 'validate-repair';

/**
 * Applies a validation's repair in one target transaction, with replication triggers off like an
 * apply, read-write even on a green the rollback fenced. Plain statements are all or nothing: any failure rolls the whole repair back. Statements
 * that name their row run each under a savepoint: one the target rejects (a constraint, a value the
 * type cannot hold) is undone alone and recorded in `_cutover.dead_letter` with the database's
 * reason, and the others still apply — the next validation reports that row as a dead letter.
 */
export async function applyRepairs(targetDb: pg.Pool, statements: readonly (string | RepairStatement)[], url: string): Promise<RepairOutcome> {
  const client = await targetDb.connect().catch((err: unknown) => {
    throw connectionError(err, 'target', url);
  });
  const deadLetters: { table: string; key: RowKey; reason: string }[] = [];
  let applied = 0;
  try {
    // READ WRITE: a rollback leaves green fenced (its database's default_transaction_read_only),
    // and a repair is allowed exactly then; the kit writes into a fenced side as its replication does
    await client.query('BEGIN READ WRITE');
    await client.query('SET LOCAL session_replication_role = replica');
    for (const s of statements) {
      if (typeof s === 'string') {
        await client.query(s);
        applied++;
        continue;
      }
      await client.query('SAVEPOINT repair_row');
      try {
        await client.query(s.sql);
        await client.query('RELEASE SAVEPOINT repair_row');
        applied++;
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT repair_row');
        const reason = (err as Error).message;
        if (!deadLetters.length) await client.query(DEAD_LETTER_TABLE_DDL);
        await client.query(
          `insert into _cutover.dead_letter (slot, direction, source_table, target_table, source_key, change, error) values ($1, 'forward', $2, $3, $4::jsonb, $5::jsonb, $6)`,
          [REPAIR_DEAD_LETTER_SLOT, s.row.sourceTable, s.row.targetTable, JSON.stringify(s.row.key), JSON.stringify({ kind: 'repair', statement: s.sql }), reason],
        );
        deadLetters.push({ table: s.row.sourceTable, key: s.row.key, reason });
      }
    }
    await client.query('COMMIT');
    return { applied, deadLetters };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw new CutoverError('PRECONDITION_FAILED', `the repair failed and was rolled back: ${(err as Error).message}`, {
      fix: 'write the statements with --repair-sql FILE, inspect and correct them, and apply them with psql',
      cause: err,
    });
  } finally {
    client.release();
  }
}
