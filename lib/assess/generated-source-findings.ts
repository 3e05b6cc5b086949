import type pg from 'pg';
import { quoteIdent } from '../mappings/postgres-quote.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';

/**
 * A stored generated column on the source that the mapping copies (`source-column-generated`,
 * blocker). Logical replication sends generated columns only from PostgreSQL 18, when the
 * publication asks for them (the kit's does: publication-plan.ts); before that the full load
 * copies the value (it reads the table) and every replicated insert and update afterwards writes
 * NULL into the target column — found with a `total … GENERATED ALWAYS AS (qty * unit) STORED`
 * column mapped to a plain one: validate then named every row changed since the load. The way out
 * is the target computing it too. The reverse mapping (green to blue after the write switch) is
 * checked the same way against green (`reverse-column-generated`, a warning: until a rollback
 * after the switch nothing is lost, and a blue column that is plain has no other source).
 */
export async function generatedSourceFindings(source: pg.ClientBase, tables: readonly MappedTable[], direction: 'forward' | 'reverse' = 'forward'): Promise<Finding[]> {
  const copied = tables.flatMap((t) => t.columns.flatMap((c) => (c.kind === 'copy' ? [{ t, column: c.source, target: c.target }] : [])));
  if (!copied.length) return [];
  const { rows } = await source.query<{ i: number; expr: string; version: number }>(
    `select x.i, pg_get_expr(d.adbin, d.adrelid) as expr, current_setting('server_version_num')::int as version
       from unnest($1::text[], $2::text[], $3::text[]) with ordinality as x(nsp, tab, col, i)
       join pg_namespace n on n.nspname = x.nsp
       join pg_class c on c.relnamespace = n.oid and c.relname = x.tab
       join pg_attribute a on a.attrelid = c.oid and a.attname = x.col and not a.attisdropped
       join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attgenerated = 's'
      order by x.i`,
    [copied.map((x) => x.t.source.schema), copied.map((x) => x.t.source.table), copied.map((x) => x.column)],
  );
  return rows
    .filter((r) => r.version < 180000)
    .map((r) => {
      const { t, column, target } = copied[Number(r.i) - 1]!;
      const from = `${t.source.schema}.${t.source.table}`;
      const to = `${t.target.schema}.${t.target.table}`;
      const reverse = direction === 'reverse';
      return {
        id: reverse ? 'reverse-column-generated' : 'source-column-generated',
        severity: reverse ? 'warning' : 'blocker',
        table: from,
        count: 1,
        sampleKeys: [{ column }],
        message: reverse
          ? `${from}.${column} is GENERATED ALWAYS AS (${r.expr}) STORED on the target, and the reverse mapping copies it to ${to}.${target} on the source: logical replication sends no generated column before PostgreSQL 18, so after the write switch every row reverse replication applies there gets NULL in it`
          : `${from}.${column} is GENERATED ALWAYS AS (${r.expr}) STORED on the source, and the mapping copies it to ${to}.${target}: logical replication sends no generated column before PostgreSQL 18, so the full load copies its values but every insert and update replicated after it writes NULL there`,
        handling: `let ${reverse ? 'the source' : 'the target'} compute it: make ${to}.${target} GENERATED ALWAYS AS (${r.expr}) STORED there (ALTER TABLE ${quoteIdent(t.target.schema)}.${quoteIdent(t.target.table)} DROP COLUMN ${quoteIdent(target)}, ADD COLUMN ${quoteIdent(target)} … GENERATED ALWAYS AS (…) STORED) and add a remove-column rule for ${from}.${column} to the ${direction} mapping; or leave the column out (remove-column)`,
      } satisfies Finding;
    });
}
