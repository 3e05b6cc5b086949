import type pg from 'pg';
import { relationOid } from '../postgres/catalog.ts';
import { quoteIdent } from '../mappings/postgres-quote.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';

/** Rows looked at to say "at least N": enough to tell a stray row from a loaded table, cheap on any size. */
const ROW_PROBE = 1000;

/**
 * What the target already holds that replication would collide with, before any slot exists:
 * - a mapped target table with rows (`target-not-empty`, blocker): the full load copies every
 *   source row into it and stops at the first duplicate key — unless `keep` names it
 *   (`assess.keepTargetRows`) or the rows are the kit's own (its control schema records a
 *   forward load into this database, e.g. assess re-run after replication);
 * - a target column the mapping writes but the database computes (`target-column-generated`,
 *   blocker): see writtenGeneratedFindings.
 */
export async function targetStateFindings(target: pg.ClientBase, tables: readonly MappedTable[], keep: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const kitLoaded = await kitLoadedHere(target);
  const mappedTargets = new Set(tables.map((t) => `${t.target.schema}.${t.target.table}`));
  for (const name of keep) {
    if (!mappedTargets.has(name)) {
      findings.push({
        id: 'keep-target-rows-unknown',
        severity: 'warning',
        count: 1,
        sampleKeys: [],
        message: `assess.keepTargetRows names ${name}, which the forward mapping does not fill`,
        handling: `use a target table name (schema.table) the mapping fills: ${[...mappedTargets].join(', ') || '(none)'}`,
      });
    }
  }
  for (const t of tables) {
    const name = `${t.target.schema}.${t.target.table}`;
    const from = `${t.source.schema}.${t.source.table}`;
    const found = (
      await target.query<{ oid: string | null; readable: boolean | null }>(
        // has_schema_privilege raises on a schema that does not exist: asked only of a table that does
        `select r.oid::text as oid, case when r.oid is not null then has_schema_privilege($1, 'USAGE') and has_table_privilege(r.oid, 'SELECT') end as readable from (select ${relationOid('$1', '$2')} as oid) r`,
        [t.target.schema, t.target.table],
      )
    ).rows[0];
    const exists = found?.oid;
    if (!exists) continue; // target-table-missing says so
    findings.push(...(await writtenGeneratedFindings(target, t, exists)));
    if (!found.readable) continue; // target-schema-privilege / target-write-privilege say so; a re-run after the GRANT counts the rows
    const probe = await target.query<{ n: number }>(`select count(*)::int as n from (select 1 from ${quoteIdent(t.target.schema)}.${quoteIdent(t.target.table)} limit ${ROW_PROBE + 1}) x`);
    const rows = probe.rows[0]!.n;
    if (!rows) continue;
    const atLeast = rows > ROW_PROBE ? `more than ${ROW_PROBE}` : String(rows);
    if (keep.includes(name) || kitLoaded) {
      findings.push({
        id: 'target-not-empty',
        severity: 'info',
        table: from,
        count: rows,
        sampleKeys: [],
        message: `${name} already has ${atLeast} row(s)`,
        handling: kitLoaded ? "loaded by the kit's own replication into this target (its _cutover schema records the load)" : 'kept on purpose (assess.keepTargetRows): a source row with the same key makes the full load fail',
      });
      continue;
    }
    findings.push({
      id: 'target-not-empty',
      severity: 'blocker',
      table: from,
      count: rows,
      sampleKeys: [],
      message: `${name} already has ${atLeast} row(s): the full load copies every source row of ${from} into it and stops at the first duplicate key`,
      handling: `empty it on the target (TRUNCATE ${quoteIdent(t.target.schema)}.${quoteIdent(t.target.table)}) before \`cutover snapshot\`, or, if its rows must stay, list "${name}" in assess.keepTargetRows`,
    });
  }
  return findings;
}

