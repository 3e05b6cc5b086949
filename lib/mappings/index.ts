/**
 * The AWS DMS table-mapping engine: one implementation used by full load, CDC, validation and
 * `cutover mappings check`.
 */
export { parseTableMappings, loadTableMappings } from './parse.ts';
export { resolveTableMappings, applyNameRule } from './resolve.ts';
export { createRowTransformer } from './row-transformer.ts';
export { describeMappings } from './describe.ts';
export { checkMappingsFile, type MappingsCheckResult } from './check.ts';
export { findUnmatchedRules, type UnmatchedRule } from './unmatched-rules.ts';
export { onlyTables } from './only-tables.ts';
export { schemasToRead, describeSchemas, resolveSelected, sideScope, type SchemaScope } from './mapped-schemas.ts';
export { reverseCoverage, type ReverseCoverage, type ReverseCoverageGap, type ReverseExemption } from './reverse-coverage.ts';
export { compileFilters, type CompiledFilters } from './filters.ts';
export { translateToPostgres } from './expression/to-postgres.ts';
export { postgresTypeFor } from './data-types.ts';
export { quoteIdent, quoteLiteral } from './postgres-quote.ts';
export { loadSqlite } from './sqlite.ts';
export { readCatalog, readMappedCatalog } from '../postgres/catalog.ts';
export type * from './types.ts';
export type * from './rule-types.ts';
