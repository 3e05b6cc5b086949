import type pg from 'pg';
import { schemasToRead, type SchemaScope } from '../mappings/mapped-schemas.ts';
import type { CatalogTable, SourceCatalog, TableMappingDocument } from '../mappings/types.ts';

/**
 * SQL for the OID of table `schemaParam`.`tableParam` (SQL parameters or expressions holding the
 * plain names), looked up in the catalogs: unlike `to_regclass`, it needs no USAGE on the schema,
 * so a pre-flight can read a table's facts for a role that may not use it yet (and say so)
 * instead of failing with "permission denied for schema".
 */
export function relationOid(schemaParam: string, tableParam: string): string {
  return `(select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schemaParam} and c.relname = ${tableParam})`;
}

/** The kit's own schemas never take part in a mapping. */
export const KIT_SCHEMAS: readonly string[] = ['_cutover'];

/**
 * Reads the tables of `schemas` (ordinary and partitioned tables; partitions are read through
 * their parent) with columns as `format_type()` prints them, nullability, primary key in key
 * order and the planner's row estimate. An empty `schemas` list reads every user schema.
 */
export async function readCatalog(client: pg.ClientBase, schemas: string[]): Promise<SourceCatalog> {
  const all = schemas.length === 0;
  const { rows } = await client.query<{
    schema: string;
    table: string;
    estimated: string;
    columns: { name: string; type: string; nullable: boolean; ordinal: number }[] | null;
    pk: string[] | null;
  }>(
    `SELECT n.nspname AS schema, c.relname AS table,
            greatest(c.reltuples, 0)::bigint::text AS estimated,
            (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                               'nullable', NOT a.attnotnull, 'ordinal', a.attnum) ORDER BY a.attnum)
               FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_constraint con
               CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              WHERE con.conrelid = c.oid AND con.contype = 'p') AS pk
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND NOT c.relispartition
        AND n.nspname <> ALL ($1::text[])
        AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
        AND ($2::boolean OR n.nspname = ANY ($3::text[]))
      ORDER BY n.nspname, c.relname`,
    [KIT_SCHEMAS, all, schemas],
  );
  const tables: CatalogTable[] = rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    columns: (r.columns ?? []).map((c) => ({ name: c.name, type: c.type, nullable: c.nullable, ordinal: c.ordinal })),
    primaryKey: r.pk ?? [],
    estimatedRows: Number(r.estimated),
  }));
  return { tables };
}

/**
 * The catalog a mapping is resolved against: the schemas `scope` gives for `doc` (see
 * schemasToRead), and which they were (empty: every user schema), for messages.
 */
export async function readMappedCatalog(
  client: pg.ClientBase,
  doc: TableMappingDocument,
  scope: SchemaScope,
): Promise<{ catalog: SourceCatalog; schemas: string[] }> {
  const schemas = schemasToRead(doc, scope);
  return { catalog: await readCatalog(client, schemas), schemas };
}
