import type pg from 'pg';
import { quoteIdent } from '../mappings/postgres-quote.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding, RowKey } from '../platform/roles.ts';
import { SAMPLE_KEYS } from './quality-checks.ts';

interface ForeignKey {
  readonly name: string;
  readonly childSchema: string;
  readonly childTable: string;
  readonly childColumns: string[];
  readonly parentSchema: string;
  readonly parentTable: string;
  readonly parentColumns: string[];
}

/**
 * A selected table whose foreign key points into a table the mapping filters
 * (`filtered-parent-orphans`, a warning). The filter keeps some parent rows off green while the
 * child rows that reference them are still copied, and the full load and every replicated change
 * are applied with `session_replication_role = replica` (as DMS applies them), so green's own
 * foreign key never refuses them: green holds child rows whose parent it does not have, and
 * validation calls that equal (it compares each table through its mapping). Found with accounts
 * filtered on `region <> 'test'` and their orders selected whole: the orders of the test accounts
 * reached green, and green's app failed on them after the switch. The count is the source's rows
 * now; rows written later are not counted.
 */
export async function filteredParentFindings(source: pg.ClientBase, tables: readonly MappedTable[]): Promise<Finding[]> {
  const filtered = tables.filter((t) => t.filterSql);
  if (!filtered.length) return [];
  const byName = new Map(tables.map((t) => [`${t.source.schema}.${t.source.table}`, t]));
  const schemas = [...new Set(tables.map((t) => t.source.schema))];
  const { rows: keys } = await source.query<ForeignKey>(
    `select con.conname as name, cn.nspname as "childSchema", cc.relname as "childTable", pn.nspname as "parentSchema", pc.relname as "parentTable",
            array(select a.attname::text from unnest(con.conkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.i) as "childColumns",
            array(select a.attname::text from unnest(con.confkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.i) as "parentColumns"
       from pg_constraint con
       join pg_class cc on cc.oid = con.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
       join pg_class pc on pc.oid = con.confrelid join pg_namespace pn on pn.oid = pc.relnamespace
      where con.contype = 'f' and con.conparentid = 0 and cn.nspname = any($1::text[])
      order by 2, 3, 1`,
    [schemas],
  );
  const findings: Finding[] = [];
  for (const fk of keys) {
    const child = byName.get(`${fk.childSchema}.${fk.childTable}`);
    const parent = byName.get(`${fk.parentSchema}.${fk.parentTable}`);
    if (!child || !parent?.filterSql) continue;
    const childRelation = `${quoteIdent(fk.childSchema)}.${quoteIdent(fk.childTable)}`;
    const parentRelation = `${quoteIdent(fk.parentSchema)}.${quoteIdent(fk.parentTable)}`;
    const join = fk.childColumns.map((c, i) => `p.${quoteIdent(fk.parentColumns[i]!)} = c.${quoteIdent(c)}`).join(' and ');
    // the parent's filter is over its own column names, which the inner scope (p) resolves first;
    // a row the filter does not keep is one whose filter is false or NULL
    const orphans = `from ${childRelation} c where ${child.filterSql ? `(${child.filterSql}) and ` : ''}exists (select 1 from ${parentRelation} p where ${join} and not coalesce((${parent.filterSql}), false))`;
    const keyColumns = child.primaryKey.length ? child.primaryKey : fk.childColumns;
    const [{ n }] = (await source.query<{ n: string }>(`select count(*) as n ${orphans}`)).rows as [{ n: string }];
    if (Number(n) === 0) continue;
    const samples = await source.query<RowKey>(`select ${keyColumns.map((c) => `c.${quoteIdent(c)}`).join(', ')} ${orphans} order by ${keyColumns.map((c) => `c.${quoteIdent(c)}`).join(', ')} limit ${SAMPLE_KEYS}`);
    const childName = `${fk.childSchema}.${fk.childTable}`;
    const parentName = `${fk.parentSchema}.${fk.parentTable}`;
    findings.push({
      id: 'filtered-parent-orphans',
      severity: 'warning',
      table: childName,
      count: Number(n),
      sampleKeys: samples.rows.map((r) => ({ ...r })),
      message: `${n} row(s) of ${childName} reference (foreign key ${fk.name}: ${fk.childColumns.join(', ')}) rows of ${parentName} that the mapping's filter leaves out (${parent.filterSql}): they are copied to ${child.target.schema}.${child.target.table} without their parent, which green's foreign key does not stop (replicated rows are applied with session_replication_role = replica), and validation compares each table alone`,
      handling: `give ${childName} a filter that leaves out the same rows (DMS filters one table's own columns: select the children by a column they carry, or leave the parent unfiltered), or accept child rows without a parent on green`,
    });
  }
  return findings;
}
