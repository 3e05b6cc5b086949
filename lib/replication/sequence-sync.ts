import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import type { Output } from '../output/output.ts';
import type { SequenceDirection, SequenceSync } from '../platform/roles.ts';
import { sideScope } from '../mappings/index.ts';
import { resolveMappedTables } from '../mappings/mapped-tables.ts';
import { qualified, quoteIdent } from './sql-names.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { KeptSessions } from '../platform/kept-sessions.ts';
import { openTogether } from '../platform/open-together.ts';

type SequenceMove = { name: string; sourceValue: number; targetValue: number };

/**
 * Moves the sequences/identities of the side that takes writes next above every value the other
 * side handed out, so its first insert cannot collide with a replicated key.
 *
 * `forward` (the write switch): green's sequences above blue's, through the forward mapping.
 * `reverse` (the rollback): blue's sequences above green's, through the reverse mapping (its
 * source is green, its target blue) — green took new rows with ids from its own sequences and
 * reverse replication copied them to blue without touching blue's sequences.
 *
 * For each mapped column whose written-side column owns a sequence, the floor is the highest of
 * the read side's sequence, the read side's largest value of that column and the written side's
 * largest value, plus `gap`. A sequence already at or above the floor is left alone, so running
 * it twice changes nothing and a sequence is never lowered.
 */
export class PostgresSequenceSync implements SequenceSync {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
  ) {}

  /** The pairs found by `prepare`, for the call inside the write hold. */
  private prepared: { direction: SequenceDirection; pairs: SequencePair[] } | null = null;
  /** `prepare`'s two sessions (read side, written side), kept for the call inside the hold. */
  private readonly kept = new KeptSessions<pg.Client, pg.Client>(KEEP_SESSIONS_MS);

  /**
   * Before the write hold: finds the sequences (the mapping resolved, a catalog look-up per mapped
   * column) and moves them now; the call inside the hold then only reads and moves those, on the
   * two sessions this call opened: kept open (at most KEEP_SESSIONS_MS), they spare the hold a
   * connection to each side and a new backend's first look at every table and sequence, which
   * took most of the step (bench/sequence-sync.ts).
   */
  async prepare(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    await this.kept.close();
    return this.run(gap, direction, null, { keep: true, warm: null });
  }

  /** Ends the sessions prepare kept, if the call inside the hold never came (the platform's close). */
  async close(): Promise<void> {
    await this.kept.close();
  }

  async syncSequences(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    const cached = this.prepared?.direction === direction ? this.prepared.pairs : null;
    const warm = this.kept.take(direction);
    if (warm) {
      try {
        return await this.run(gap, direction, cached, { keep: false, warm });
      } catch (err) {
        // a kept session lost since prepare (the server restarted, say): once more on new ones —
        // the sync only ever raises, so a statement that did run before the loss changes nothing
        this.out.info('sequences', `the session kept since prepare failed (${(err as Error).message}): again on new sessions`);
      }
    }
    return this.run(gap, direction, cached, { keep: false, warm: null });
  }

  private async run(gap: number, direction: SequenceDirection, cached: SequencePair[] | null, sessions: { keep: boolean; warm: [pg.Client, pg.Client] | null }): Promise<SequenceMove[]> {
    const forward = direction === 'forward';
    const readUrl = forward ? this.env.source.url : this.env.target.url;
    const writeUrl = forward ? this.env.target.url : this.env.source.url;
    const readSide = forward ? 'blue' : 'green';
    const { warm, keep } = sessions;
    // both sessions at once (this runs inside the write hold); when one cannot be opened the other is closed
    const [read, write] = warm ?? (await openTogether(open(readUrl), open(writeUrl)));
    let kept = false;
    try {
      // the rollback runs this while blue is fenced (database default read-only): setval must work;
      // sent now, it travels while the read side answers
      const unfenced = write.query('set default_transaction_read_only = off');
      unfenced.catch(() => {}); // awaited below
      const pairs = cached ?? (await this.discover(read, write, direction));
      this.prepared = { direction, pairs };
      // one statement per side for every sequence: the read side's values, then the raise
      const [sourceValues] = await Promise.all([readSideValues(read, pairs), unfenced]);
      const targetValues = await raiseSequences(write, pairs, sourceValues, gap);
      const moves = pairs.map((p, i) => {
        const move = { name: p.sequence, sourceValue: sourceValues[i]!, targetValue: targetValues.get(p.sequence)! };
        this.out.ok('sequences', `${p.sequence}: ${readSide} ${move.sourceValue}, ${forward ? 'green' : 'blue'} now ${move.targetValue}`);
        return move;
      });
      if (keep) {
        this.kept.keep(direction, read, write);
        kept = true;
      }
      return moves;
    } finally {
      if (!kept) await Promise.all([read.end().catch(() => {}), write.end().catch(() => {})]);
    }
  }

  /** Every mapped column whose written-side column owns a sequence. */
  private async discover(read: pg.Client, write: pg.Client, direction: SequenceDirection): Promise<SequencePair[]> {
    const forward = direction === 'forward';
    const mappingFile = forward ? this.env.mappingFiles.forward : this.env.mappingFiles.reverse;
    const tables = await resolveMappedTables(read, sideScope(this.env, forward ? 'source' : 'target'), mappingFile, this.out);
    const columns = tables.flatMap((t) => t.columns.map((column) => ({ t, column, writeTable: qualified(t.target.schema, t.target.table) })));
    if (!columns.length) return [];
    // one round trip for every mapped column, in their order (one query per column took most of prepare's time)
    const { rows } = await write.query<{ seq: string | null }>(
      'select pg_get_serial_sequence(t, c) as seq from unnest($1::text[], $2::text[]) with ordinality as x(t, c, n) order by n',
      [columns.map((x) => x.writeTable), columns.map((x) => x.column.target)],
    );
    const pairs: SequencePair[] = [];
    columns.forEach(({ t, column, writeTable }, i) => {
      const sequence = rows[i]?.seq;
      if (!sequence) return;
      pairs.push({ sequence, readTable: qualified(t.source.schema, t.source.table), readColumn: column.kind === 'copy' ? column.source : null, writeTable, writeColumn: column.target });
    });
    return pairs;
  }
}

