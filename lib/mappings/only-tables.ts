import { CutoverError } from '../errors.ts';
import { suggestion } from './closest-name.ts';
import { sourceName } from './table-names.ts';
import type { MappedTable } from './types.ts';

/**
 * The selected tables narrowed to `only` (validate's `--table`, source `schema.table` names), or a
 * USAGE error naming each value the mapping does not select with the nearest selected table: a
 * misspelt name, or a bare table name whose schema was left out.
 */
export function onlyTables<T extends MappedTable>(tables: readonly T[], only: readonly string[] | undefined): T[] {
  if (!only?.length) return [...tables];
  const names = tables.map(sourceName);
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length) {
    const hints = unknown.map((value) => {
      const bare = value.includes('.') ? [] : names.filter((n) => n.slice(n.indexOf('.') + 1).toLowerCase() === value.toLowerCase());
      return `--table ${value} (${bare.length === 1 ? `did you mean ${bare[0]}?` : suggestion(value, names, 'selected tables')})`;
    });
    throw new CutoverError('USAGE', `not selected by the forward mapping: ${hints.join('; ')}`, {
      received: unknown,
      allowed: names.join(', '),
      fix: 'name source tables as schema.table, as the mapping selects them',
    });
  }
  return tables.filter((t) => only.includes(sourceName(t)));
}
