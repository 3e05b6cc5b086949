import type pg from 'pg';
import { relationOid } from '../postgres/catalog.ts';
import { quoteIdent } from '../mappings/postgres-quote.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';

/**
 * Mapped tables whose filters or mixed expressions read a column that may be stored out of line
 * (TOAST), on a source table without REPLICA IDENTITY FULL. An UPDATE that leaves such a value
 * unchanged reaches logical decoding without it, so the replicator cannot decide the filter or
 * recompute the expression and sends the change to a dead letter (lib/replication/change-applier.ts).
 * Short bounded types (varchar/char up to 255) are left out: PostgreSQL moves the biggest values
 * out of line first, so they practically never are, and the runtime guard catches it if they are.
 */
export async function unsentValueFindings(source: pg.Client, tables: readonly MappedTable[]): Promise<Finding[]> {
  const needed = tables
    .map((t) => ({ t, columns: columnsNeedingValues(t) }))
    .filter((x) => x.columns.length);
  if (!needed.length) return [];
  const { rows } = await source.query<{ rel: string; col: string }>(
    `SELECT x.rel, a.attname AS col
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(rel, col, nsp, tab)
       JOIN pg_class c ON c.oid = ${relationOid('x.nsp', 'x.tab')}
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = x.col
      WHERE c.relreplident <> 'f' AND a.attlen = -1 AND a.attstorage IN ('x', 'e')
        AND (a.atttypmod < 0 OR a.atttypmod - 4 > 255)`,
    [
      needed.flatMap((x) => x.columns.map(() => relation(x.t))),
      needed.flatMap((x) => x.columns),
      needed.flatMap((x) => x.columns.map(() => x.t.source.schema)),
      needed.flatMap((x) => x.columns.map(() => x.t.source.table)),
    ],
  );
  const findings: Finding[] = [];
  for (const { t } of needed) {
    const columns = rows.filter((r) => r.rel === relation(t)).map((r) => r.col).sort();
    if (!columns.length) continue;
    const from = `${t.source.schema}.${t.source.table}`;
    findings.push({
      id: 'filter-on-large-value',
      severity: 'warning',
      table: from,
      count: columns.length,
      sampleKeys: columns.map((column) => ({ column })),
      message: `${from}: the mapping's filters or expressions read ${columns.join(', ')}, which may be stored out of line; an UPDATE leaving such a value unchanged does not carry it`,
      handling: `such changes go to the dead-letter table; run \`ALTER TABLE ${from} REPLICA IDENTITY FULL\` on the source before replicating so every change carries them`,
    });
  }
  return findings;
}

/** Source columns whose value a change must carry for the mapping to apply it. */
function columnsNeedingValues(t: MappedTable): string[] {
  const out = new Set(t.filters.map((f) => f.column));
  for (const c of t.columns) if (c.kind === 'expression' && c.dependsOn.length > 1) for (const d of c.dependsOn) out.add(d);
  return [...out];
}

function relation(t: MappedTable): string {
  return `${quoteIdent(t.source.schema)}.${quoteIdent(t.source.table)}`;
}
