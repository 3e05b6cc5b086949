import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import type { Output } from '../output/output.ts';
import type { SequenceDirection, SequenceSync } from '../platform/roles.ts';
import { sideScope } from '../mappings/index.ts';
import { resolveMappedTables } from '../mappings/mapped-tables.ts';
import { qualified, quoteIdent } from './sql-names.ts';
import { openKitClient } from '../postgres/kit-client.ts';
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

  /**
   * Before the write hold: finds the sequences (the mapping resolved, a catalog look-up per mapped
   * column) and moves them now; the call inside the hold then only reads and moves those.
   */
  async prepare(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    const moves = await this.run(gap, direction, null);
    return moves;
  }

  async syncSequences(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    const cached = this.prepared?.direction === direction ? this.prepared.pairs : null;
    return this.run(gap, direction, cached);
  }

  private async run(gap: number, direction: SequenceDirection, cached: SequencePair[] | null): Promise<SequenceMove[]> {
    const forward = direction === 'forward';
    const readUrl = forward ? this.env.source.url : this.env.target.url;
    const writeUrl = forward ? this.env.target.url : this.env.source.url;
    const readSide = forward ? 'blue' : 'green';
    // both sessions at once (this runs inside the write hold); when one cannot be opened the other is closed
    const [read, write] = await openTogether(open(readUrl), open(writeUrl));
    try {
      // the rollback runs this while blue is fenced (database default read-only): setval must work
      await write.query('set default_transaction_read_only = off');
      const pairs = cached ?? (await this.discover(read, write, direction));
      this.prepared = { direction, pairs };
      const results: SequenceMove[] = [];
      for (const p of pairs) {
        // the two sides' sessions answer side by side
        const [sourceValue, writtenMax] = await Promise.all([highestValue(read, p.readTable, p.readColumn), highestValue(write, p.writeTable, p.writeColumn, { sequence: false })]);
        const targetValue = await raiseSequence(write, p.sequence, Math.max(sourceValue, writtenMax) + gap);
        results.push({ name: p.sequence, sourceValue, targetValue });
        this.out.ok('sequences', `${p.sequence}: ${readSide} ${sourceValue}, ${forward ? 'green' : 'blue'} now ${targetValue}`);
      }
      return results;
    } finally {
      await read.end().catch(() => {});
      await write.end().catch(() => {});
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

/** A sequence of the written side and the columns whose values it must stay above. */
interface SequencePair {
  readonly sequence: string;
  readonly readTable: string;
  /** null: the column is computed by the mapping (no read-side value to stay above). */
  readonly readColumn: string | null;
  readonly writeTable: string;
  readonly writeColumn: string;
}

/** Sets `sequence` to `floor` unless it is already there or above; returns its value after. */
async function raiseSequence(client: pg.Client, sequence: string, floor: number): Promise<number> {
  const { rows } = await client.query<{ v: string | null }>(
    `select last_value::text as v from pg_sequences where (quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass = $1::regclass`,
    [sequence],
  );
  const current = rows[0]?.v == null ? null : Number(rows[0].v);
  if (current !== null && current >= floor) return current;
  const { rows: set } = await client.query<{ v: string }>('select setval($1::regclass, $2::bigint)::text as v', [sequence, floor]);
  return Number(set[0]!.v);
}

/** The column's sequence value (if any, and wanted) or its largest numeric value, whichever is higher. */
async function highestValue(
  client: pg.Client,
  table: string,
  column: string | null,
  options: { sequence: boolean } = { sequence: true },
): Promise<number> {
  if (!column) return 0;
  let value = 0;
  if (options.sequence) {
    const { rows: seq } = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [table, column]);
    if (seq[0]?.seq) {
      const { rows } = await client.query<{ v: string | null }>(
        `select last_value::text as v from pg_sequences where (quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass = $1::regclass`,
        [seq[0].seq],
      );
      value = Number(rows[0]?.v ?? 0);
    }
  }
  const { rows } = await client.query<{ v: string | null; numeric: boolean }>(
    `select max(${quoteIdent(column)})::text as v,
            pg_typeof(max(${quoteIdent(column)}))::text in ('bigint','integer','smallint','numeric') as numeric from ${table}`,
  );
  if (rows[0]?.numeric && rows[0].v !== null) value = Math.max(value, Number(rows[0].v));
  return value;
}

async function open(url: string): Promise<pg.Client> {
  return openKitClient(url, 'cutover-sequences');
}
