import type pg from 'pg';
import { quoteLiteral } from '../postgres/sql-names.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';

/**
 * An enum column copied into an enum column whose type lacks some of the source type's labels
 * (`enum-label-missing`, blocker): the full load stops at the first row with one ("invalid input
 * value for enum"), and a row written later with one goes to the dead letters. `lossy-type` only
 * says that a user-defined type must exist identically on the target; this names the labels and
 * the statement that adds them.
 */
export async function enumLabelFindings(source: pg.ClientBase, target: pg.ClientBase, tables: readonly MappedTable[]): Promise<Finding[]> {
  const copied = tables.flatMap((t) => t.columns.flatMap((c) => (c.kind === 'copy' ? [{ t, source: c.source, target: c.target }] : [])));
  if (!copied.length) return [];
  const [from, to] = await Promise.all([
    enumLabels(source, copied.map((x) => [x.t.source.schema, x.t.source.table, x.source])),
    enumLabels(target, copied.map((x) => [x.t.target.schema, x.t.target.table, x.target])),
  ]);
  const findings: Finding[] = [];
  copied.forEach((x, i) => {
    const s = from.get(i);
    const d = to.get(i);
    if (!s || !d) return;
    const missing = s.labels.filter((l) => !d.labels.includes(l));
    if (!missing.length) return;
    const name = `${x.t.source.schema}.${x.t.source.table}`;
    findings.push({
      id: 'enum-label-missing',
      severity: 'blocker',
      table: name,
      count: missing.length,
      sampleKeys: [{ column: x.source }],
      message: `${name}.${x.source} is of enum ${s.type}, whose label(s) ${missing.map(quoteLiteral).join(', ')} the target column ${x.t.target.schema}.${x.t.target.table}.${x.target} (enum ${d.type}) lacks: the full load stops at the first row with one (invalid input value for enum)`,
      handling: `on the target: ${missing.map((l) => `ALTER TYPE ${d.type} ADD VALUE IF NOT EXISTS ${quoteLiteral(l)};`).join('  ')}  (or change-data-type the column to text in the mapping)`,
    });
  });
  return findings;
}

/** By position in `columns` ([schema, table, column]): the column's enum type and its labels, for enum columns. */
async function enumLabels(client: pg.ClientBase, columns: readonly (readonly [string, string, string])[]): Promise<Map<number, { type: string; labels: string[] }>> {
  const { rows } = await client.query<{ i: string; type: string; labels: string[] }>(
    `select x.i, a.atttypid::regtype::text as type, array(select e.enumlabel::text from pg_enum e where e.enumtypid = a.atttypid order by e.enumsortorder) as labels
       from unnest($1::text[], $2::text[], $3::text[]) with ordinality as x(nsp, tab, col, i)
       join pg_namespace n on n.nspname = x.nsp
       join pg_class c on c.relnamespace = n.oid and c.relname = x.tab
       join pg_attribute a on a.attrelid = c.oid and a.attname = x.col and not a.attisdropped
       join pg_type t on t.oid = a.atttypid
      where t.typtype = 'e'`,
    [columns.map((c) => c[0]), columns.map((c) => c[1]), columns.map((c) => c[2])],
  );
  return new Map(rows.map((r) => [Number(r.i) - 1, { type: r.type, labels: r.labels }]));
}
