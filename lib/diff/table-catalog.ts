import type pg from 'pg';
import { queryText } from './comparison-pool.ts';
import { relationOid } from '../postgres/catalog.ts';

/** Column name -> type as `format_type()` prints it; empty when the table does not exist. */
export async function readColumnTypes(client: pg.Pool | pg.ClientBase, schema: string, table: string): Promise<Map<string, string>> {
  const rows = await queryText(
    client,
    `select a.attname, format_type(a.atttypid, a.atttypmod)
       from pg_attribute a
      where a.attrelid = ${relationOid('$1', '$2')} and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [schema, table],
  );
  return new Map(rows.map((r) => [r[0]!, r[1]!]));
}

/**
 * The effective collation of each column (the database default spelled out), so the engine can
 * tell whether both sides order text keys the same way.
 */
export async function readCollations(
  client: pg.Pool | pg.ClientBase,
  schema: string,
  table: string,
  columns: readonly string[],
): Promise<Map<string, string>> {
  const rows = await queryText(
    client,
    `select a.attname, co.collname, co.collprovider::text, co.collcollate,
            (select (to_jsonb(d) - 'datacl')::text from pg_database d where d.datname = current_database())
       from pg_attribute a join pg_collation co on co.oid = a.attcollation
      where a.attrelid = ${relationOid('$1', '$2')} and a.attname = any($3)`,
    [schema, table, columns],
  );
  const out = new Map<string, string>();
  for (const [name, collname, provider, collate, dbJson] of rows) {
    if (collname === 'default') {
      const db = JSON.parse(dbJson!) as Record<string, unknown>;
      out.set(name!, `db:${db.datlocprovider ?? 'c'}:${db.datcollate ?? ''}:${db.datlocale ?? db.daticulocale ?? ''}`);
    } else {
      out.set(name!, `${provider}:${collate ?? collname}`);
    }
  }
  return out;
}
