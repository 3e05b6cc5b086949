import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import { createRowTransformer, loadTableMappings, readCatalog, readMappedCatalog, resolveSelected, resolveTableMappings, type SchemaScope } from './index.ts';
import type { MappedTable, SourceCatalog, TableMappingDocument } from './types.ts';
import type { Output } from '../output/output.ts';
import { sourceName } from './table-names.ts';

/** The mapping engine calls the replicator and the snapshotter make (one DMS implementation, lib/mappings). */
export const mappingEngine = { loadTableMappings, resolveTableMappings, createRowTransformer, readCatalog };

/** A wave of configured tables (`schema.table` source names). */
export interface WaveSelection {
  readonly name: string;
  readonly tables: readonly string[];
}

/**
 * Resolves a DMS mapping file against the live catalog of the side it reads (the schemas `scope`
 * gives, see schemasToRead), optionally narrowed to one wave. Refuses a mapping that selects no
 * table or names a table that does not exist (resolveSelected), and tables without a primary key
 * (no idempotent apply is possible for them).
 */
export async function resolveMappedTables(
  client: pg.ClientBase,
  scope: SchemaScope,
  mappingFile: string,
  out: Output,
  wave?: WaveSelection,
): Promise<MappedTable[]> {
  const doc = await mappingEngine.loadTableMappings(mappingFile);
  const { catalog, schemas } = await readMappedCatalog(client, doc, scope);
  return selectMappedTables(doc, catalog, schemas, scope, mappingFile, out, wave);
}

/**
 * The second half of resolveMappedTables, for a catalog read by any engine (a MySQL source's
 * `readMysqlCatalog`): the selected tables, narrowed to a wave, refused without a primary key.
 */
export function selectMappedTables(
  doc: TableMappingDocument,
  catalog: SourceCatalog,
  schemas: readonly string[],
  scope: SchemaScope,
  mappingFile: string,
  out: Output,
  wave?: WaveSelection,
): MappedTable[] {
  const resolved = resolveSelected(doc, catalog, schemas, scope.side);
  for (const note of resolved.notes) out.info('mappings', note);
  let tables = [...resolved.tables];
  if (wave) {
    const wanted = new Set(wave.tables);
    tables = tables.filter((t) => wanted.has(`${t.source.schema}.${t.source.table}`));
    const found = new Set(tables.map((t) => `${t.source.schema}.${t.source.table}`));
    const missing = wave.tables.filter((t) => !found.has(t));
    if (missing.length) {
      throw new CutoverError('CONFIG_INVALID', `wave "${wave.name}" names tables the mapping does not select: ${missing.join(', ')}`, {
        received: missing,
        allowed: [...tables.map((t) => `${t.source.schema}.${t.source.table}`), ...resolved.tables.map((t) => `${t.source.schema}.${t.source.table}`)].join(', '),
        fix: `correct replication.waves[name=${wave.name}].tables or select them in ${mappingFile}`,
      });
    }
  }
  const noKey = tables.filter((t) => t.primaryKey.length === 0).map((t) => `${t.source.schema}.${t.source.table}`);
  if (noKey.length) {
    throw new CutoverError('PRECONDITION_FAILED', `tables without a primary key cannot be replicated: ${noKey.join(', ')}`, {
      received: noKey,
      fix: `add a primary key, a define-primary-key rule, or exclude them in ${mappingFile}`,
    });
  }
  return tables.sort((a, b) => b.loadOrder - a.loadOrder || sourceName(a).localeCompare(sourceName(b)));
}

// a leaf module: only-tables.ts needs sourceName without importing this file (an import cycle through index.ts)
export { sourceName, targetName } from './table-names.ts';
