import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import { qualified, quoteIdent } from './sql-names.ts';

/**
 * What publication `name` must be for `tables`, and the statement that makes it so from what is
 * there. A partitioned table's changes are sent under the name of the partition they touched
 * unless the publication says `publish_via_partition_root` (PostgreSQL 13+): the worker, which
 * knows the mapped (root) table only, would drop them as unmapped — so the kit's publication says
 * it whenever a mapped table is partitioned. PostgreSQL 12 cannot publish a partitioned table at
 * all: `partitioned` names them so the caller refuses, with the way out. Likewise a stored
 * generated column is sent only when the publication says `publish_generated_columns = stored`
 * (PostgreSQL 18+; before it, never: assess blocks a mapping that writes one, generated-source-findings.ts),
 * so the kit's publication says it when a mapped table has one: otherwise every replicated insert
 * and update would write NULL into the target column the full load had filled.
 */
export interface PublicationPlan {
  /** Already lists exactly the tables, with the options they need: used as it is. */
  readonly ready: boolean;
  readonly exists: boolean;
  /** The statements that make it what it must be, in order (none when ready). */
  readonly statements: readonly string[];
  /** Mapped partitioned tables on a server before 13 (which cannot publish them); else empty. */
  readonly unpublishable: readonly string[];
  /** Mapped tables the publication does not list (as `schema.table`). */
  readonly absent: readonly string[];
  /** Tables it lists that the mapping does not select (as `schema.table`, partitions as their root). */
  readonly extra: readonly string[];
  /** Options (`publish_via_partition_root = true`, `publish_generated_columns = stored`) it lacks. */
  readonly missingOptions: readonly string[];
}

/** A published table; `removedColumns`: its columns the mapping leaves out (a generated one among them needs no publishing). */
export interface PublishedTable {
  readonly schema: string;
  readonly table: string;
  readonly removedColumns?: readonly string[];
}

export async function planPublication(client: pg.ClientBase, name: string, tables: readonly PublishedTable[]): Promise<PublicationPlan> {
  const removed = tables.flatMap((t) => (t.removedColumns ?? []).map((column) => ({ schema: t.schema, table: t.table, column })));
  const wanted = [...new Set(tables.map((t) => `${t.schema}.${t.table}`))].sort();
  const list = [...new Set(tables.map((t) => qualified(t.schema, t.table)))].join(', ');
  const { rows: facts } = await client.query<{ version: number; partitioned: string[]; generated: boolean }>(
    `select current_setting('server_version_num')::int as version,
            array(select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where c.relkind = 'p' and n.nspname || '.' || c.relname = any($1::text[]) order by 1) as partitioned,
            exists(select 1 from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
                    where a.attgenerated = 's' and not a.attisdropped and n.nspname || '.' || c.relname = any($1::text[])
                      and not exists (select 1 from unnest($2::text[], $3::text[], $4::text[]) r(s, t, c)
                                       where r.s = n.nspname and r.t = c.relname and r.c = a.attname)) as generated`,
    [wanted, removed.map((r) => r.schema), removed.map((r) => r.table), removed.map((r) => r.column)],
  );
  const { version, partitioned } = facts[0]!;
  const generatedColumns = facts[0]!.generated && version >= 180000;
  if (partitioned.length && version < 130000) return { ready: false, exists: false, statements: [], unpublishable: partitioned, absent: [], extra: [], missingOptions: [] };
  const viaRoot = partitioned.length > 0;
  // pubviaroot exists from 13; before it no mapped table is partitioned here, so it is not needed
  const { rows } = await client.query<{ listed: string[]; via_root: boolean; gen_cols: boolean }>(
    // each published table as its partition root: without publish_via_partition_root a
    // partitioned table is listed as its partitions
    `select array(select distinct rn.nspname || '.' || rc.relname
                    from pg_publication_tables pt
                    join pg_namespace n on n.nspname = pt.schemaname
                    join pg_class c on c.relnamespace = n.oid and c.relname = pt.tablename
                    join pg_class rc on rc.oid = coalesce(pg_partition_root(c.oid::regclass), c.oid)
                    join pg_namespace rn on rn.oid = rc.relnamespace
                   where pt.pubname = p.pubname order by 1) as listed,
            ${version >= 130000 ? 'p.pubviaroot' : 'false'} as via_root,
            ${version >= 180000 ? "p.pubgencols = 's'" : 'false'} as gen_cols
       from pg_publication p where p.pubname = $1`,
    [name],
  );
  const pub = rows[0];
  const listed = new Set(pub?.listed ?? []);
  const absent = wanted.filter((t) => !listed.has(t));
  const extra = [...listed].filter((t) => !wanted.includes(t));
  const sameTables = pub !== undefined && pub.listed.join('\n') === wanted.join('\n');
  const options = [
    ...(viaRoot ? ['publish_via_partition_root = true'] : []),
    ...(generatedColumns ? ['publish_generated_columns = stored'] : []),
  ];
  const missingOptions = pub ? [...(viaRoot && !pub.via_root ? [options[0]!] : []), ...(generatedColumns && !pub.gen_cols ? ['publish_generated_columns = stored'] : [])] : options;
  if (pub && sameTables && !missingOptions.length) return { ready: true, exists: true, statements: [], unpublishable: [], absent: [], extra: [], missingOptions: [] };
  const statements = !pub
    ? [`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list}${options.length ? ` WITH (${options.join(', ')})` : ''}`]
    : [
        ...(sameTables ? [] : [`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${list}`]),
        ...(missingOptions.length ? [`ALTER PUBLICATION ${quoteIdent(name)} SET (${missingOptions.join(', ')})`] : []),
      ];
  return { ready: false, exists: pub !== undefined, statements, unpublishable: [], absent, extra, missingOptions };
}

/** The refusal for a partitioned table on PostgreSQL 12 (see planPublication). */
export function unpublishablePartitionsError(side: string, tables: readonly string[]): CutoverError {
  return new CutoverError('PRECONDITION_FAILED', `the mapping selects partitioned table(s) ${tables.join(', ')} on the ${side}, whose PostgreSQL (before 13) cannot publish a partitioned table for logical replication`, {
    received: tables.join(', '),
    allowed: 'plain tables on PostgreSQL 12; partitioned tables from PostgreSQL 13 (published through their root)',
    fix: 'upgrade that server to PostgreSQL 13 or later, or select the partitions instead of the partitioned table in the mapping (exclude the parent, include each partition)',
  });
}
