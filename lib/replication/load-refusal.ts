import { CutoverError } from '../errors.ts';
import type { MappedTable } from '../mappings/types.ts';
import { sourceName, targetName } from '../mappings/table-names.ts';

/**
 * SQLSTATE classes of a target that refused a row the full load sent: data exception (a value its
 * column type cannot hold: `bit string length 4 does not match type bit(8)`), integrity (a
 * duplicate key, a NOT NULL or CHECK), syntax or access (a column the mapping names that the
 * table lacks, a missing privilege), feature not supported. Restarting the worker repeats them.
 */
const REFUSED_ROW_CLASSES = new Set(['22', '23', '42', '0A']);

/**
 * A full-load COPY error the target raised about the data, named by the table it was loading and
 * PostgreSQL's own context (`COPY oddtypes, line 3, column bits: "\xa0"`); any other error (a lost
 * connection, which the worker reconnects after) as it is. The worker's error said only
 * `bit string length 4 does not match type bit(8)`: neither the table nor the column.
 */
export function loadRefusal(err: unknown, table: MappedTable): unknown {
  const e = err as { code?: unknown; where?: unknown; message?: unknown } | null;
  if (!e || typeof e.code !== 'string' || e.code.length !== 5 || !REFUSED_ROW_CLASSES.has(e.code.slice(0, 2))) return err;
  const where = typeof e.where === 'string' && e.where ? ` (${e.where.split('\n')[0]})` : '';
  return new CutoverError('PRECONDITION_FAILED', `full load of ${sourceName(table)} -> ${targetName(table)} stopped: ${String(e.message)}${where}`, {
    received: `SQLSTATE ${e.code}`,
    fix: `make ${targetName(table)} take the source's rows (its column types, lengths and constraints; it must be empty before the full load: \`cutover assess\` checks both), or change the column with a mapping rule (change-data-type, remove-column); then run \`cutover replicate start\` again: it resumes after the last committed chunk`,
    cause: err,
  });
}
