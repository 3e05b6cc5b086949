import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import type {
  CatalogTable,
  MappedTable,
  ResolvedMappings,
  RowTransformer,
  SourceCatalog,
  TableMappingDocument,
} from '../mappings/types.ts';

/**
 * A PRIVATE stand-in for lib/mappings/ used only while that engine is not in the tree: selection
 * rules (include/exclude, `%` wildcards) with identity names, nothing else. Any other rule is
 * refused so a test never passes by silently ignoring a transformation.
 */
export async function loadTableMappings(file: string): Promise<TableMappingDocument> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as { rules?: unknown[] };
  return { file, raw, rules: raw.rules ?? [] };
}

function like(pattern: string, value: string): boolean {
  const re = new RegExp('^' + pattern.split('%').map((p) => p.replace(/[.*+?^${}()|[\]\\_]/g, (c) => (c === '_' ? '.' : '\\' + c))).join('.*') + '$');
  return re.test(value);
}

interface SelectionRule {
  'rule-type': string;
  'rule-id': string;
  'rule-action': string;
  'object-locator': { 'schema-name': string; 'table-name': string };
  filters?: unknown[];
}

export function resolveTableMappings(doc: TableMappingDocument, catalog: SourceCatalog): ResolvedMappings {
  const rules = doc.rules as SelectionRule[];
  for (const r of rules) {
    if (r['rule-type'] !== 'selection' || (r.filters && r.filters.length)) {
      throw new CutoverError('MAPPING_UNSUPPORTED', `rule ${r['rule-id']} needs lib/mappings (the stand-in only knows plain selection rules)`);
    }
  }
  const tables: MappedTable[] = [];
  const excluded: { schema: string; table: string; ruleId: string }[] = [];
  const withoutPrimaryKey: string[] = [];
  for (const t of catalog.tables) {
    let decision: { include: boolean; ruleId: string } | null = null;
    for (const r of rules) {
      const loc = r['object-locator'];
      if (!like(loc['schema-name'], t.schema) || !like(loc['table-name'], t.table)) continue;
      if (r['rule-action'] === 'exclude') decision = { include: false, ruleId: r['rule-id'] };
      else if (!decision || decision.include) decision = { include: true, ruleId: r['rule-id'] };
    }
    if (!decision) continue;
    if (!decision.include) {
      excluded.push({ schema: t.schema, table: t.table, ruleId: decision.ruleId });
      continue;
    }
    if (!t.primaryKey.length) withoutPrimaryKey.push(`${t.schema}.${t.table}`);
    tables.push(identityTable(t, decision.ruleId));
  }
  return { tables, excluded, withoutPrimaryKey };
}

function identityTable(t: CatalogTable, ruleId: string): MappedTable {
  return {
    source: { schema: t.schema, table: t.table },
    target: { schema: t.schema, table: t.table },
    primaryKey: [...t.primaryKey],
    targetPrimaryKey: [...t.primaryKey],
    columns: t.columns.map((c) => ({ kind: 'copy' as const, source: c.name, target: c.name, sourceType: c.type, targetType: c.type })),
    filters: [],
    filterSql: null,
    loadOrder: 0,
    ruleIds: [ruleId],
  };
}

export async function createRowTransformer(table: MappedTable): Promise<RowTransformer> {
  return {
    table,
    matches: () => true,
    transform(row) {
      const out: Record<string, unknown> = {};
      for (const c of table.columns) if (c.kind === 'copy') out[c.target] = row[c.source];
      return out;
    },
    targetKey(key) {
      const out: Record<string, unknown> = {};
      table.primaryKey.forEach((k, i) => (out[table.targetPrimaryKey[i]!] = key[k]));
      return out;
    },
    close() {},
  };
}

export async function readCatalog(client: pg.ClientBase, schemas: string[]): Promise<SourceCatalog> {
  const { rows } = await client.query<{ schema: string; table: string; columns: { name: string; type: string; nullable: boolean; ordinal: number }[]; pk: string[] | null; est: string }>(
    `select n.nspname as schema, c.relname as table,
            (select json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                     'nullable', not a.attnotnull, 'ordinal', a.attnum) order by a.attnum)
               from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
            (select array_agg(a.attname order by k.ord) from pg_index i
               cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
              where i.indrelid = c.oid and i.indisprimary) as pk,
            c.reltuples::bigint::text as est
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r','p') and n.nspname = any($1) and not c.relispartition
      order by 1, 2`,
    [schemas],
  );
  return {
    tables: rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      columns: r.columns,
      primaryKey: r.pk ?? [],
      estimatedRows: Math.max(0, Number(r.est)),
    })),
  };
}
