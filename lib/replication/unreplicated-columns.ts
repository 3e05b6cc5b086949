import { mappingRemovesColumn } from '../mappings/column-removed.ts';
import type { TableMappingDocument } from '../mappings/types.ts';
import type { Output } from '../output/output.ts';

/**
 * Source columns added during replication, whose values a worker does not replicate (the mapping
 * was resolved without them), as both workers say them: the PostgreSQL-source worker from a
 * table's Relation message, the MySQL-family one from its binlog rows. Each is said once, in the
 * worker's log and (through `changed`) its status, which `replicate status`, `cutover status`,
 * the write switch and the replicate gate read. One the mapping removes on purpose is never said;
 * one dropped on the source again is forgotten: nothing of it is left to lose.
 */
export class UnreplicatedColumns {
  private readonly names = new Set<string>();
  /** The worker's mapping file, once read (a column it removes is not lost). */
  mapping: TableMappingDocument | null = null;

  constructor(
    private readonly out: Output,
    /** The log topic (`replicate <stream>`). */
    private readonly topic: string,
    /** Called when the set changed (the worker writes its status). */
    private readonly changed: () => void,
  ) {}

  /**
   * `columns`: the table's source columns the worker does not carry, as the source has them now;
   * `target`: the table's target, for the fix.
   */
  notice(schema: string, table: string, columns: readonly string[], target: string): void {
    const prefix = `${schema}.${table}.`;
    let changed = false;
    for (const name of this.names) {
      if (name.startsWith(prefix) && !columns.includes(name.slice(prefix.length))) changed = this.names.delete(name) || changed;
    }
    for (const c of columns) {
      const name = `${prefix}${c}`;
      if (this.names.has(name) || (this.mapping && mappingRemovesColumn(this.mapping, schema, table, c))) continue;
      this.names.add(name);
      changed = true;
      this.out.warn(
        this.topic,
        `source column ${name} is new (added during replication): its values are NOT replicated. Add it to ${target} and to the mapping (or remove it there), then \`replicate stop\`, \`replicate start\` and \`validate --repair\` for that table`,
      );
    }
    if (changed) this.changed();
  }

  /** The columns said, `schema.table.column`, for the status (none: undefined, the field left out). */
  list(): string[] | undefined {
    return this.names.size ? [...this.names] : undefined;
  }
}