/** True when the kit's control schema on this database records a forward load (the rows are the kit's). */
async function kitLoadedHere(target: pg.ClientBase): Promise<boolean> {
  // one this role may not read (another role's: assess reports it, target-kit-schema-privilege) records nothing for it
  const exists = (
    await target.query<{ x: boolean }>(
      // by oid from the catalog: resolving the name '_cutover.load_state' (to_regclass) already fails without USAGE
      `select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                       where n.nspname = '_cutover' and c.relname = 'load_state'
                         and has_schema_privilege(n.oid, 'USAGE') and has_table_privilege(c.oid, 'SELECT')) as x`,
    )
  ).rows[0]!.x;
  if (!exists) return false;
  return ((await target.query(`select 1 from _cutover.load_state where direction = 'forward' limit 1`)).rowCount ?? 0) > 0;
}

/**
 * A column the mapping writes but the database it writes into computes (`target-column-generated`,
 * or `reverse-target-column-generated` for the reverse mapping writing into blue; blockers):
 * `GENERATED ALWAYS AS (…) STORED` refuses every written value; an identity `GENERATED ALWAYS`
 * column refuses updates, which the kit's apply makes to every non-key column (a key column is
 * written through COPY and `OVERRIDING SYSTEM VALUE`, which it accepts). In the reverse direction
 * every change green takes to that table after the write switch becomes a dead letter on blue, and
 * a rollback then stops (found by trial6: a reverse mapping that kept order_line.amount, computed
 * on blue: every order line green acknowledged was refused by blue).
 */
export async function writtenGeneratedFindings(db: pg.ClientBase, t: MappedTable, oid: string, direction: 'forward' | 'reverse' = 'forward'): Promise<Finding[]> {
  const findings: Finding[] = [];
  const name = `${t.target.schema}.${t.target.table}`;
  const from = `${t.source.schema}.${t.source.table}`;
  const reverse = direction === 'reverse';
  const id = reverse ? 'reverse-target-column-generated' : 'target-column-generated';
  const where = reverse ? 'on blue (the source)' : 'on the target';
  const writer = reverse ? 'the reverse mapping' : 'the mapping';
  const generated = await db.query<{ name: string; generated: string; identity: string; expr: string | null }>(
    `select a.attname::text as name, a.attgenerated::text as generated, a.attidentity::text as identity,
            pg_get_expr(d.adbin, d.adrelid) as expr
       from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped and (a.attgenerated = 's' or a.attidentity = 'a')`,
    [oid],
  );
  const written = new Set(t.columns.map((c) => c.target));
  const key = new Set(t.targetPrimaryKey);
  const after = reverse ? ': after the write switch every change green takes to it is refused by blue (a dead letter), and a rollback stops' : '';
  for (const g of generated.rows) {
    if (!written.has(g.name)) continue;
    if (g.generated !== 's' && key.has(g.name)) continue; // identity ALWAYS key: COPY / OVERRIDING SYSTEM VALUE write it
    const source = t.columns.find((c) => c.target === g.name);
    const sourceName = source?.kind === 'copy' ? source.source : g.name;
    const mapping = reverse ? 'reverse' : 'forward';
    findings.push(
      g.generated === 's'
        ? {
            id,
            severity: 'blocker',
            table: from,
            count: 1,
            sampleKeys: [{ column: g.name }],
            message: `${name}.${g.name} is GENERATED ALWAYS AS (${g.expr ?? '…'}) STORED ${where}, and ${writer} writes it: every row fails with ${reverse ? `'cannot insert a non-DEFAULT value into column "${g.name}"'` : `'column "${g.name}" is a generated column'`}${after}`,
            handling: `let ${reverse ? 'blue' : 'the target'} compute it: add a remove-column rule for ${from}.${sourceName} to the ${mapping} mapping (or make ${name}.${g.name} a plain column)`,
          }
        : {
            id,
            severity: 'blocker',
            table: from,
            count: 1,
            sampleKeys: [{ column: g.name }],
            message: `${name}.${g.name} is an identity GENERATED ALWAYS column ${where}, not in its key, and ${writer} writes it: every replicated update fails with 'column "${g.name}" can only be updated to DEFAULT'${after}`,
            handling: `ALTER TABLE ${quoteIdent(t.target.schema)}.${quoteIdent(t.target.table)} ALTER COLUMN ${quoteIdent(g.name)} SET GENERATED BY DEFAULT ${reverse ? 'on blue' : 'on the target (the write switch moves its sequence above the source\'s values)'}, or remove the column from the ${mapping} mapping`,
          },
    );
  }
  return findings;
}
