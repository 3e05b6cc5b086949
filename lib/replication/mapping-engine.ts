import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type {
  MappedTable,
  ResolvedMappings,
  RowTransformer,
  SourceCatalog,
  TableMappingDocument,
} from '../mappings/types.ts';

/** The part of lib/mappings/index.ts the replicator and the snapshotter use. */
export interface MappingEngine {
  loadTableMappings(file: string): Promise<TableMappingDocument>;
  resolveTableMappings(doc: TableMappingDocument, catalog: SourceCatalog): ResolvedMappings;
  createRowTransformer(table: MappedTable): Promise<RowTransformer>;
  readCatalog(client: pg.ClientBase, schemas: string[]): Promise<SourceCatalog>;
  /** True when lib/mappings is not in the tree yet and the private stand-in answers. */
  readonly standIn: boolean;
}

let cached: Promise<MappingEngine> | undefined;

/**
 * Loads lib/mappings/index.ts when it exists (the one DMS mapping implementation), else the
 * private selection-only stand-in. The specifier is computed so the tree type-checks either way.
 */
export function mappingEngine(): Promise<MappingEngine> {
  cached ??= (async () => {
    const real = new URL('../mappings/index.ts', import.meta.url);
    if (existsSync(fileURLToPath(real))) {
      const mod = (await import(real.href)) as Partial<MappingEngine> & {
        parseTableMappings?: (json: unknown, file?: string) => TableMappingDocument;
      };
      if (mod.resolveTableMappings && mod.createRowTransformer && mod.readCatalog && (mod.loadTableMappings || mod.parseTableMappings)) {
        const load =
          mod.loadTableMappings ??
          (async (file: string) => {
            const { readFile } = await import('node:fs/promises');
            return mod.parseTableMappings!(JSON.parse(await readFile(file, 'utf8')), file);
          });
        return {
          loadTableMappings: load,
          resolveTableMappings: mod.resolveTableMappings,
          createRowTransformer: mod.createRowTransformer,
          readCatalog: mod.readCatalog,
          standIn: false,
        };
      }
    }
    const standIn = await import('./stand-in-mappings.ts');
    return { ...standIn, standIn: true };
  })();
  return cached;
}

/** A wave of configured tables (`schema.table` source names). */
export interface WaveSelection {
  readonly name: string;
  readonly tables: readonly string[];
}

/**
 * Resolves a DMS mapping file against the live source catalog, optionally narrowed to one wave.
 * Refuses tables without a primary key (no idempotent apply is possible for them).
 */
export async function resolveMappedTables(
  client: pg.ClientBase,
  schemas: string[],
  mappingFile: string,
  out: Output,
  wave?: WaveSelection,
): Promise<MappedTable[]> {
  const engine = await mappingEngine();
  if (engine.standIn) out.warn('mappings', 'lib/mappings is not available yet: using the selection-only stand-in');
  const doc = await engine.loadTableMappings(mappingFile);
  const catalog = await engine.readCatalog(client, schemas);
  const resolved = engine.resolveTableMappings(doc, catalog);
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
  if (!tables.length) {
    throw new CutoverError('MAPPING_INVALID', `${mappingFile} selects no table in schemas ${schemas.join(', ')}`, {
      fix: 'check the selection rules\' object-locator (schema-name / table-name, % is the wildcard)',
    });
  }
  return tables.sort((a, b) => b.loadOrder - a.loadOrder || `${a.source.schema}.${a.source.table}`.localeCompare(`${b.source.schema}.${b.source.table}`));
}

export function sourceName(t: MappedTable): string {
  return `${t.source.schema}.${t.source.table}`;
}
export function targetName(t: MappedTable): string {
  return `${t.target.schema}.${t.target.table}`;
}
