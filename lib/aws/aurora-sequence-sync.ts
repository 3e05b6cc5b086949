import type { Output } from '../output/output.ts';
import { CutoverError } from '../errors.ts';
import type { SequenceDirection, SequenceSync, Side } from '../platform/roles.ts';
import type { AwsDatabaseEndpoints } from './aws-database-endpoints.ts';
import type { SqlRunner } from './sql-runner.ts';

type SequenceMove = { name: string; sourceValue: number; targetValue: number };

/**
 * Every sequence of a database with the value it handed out, and the `schema.table` / column
 * that owns it (serial or identity), when one does.
 */
const LIST_SEQUENCES = `
  select quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) as name,
         coalesce(s.last_value, s.start_value)::text as value,
         quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) as owner_table,
         quote_ident(a.attname) as owner_column
    from pg_sequences s
    join pg_namespace sn on sn.nspname = s.schemaname
    join pg_class sc on sc.relnamespace = sn.oid and sc.relname = s.sequencename
    left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = sc.oid
         and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0 and d.deptype in ('a', 'i')
    left join pg_class tc on tc.oid = d.refobjid
    left join pg_namespace tn on tn.oid = tc.relnamespace
    left join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid`;

/**
 * `SequenceSync` for PostgreSQL-family blue and green, over the same connections as the fence.
 * Sequences are matched by `schema.name` on both sides (renamed tables keep their sequence name
 * only if the mapping does); one only on one side is reported, not guessed.
 *
 * `forward` (the switch): every green sequence moves to blue's value + gap. `reverse` (the
 * rollback): every blue sequence moves above green's value — the higher of green's sequence and
 * the largest id in the column that owns it — plus gap, because reverse replication copied
 * green's new rows to blue without advancing blue's sequences. Never lowered: `greatest` with the
 * sequence's own value. The written side may be fenced (read-only default) when this runs: the
 * session turns that off for itself.
 */
export class AuroraSequenceSync implements SequenceSync {
  constructor(
    private readonly endpoints: AwsDatabaseEndpoints,
    private readonly out: Output,
    /** A MySQL-family blue: the engine's AUTO_INCREMENT ⇄ sequence sync over the endpoints' URLs. */
    private readonly mysqlBlue?: () => Promise<SequenceSync>,
  ) {}

  async syncSequences(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    if (this.endpoints.family('blue') !== 'postgres' && this.mysqlBlue) return (await this.mysqlBlue()).syncSequences(gap, direction);
    if (this.endpoints.family('blue') !== 'postgres') {
      throw new CutoverError('NOT_SUPPORTED', `sequence sync (${direction}) with a MySQL-family blue is not implemented (AUTO_INCREMENT has no sequence objects)`, {
        fix:
          direction === 'forward'
            ? 'set green identities by hand: select setval(...) above max(id) + gap for each table, then re-run `cutover switch`'
            : 'raise blue by hand: ALTER TABLE <t> AUTO_INCREMENT = <green max(id) + gap> for each table, then re-run `cutover rollback`',
      });
    }
    const from: Side = direction === 'forward' ? 'blue' : 'green';
    const to: Side = direction === 'forward' ? 'green' : 'blue';
    const readDb = await this.endpoints.connect(from);
    let readValues: Map<string, number>;
    try {
      readValues = new Map();
      for (const r of await readDb.query(LIST_SEQUENCES)) {
        // forward keeps today's contract (blue's sequence value); reverse also counts green's ids
        const value = direction === 'reverse' ? Math.max(Number(r.value), await ownerMax(readDb, r)) : Number(r.value);
        readValues.set(String(r.name), Math.max(value, readValues.get(String(r.name)) ?? 0));
      }
    } finally {
      await readDb.close();
    }
    const writeDb = await this.endpoints.connect(to);
    const moved: SequenceMove[] = [];
    try {
      await writeDb.query('SET default_transaction_read_only = off');
      const seen = new Set<string>();
      const raise: { name: string; sourceValue: number; current: number }[] = [];
      for (const r of await writeDb.query(LIST_SEQUENCES)) {
        const name = String(r.name);
        if (seen.has(name)) continue;
        seen.add(name);
        const sourceValue = readValues.get(name);
        if (sourceValue === undefined) {
          this.out.info('sequences', `${name} exists on ${to} only: left as is`);
          continue;
        }
        raise.push({ name, sourceValue, current: Number(r.value) });
      }
      if (raise.length) {
        // every setval in one statement (one round trip to the database, inside the write hold), in list order
        const rows = await writeDb.query(
          'select x.n, setval(x.s::regclass, greatest(x.f, x.v))::text as value from unnest($1::text[], $2::bigint[], $3::bigint[]) with ordinality as x(s, f, v, n) order by x.n',
          [raise.map((r) => r.name), raise.map((r) => r.sourceValue + gap), raise.map((r) => r.current)],
        );
        raise.forEach((r, i) => moved.push({ name: r.name, sourceValue: r.sourceValue, targetValue: Number(rows[i]?.value) }));
      }
    } finally {
      await writeDb.close();
    }
    this.out.ok('sequences', `${moved.length} ${to} sequence(s) above ${from} + ${gap}`);
    return moved;
  }
}

/** The largest numeric value in the column that owns a listed sequence (0 when none). */
async function ownerMax(db: SqlRunner, row: Record<string, unknown>): Promise<number> {
  if (!row.owner_table || !row.owner_column) return 0;
  // both names come quoted from quote_ident above
  const col = String(row.owner_column);
  const rows = await db.query(
    `select max(${col})::text as v, pg_typeof(max(${col}))::text in ('bigint','integer','smallint','numeric') as numeric from ${String(row.owner_table)}`,
  );
  return rows[0]?.numeric && rows[0].v != null ? Number(rows[0].v) : 0;
}