/** How long `prepare`'s sessions wait for the call inside the hold (the switch makes it within seconds). */
const KEEP_SESSIONS_MS = 120_000;

/** A sequence of the written side and the columns whose values it must stay above. */
interface SequencePair {
  readonly sequence: string;
  readonly readTable: string;
  /** null: the column is computed by the mapping (no read-side value to stay above). */
  readonly readColumn: string | null;
  readonly writeTable: string;
  readonly writeColumn: string;
}

const NUMERIC_TYPES = "('bigint', 'integer', 'smallint', 'numeric')";

/**
 * For each pair, in one statement: the highest of the read-side column's own sequence (as
 * pg_sequences shows it: null, i.e. 0, until first used) and its largest numeric value; 0 when the
 * column is computed by the mapping.
 */
async function readSideValues(client: pg.Client, pairs: readonly SequencePair[]): Promise<number[]> {
  const values = pairs.map(() => 0);
  const params: string[] = [];
  const arms: string[] = [];
  pairs.forEach((p, i) => {
    if (!p.readColumn) return;
    params.push(p.readTable, p.readColumn);
    const [table, column] = [`$${params.length - 1}`, `$${params.length}`];
    const c = quoteIdent(p.readColumn);
    arms.push(`select ${i} as i, m.v, m.numeric,
        (select case when has_sequence_privilege(x.s::oid, 'SELECT,USAGE') then pg_sequence_last_value(x.s) end from (select pg_get_serial_sequence(${table}, ${column})::regclass as s) x)::text as seq
        from (select max(t.${c})::text as v, pg_typeof(max(t.${c}))::text in ${NUMERIC_TYPES} as numeric from ${p.readTable} t) m`);
  });
  if (!arms.length) return values;
  const { rows } = await client.query<{ i: number; v: string | null; numeric: boolean; seq: string | null }>(arms.join('\nunion all\n'), params);
  for (const r of rows) values[Number(r.i)] = Math.max(Number(r.seq ?? 0), r.numeric && r.v !== null ? Number(r.v) : 0);
  return values;
}

/**
 * Every sequence raised to its floor — the highest over its pairs of max(read-side value,
 * written-side column's largest numeric value) + gap — in one statement, unless it is already
 * there: used (is_called) at or above the floor. One not used yet whose next value is above the
 * floor (restarted high) is set to that value, never lowered. Returns each sequence's value after.
 */
async function raiseSequences(client: pg.Client, pairs: readonly SequencePair[], sourceValues: readonly number[], gap: number): Promise<Map<string, number>> {
  const bySequence = new Map<string, string[]>();
  const params: unknown[] = [gap];
  pairs.forEach((p, i) => {
    params.push(sourceValues[i]);
    const c = quoteIdent(p.writeColumn);
    const written = `coalesce((select case when pg_typeof(max(t.${c}))::text in ${NUMERIC_TYPES} then max(t.${c})::text::numeric end from ${p.writeTable} t), 0)`;
    bySequence.set(p.sequence, [...(bySequence.get(p.sequence) ?? []), `greatest($${params.length}::numeric, ${written})`]);
  });
  const names = [...bySequence.keys()];
  if (!names.length) return new Map();
  const arms = names.map((sequence, k) => {
    params.push(sequence);
    const floor = `(greatest(${bySequence.get(sequence)!.join(', ')}) + $1::numeric)::bigint`;
    // the sequence's name comes from pg_get_serial_sequence, quoted as needed
    return `select ${k} as k, (select case when s.is_called and s.last_value >= f.floor then s.last_value
        else setval($${params.length}::regclass, greatest(f.floor, s.last_value)) end from ${sequence} s, (select ${floor} as floor) f)::text as v`;
  });
  const { rows } = await client.query<{ k: number; v: string }>(arms.join('\nunion all\n'), params);
  return new Map(rows.map((r) => [names[Number(r.k)]!, Number(r.v)]));
}

async function open(url: string): Promise<pg.Client> {
  return openKitClient(url, 'cutover-sequences');
}
