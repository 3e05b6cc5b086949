import type pg from 'pg';

/**
 * DDL of a set of tables read from the catalog (no pg_dump needed): `preData` creates schemas,
 * the enum and domain types the columns use (userTypeDdl), tables with columns, defaults, identities, primary keys, unique and check constraints;
 * `postData` adds secondary indexes and foreign keys after the rows are in (faster, and FK order
 * free). `columns` are the columns COPY reads and writes (generated columns excluded).
 */
export interface TableDdl {
  readonly name: string; // schema.table, quoted as needed
  readonly schema: string;
  readonly table: string;
  readonly columns: string[];
  readonly primaryKey: string[];
  readonly preData: string;
  readonly postData: string;
  /** Sequences behind columns (serial, identity): `setval` them after the data. */
  readonly sequences: { column: string; sequence: string }[];
}

const q = (s: string) => '"' + s.replace(/"/g, '""') + '"';

export async function readTableDdl(client: pg.ClientBase, schema: string, table: string): Promise<TableDdl> {
  const rel = `${q(schema)}.${q(table)}`;
  const { rows: cols } = await client.query<{
    name: string;
    type: string;
    notnull: boolean;
    def: string | null;
    identity: string;
    generated: string;
    collation: string | null;
  }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
            pg_get_expr(d.adbin, d.adrelid) as def, a.attidentity as identity, a.attgenerated as generated,
            case when a.attcollation <> t.typcollation then (select quote_ident(nspname) || '.' || quote_ident(collname)
              from pg_collation c join pg_namespace n on n.oid = c.collnamespace where c.oid = a.attcollation) end as collation
       from pg_attribute a join pg_type t on t.oid = a.atttypid
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [rel],
  );
  const { rows: cons } = await client.query<{ name: string; type: string; def: string; cols: string[] | null }>(
    `select conname as name, contype as type, pg_get_constraintdef(oid) as def,
            (select array_agg(a.attname::text order by k.ord) from unnest(conkey) with ordinality k(n, ord)
               join pg_attribute a on a.attrelid = conrelid and a.attnum = k.n) as cols
       from pg_constraint where conrelid = $1::regclass and contype in ('p','u','c','f','x') order by contype, conname`,
    [rel],
  );
  const { rows: idx } = await client.query<{ def: string }>(
    `select pg_get_indexdef(i.indexrelid) as def from pg_index i
      where i.indrelid = $1::regclass and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.conrelid = i.indrelid)
      order by i.indexrelid`,
    [rel],
  );
  const sequences: { column: string; sequence: string }[] = [];
  const pre: string[] = [`create schema if not exists ${q(schema)};`, ...(await userTypeDdl(client, rel))];
  const columnDefs: string[] = [];
  for (const c of cols) {
    let def = `${q(c.name)} ${c.type}`;
    if (c.collation) def += ` collate ${c.collation}`;
    if (c.generated === 's') def += ` generated always as (${c.def}) stored`;
    else if (c.identity) def += ` generated ${c.identity === 'a' ? 'always' : 'by default'} as identity`;
    else if (c.def?.startsWith('nextval(')) {
      const { rows } = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [rel, c.name]);
      if (rows[0]?.seq) pre.push(`create sequence if not exists ${rows[0].seq};`);
      def += ` default ${c.def}`;
    } else if (c.def) def += ` default ${c.def}`;
    if (c.notnull) def += ' not null';
    columnDefs.push(def);
    const { rows } = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [rel, c.name]);
    if (rows[0]?.seq) sequences.push({ column: c.name, sequence: rows[0].seq });
  }
  pre.push(`create table ${rel} (\n  ${columnDefs.join(',\n  ')}\n);`);
  const post: string[] = [];
  for (const con of cons) {
    const stmt = `alter table ${rel} add constraint ${q(con.name)} ${con.def};`;
    (con.type === 'f' ? post : pre).push(stmt);
  }
  for (const s of sequences) {
    const owned = cols.find((c) => c.name === s.column);
    if (owned && !owned.identity) pre.push(`alter sequence ${s.sequence} owned by ${rel}.${q(s.column)};`);
  }
  for (const i of idx) post.push(i.def + ';');
  const pk = cons.find((c) => c.type === 'p')?.cols ?? [];
  return {
    name: `${schema}.${table}`,
    schema,
    table,
    columns: cols.filter((c) => c.generated !== 's').map((c) => c.name),
    primaryKey: pk,
    preData: pre.join('\n'),
    postData: post.join('\n'),
    sequences,
  };
}

/**
 * The enums and domains a table's columns use (also as array elements, and a domain's own base
 * type), dependencies first, each created only where it does not exist yet (several tables share a
 * type, and the restore runs every table's preData in one transaction). Without them a backup of a
 * table with an enum column was verified and then could not be restored into an empty database
 * (`type "legacy.acct_status" does not exist`, found by trial6). Composite, range and extension
 * types are not written: the restore then names the type it lacks.
 */
async function userTypeDdl(client: pg.ClientBase, rel: string): Promise<string[]> {
  const { rows } = await client.query<{ schema: string; kind: string; ddl: string }>(
    `with recursive used(oid, depth) as (
       select a.atttypid, 0 from pg_attribute a where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
       union all
       select case when t.typtype = 'd' then t.typbasetype else t.typelem end, u.depth + 1
         from used u join pg_type t on t.oid = u.oid
        where t.typtype = 'd' or (t.typcategory = 'A' and t.typelem <> 0)
     )
     select n.nspname as schema, t.typtype as kind,
            case t.typtype
              when 'e' then format('create type %I.%I as enum (%s)', n.nspname, t.typname,
                (select string_agg(quote_literal(e.enumlabel), ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid))
              else format('create domain %I.%I as %s', n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod))
                || coalesce((select ' collate ' || quote_ident(cn.nspname) || '.' || quote_ident(c.collname)
                               from pg_collation c join pg_namespace cn on cn.oid = c.collnamespace join pg_type b on b.oid = t.typbasetype
                              where c.oid = t.typcollation and t.typcollation <> b.typcollation), '')
                || coalesce(' default ' || t.typdefault, '')
                || case when t.typnotnull then ' not null' else '' end
                || coalesce((select string_agg(' constraint ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid), '' order by con.conname)
                               from pg_constraint con where con.contypid = t.oid and con.contype = 'c'), '')
            end as ddl
       from (select oid, max(depth) as depth from used group by oid) u
       join pg_type t on t.oid = u.oid join pg_namespace n on n.oid = t.typnamespace
      where t.typtype in ('e', 'd') and n.nspname not in ('pg_catalog', 'information_schema')
      order by u.depth desc, n.nspname, t.typname`,
    [rel],
  );
  return rows.flatMap((r) => [
    `create schema if not exists ${q(r.schema)};`,
    `do $cutover_type$ begin ${r.ddl}; exception when duplicate_object then null; end $cutover_type$;`,
  ]);
}
