/**
 * The resolved form of an AWS DMS table-mapping file against a real source catalog. One
 * implementation (lib/mappings/) is used by full load, CDC, validation and `mappings check`,
 * so the rehearsal tests exactly what DMS will be given.
 *
 * Public API (implemented in lib/mappings/index.ts):
 *   parseTableMappings(json: unknown, file?: string): TableMappingDocument      // throws MAPPING_INVALID / MAPPING_UNSUPPORTED with rule ids
 *   loadTableMappings(file: string): Promise<TableMappingDocument>
 *   resolveTableMappings(doc, catalog: SourceCatalog): ResolvedMappings           // which tables, names, columns, filters
 *   createRowTransformer(table: MappedTable): Promise<RowTransformer>             // expressions run in real SQLite (sql.js)
 *   readCatalog(client: pg.ClientBase, schemas: string[]): Promise<SourceCatalog> // lib/postgres/catalog.ts
 *   findUnmatchedRules(doc, catalog): UnmatchedRule[]                            // locators naming nothing (typos)
 *   reverseCoverage(forward, reverse, exempt?): ReverseCoverage                  // what a rollback would lose
 */
import type { SelectionRule, TableSettingsRule, TransformationRule } from './rule-types.ts';

export interface CatalogColumn {
  readonly name: string;
  /** PostgreSQL type as `format_type()` prints it, e.g. `numeric(12,2)`, `timestamp with time zone`. */
  readonly type: string;
  readonly nullable: boolean;
  readonly ordinal: number;
}

export interface CatalogTable {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly CatalogColumn[];
  /** Primary-key column names in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  readonly estimatedRows: number;
}

export interface SourceCatalog {
  readonly tables: readonly CatalogTable[];
}

/** Parsed, checked mapping document (rules verbatim plus typed views). */
export interface TableMappingDocument {
  readonly file?: string;
  readonly raw: unknown;
  readonly rules: readonly unknown[];
  /** Typed views of the rules, in file order (see lib/mappings/rule-types.ts). */
  readonly selectionRules: readonly SelectionRule[];
  readonly transformationRules: readonly TransformationRule[];
  readonly tableSettingsRules: readonly TableSettingsRule[];
}

/** A selection filter condition, DMS semantics (`filter-operator` values). */
export interface FilterCondition {
  /** `lte` in a file is read as its alias `ste`. */
  readonly operator: 'eq' | 'noteq' | 'ste' | 'gte' | 'between' | 'notbetween' | 'null' | 'notnull';
  readonly value?: string;
  readonly start?: string;
  readonly end?: string;
}

/** One `filters[]` entry: conditions on one column are OR-ed; filters are AND-ed. */
export interface ColumnFilter {
  readonly column: string; // source column name
  readonly conditions: readonly FilterCondition[];
}

export type MappedColumn =
  | {
      readonly kind: 'copy';
      readonly source: string; // source column name
      readonly target: string; // target column name
      readonly sourceType: string;
      /** Type from change-data-type, else the source type. */
      readonly targetType: string;
    }
  | {
      readonly kind: 'expression';
      readonly target: string;
      /** DMS expression, SQLite semantics, `$col` references to source columns. */
      readonly expression: string;
      readonly targetType: string;
      /** Source columns referenced by the expression. */
      readonly dependsOn: readonly string[];
      /** The same expression in PostgreSQL SQL over the source table, or null when not translatable. */
      readonly postgresSql: string | null;
      /** Replaced a source column of the same name (column `expression` on an existing column). */
      readonly replaces?: string;
    };

export interface MappedTable {
  readonly source: { readonly schema: string; readonly table: string };
  readonly target: { readonly schema: string; readonly table: string };
  /** Source primary-key column names (or define-primary-key), in key order. */
  readonly primaryKey: readonly string[];
  /** The same key columns under their target names, same order. */
  readonly targetPrimaryKey: readonly string[];
  /** Target columns in order. Removed columns are absent. */
  readonly columns: readonly MappedColumn[];
  /** Selection filters (AND of OR-groups); empty means every row. */
  readonly filters: readonly ColumnFilter[];
  /** The filters as a PostgreSQL WHERE fragment over source column names (no `WHERE`), or null. */
  readonly filterSql: string | null;
  /** DMS `load-order`; higher loads first. */
  readonly loadOrder: number;
  /** Rule ids that produced this table, for messages. */
  readonly ruleIds: readonly string[];
  /** Source columns as the catalog lists them (types drive value conversion and filters). */
  readonly sourceColumns: readonly CatalogColumn[];
  /** Source columns absent from the target (remove-column, or not named by include-column). */
  readonly removedColumns: readonly string[];
  /** Set when a define-primary-key rule chose the key. */
  readonly primaryKeyDefinition?: {
    readonly name: string;
    readonly origin: 'primary-key' | 'unique-index';
    readonly ruleId: string;
  };
  /**
   * `table-settings` rules for this table (parallel-load, lob-settings): DMS-side tuning that the
   * local replicator records but does not need (it splits by key range itself).
   */
  readonly tableSettings: readonly { readonly ruleId: string; readonly settings: Readonly<Record<string, unknown>> }[];
}

export interface ResolvedMappings {
  readonly tables: readonly MappedTable[];
  /** Source tables the rules looked at but excluded, with the rule id that excluded them. */
  readonly excluded: readonly { readonly schema: string; readonly table: string; readonly ruleId: string }[];
  /** Source tables selected but without a primary key (replication refuses them). */
  readonly withoutPrimaryKey: readonly string[];
  /**
   * Rules that matched nothing in the catalog, and other facts a reader should see (never an
   * ignored rule: a rule that cannot be honoured is an error).
   */
  readonly notes: readonly string[];
}

export interface RowTransformer {
  readonly table: MappedTable;
  /** Does the source row pass the selection filters? */
  matches(sourceRow: Readonly<Record<string, unknown>>): boolean;
  /**
   * Source row (source column names, values as node-postgres returns them or as text) to target row
   * (target column names). Returns null when the filters leave the row out.
   */
  transform(sourceRow: Readonly<Record<string, unknown>>): Record<string, unknown> | null;
  /** Source key -> target key. */
  targetKey(sourceKey: Readonly<Record<string, unknown>>): Record<string, unknown>;
  close(): void;
}
