import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { SequenceSync } from '../platform/roles.ts';
import { resolveMappedTables } from './mapping-engine.ts';
import { redact } from './replication-slot.ts';
import { qualified, quoteIdent } from './sql-names.ts';

/**
 * At the write switch: every sequence/identity behind a mapped target column is moved above the
 * highest value the source has handed out for the corresponding column (its sequence or its
 * largest key, whichever is higher) plus `gap`, so the first write on the target cannot collide
 * with a replicated key. Only ever moves a sequence forward: running it twice changes nothing.
 */
export class PostgresSequenceSync implements SequenceSync {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
  ) {}

  async syncSequences(gap: number): Promise<{ name: string; sourceValue: number; targetValue: number }[]> {
    const source = await open(this.env.source.url);
    const target = await open(this.env.target.url).catch(async (err) => {
      await source.end();
      throw err;
    });
    try {
      const tables = await resolveMappedTables(source, this.env.source.schemas, this.env.mappingFiles.forward, this.out);
      const results: { name: string; sourceValue: number; targetValue: number }[] = [];
      for (const t of tables) {
        const targetTable = qualified(t.target.schema, t.target.table);
        for (const column of t.columns) {
          const { rows: seqRows } = await target.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [targetTable, column.target]);
          const sequence = seqRows[0]?.seq;
          if (!sequence) continue;
          const sourceValue = await highestSourceValue(source, qualified(t.source.schema, t.source.table), column.kind === 'copy' ? column.source : null);
          const { rows: tmax } = await target.query<{ v: string | null }>(`select max(${quoteIdent(column.target)})::text as v from ${targetTable}`);
          const floor = Math.max(sourceValue, Number(tmax[0]?.v ?? 0)) + gap;
          const { rows } = await target.query<{ v: string }>(
            `select setval($1::regclass, greatest($2::bigint, (select coalesce(last_value, 0) from pg_sequences where (quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass = $1::regclass)))::text as v`,
            [sequence, floor],
          );
          const targetValue = Number(rows[0]!.v);
          results.push({ name: sequence, sourceValue, targetValue });
          this.out.ok('sequences', `${sequence}: source ${sourceValue}, target now ${targetValue}`);
        }
      }
      return results;
    } finally {
      await source.end().catch(() => {});
      await target.end().catch(() => {});
    }
  }
}

/** The source column's sequence value (if any) or its largest value, whichever is higher. */
async function highestSourceValue(
  client: pg.Client,
  table: string,
  column: string | null,
): Promise<number> {
  if (!column) return 0;
  let value = 0;
  const { rows: seq } = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [table, column]);
  if (seq[0]?.seq) {
    const { rows } = await client.query<{ v: string | null }>(
      `select last_value::text as v from pg_sequences where (quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass = $1::regclass`,
      [seq[0].seq],
    );
    value = Number(rows[0]?.v ?? 0);
  }
  const { rows } = await client.query<{ v: string | null; numeric: boolean }>(
    `select max(${quoteIdent(column)})::text as v,
            pg_typeof(max(${quoteIdent(column)}))::text in ('bigint','integer','smallint','numeric') as numeric from ${table}`,
  );
  if (rows[0]?.numeric && rows[0].v !== null) value = Math.max(value, Number(rows[0].v));
  return value;
}

async function open(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw new CutoverError('CONNECTION_FAILED', `cannot connect to ${redact(url)}: ${(err as Error).message}`, {
      fix: 'check the URL, that the server runs, and the credentials',
      cause: err,
    });
  }
  return client;
}
