import type { MappedTable } from '../../lib/mappings/types.ts';
import type { ApplyTable } from '../../lib/replication/change-applier.ts';

/**
 * A mapped table as the applier takes it, for tests that drive a ChangeApplier directly: the
 * same schema and name on both sides, every column copied under its own name (pass-through unless
 * `filters`), keyed on `primaryKey` (default: the first column), an identity transformer.
 */
export function applyTable(schema: string, name: string, columns: readonly string[], options: { primaryKey?: readonly string[]; filters?: unknown[] } = {}): ApplyTable {
  const key = options.primaryKey ?? [columns[0]!];
  return {
    table: {
      source: { schema, table: name },
      target: { schema, table: name },
      primaryKey: key,
      targetPrimaryKey: key,
      columns: columns.map((c) => ({ kind: 'copy', source: c, target: c })),
      filters: options.filters ?? [],
      filterSql: null,
      loadOrder: 0,
      ruleIds: [],
      sourceColumns: [],
      removedColumns: [],
    } as unknown as MappedTable,
    transformer: { transform: (row: Record<string, unknown>) => row, targetKey: (k: Record<string, unknown>) => k, close: () => {} } as never,
  };
}
