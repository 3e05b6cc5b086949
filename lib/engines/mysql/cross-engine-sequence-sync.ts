import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../../config/load.ts';
import { loadTableMappings } from '../../mappings/index.ts';
import { resolveSelected, schemasToRead, sideScope } from '../../mappings/mapped-schemas.ts';
import type { Output } from '../../output/output.ts';
import type { SequenceDirection, SequenceSync } from '../../platform/roles.ts';
import { openKitClient } from '../../postgres/kit-client.ts';
import { KeptSessions } from '../../platform/kept-sessions.ts';
import { openTogether } from '../../platform/open-together.ts';
import { readMysqlCatalog } from './mysql-catalog.ts';
import { connectMysql, mysqlRows } from './mysql-connection.ts';

type SequenceMove = { name: string; sourceValue: number; targetValue: number };

/** One mapped column whose green column owns a sequence (or identity). */
interface SequencedColumn {
  readonly blueSchema: string;
  readonly blueTable: string;
  readonly blueColumn: string;
  /** `"schema"."table"` on green. */
  readonly greenTable: string;
  readonly greenColumn: string;
  /** The sequence, as pg_get_serial_sequence names it. */
  readonly sequence: string;
}

const q = (n: string) => '`' + n.replace(/`/g, '``') + '`';
const pq = (n: string) => '"' + n.replace(/"/g, '""') + '"';

/**
 * Sequences between a MySQL-family blue (AUTO_INCREMENT) and a PostgreSQL green (sequences and
 * identities), through the forward mapping's table and column names. AWS DMS migrates neither.
 *
 * `forward` (the write switch): every green sequence owned by a mapped column moves to at least
 * max(the blue table's AUTO_INCREMENT, max(id) + 1, green's own max(id) + 1) + gap.
 * `reverse` (the rollback): blue's AUTO_INCREMENT moves to at least max(green's sequence value,
 * green's max(id)) + 1 + gap with `ALTER TABLE … AUTO_INCREMENT`.
 *
 * The write switch holds writes while it runs, so it is cut short: `prepare()` (before the hold)
 * resolves the mapping against blue's catalog, finds green's sequences and already moves them
 * above blue's current values (safe: until the flip green hands out no id, and a sequence only
 * ever goes up, leaving a gap); inside the hold `syncSequences` is one statement on blue (every
 * table's AUTO_INCREMENT and max(id)) and one on green (each sequence raised only where blue moved
 * past it since).
 *
 * Neither ever lowers: PostgreSQL sequences are compared before setval, and InnoDB would lower
 * AUTO_INCREMENT to max(id)+1 if asked, so the current value is read first — on MySQL 8 with
 * `information_schema_stats_expiry = 0`, since INFORMATION_SCHEMA.TABLES caches AUTO_INCREMENT
 * (24 h by default). Running either twice changes nothing.
 */
export class CrossEngineSequenceSync implements SequenceSync {
  private columns: Promise<readonly SequencedColumn[]> | null = null;
  /** `prepare`'s two sessions, kept for the call inside the hold (no connecting there; green's backend knows the tables). */
  private readonly kept = new KeptSessions<mysql.Connection, pg.Client>(120_000);

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
  ) {}

  /** Before the write hold: the columns to move, found once, and green already above blue's values now; its sessions are kept for the hold. */
  async prepare(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    this.columns = null;
    await this.kept.close();
    return this.sync(gap, direction, { keep: true, warm: null });
  }

  /** Ends the sessions prepare kept, if the call inside the hold never came (the platform's close). */
  async close(): Promise<void> {
    await this.kept.close();
  }

  async syncSequences(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    const warm = this.kept.take(direction);
    if (warm) {
      try {
        return await this.sync(gap, direction, { keep: false, warm });
      } catch (err) {
        // a kept session lost since prepare: once more on new ones (the sync only raises, a repeat changes nothing)
        this.out.info('sequences', `the session kept since prepare failed (${(err as Error).message}): again on new sessions`);
      }
    }
    return this.sync(gap, direction, { keep: false, warm: null });
  }

  private async sync(gap: number, direction: SequenceDirection, sessions: { keep: boolean; warm: [mysql.Connection, pg.Client] | null }): Promise<SequenceMove[]> {
    // both sessions at once (this runs inside the write hold); when one cannot be opened the other is closed
    const [blue, green] = sessions.warm ?? (await openTogether(connectMysql(this.env.source.url, 'source'), openKitClient(this.env.target.url, 'cutover-sequences')));
    let kept = false;
    try {
      // MySQL 8 caches INFORMATION_SCHEMA.TABLES.AUTO_INCREMENT; MariaDB has no such variable
      await blue.query('SET SESSION information_schema_stats_expiry = 0').catch(() => {});
      const g = green;
      this.columns ??= this.sequencedColumns(blue, g);
      const columns = await this.columns.catch((err: unknown) => {
        this.columns = null;
        throw err;
      });
      if (!columns.length) return [];
      const blueValues = await readBlueValues(blue, columns);
      const moves = direction === 'forward' ? await this.forward(g, columns, blueValues, gap) : await this.reverse(blue, g, columns, blueValues, gap);
      if (sessions.keep) {
        this.kept.keep(direction, blue, green);
        kept = true;
      }
      return moves;
    } finally {
      if (!kept) await Promise.all([blue.end().catch(() => {}), green.end().catch(() => {})]);
    }
  }

  /** The mapped copied columns whose green column owns a sequence: the mapping resolved against blue's catalog, one statement on green. */
  private async sequencedColumns(blue: mysql.Connection, green: pg.Client): Promise<SequencedColumn[]> {
    const doc = await loadTableMappings(this.env.mappingFiles.forward);
    const schemas = schemasToRead(doc, sideScope(this.env, 'source'));
    const catalog = await readMysqlCatalog(blue, schemas);
    const candidates = resolveSelected(doc, catalog, schemas, 'source').tables.flatMap((t) =>
      t.columns.flatMap((c) => (c.kind === 'copy' ? [{ blueSchema: t.source.schema, blueTable: t.source.table, blueColumn: c.source, greenTable: `${pq(t.target.schema)}.${pq(t.target.table)}`, greenColumn: c.target }] : [])),
    );
    if (!candidates.length) return [];
    const { rows } = await green.query<{ i: number; seq: string | null }>(
      'SELECT u.i, pg_get_serial_sequence(u.t, u.c) AS seq FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(t, c, i)',
      [candidates.map((c) => c.greenTable), candidates.map((c) => c.greenColumn)],
    );
    return rows.filter((r) => r.seq).map((r) => ({ ...candidates[Number(r.i) - 1]!, sequence: r.seq! }));
  }

  /** Green's sequences above blue's next id and green's own max(id), plus the gap: one statement, setval only where below. */
  private async forward(green: pg.Client, columns: readonly SequencedColumn[], blue: readonly BlueValues[], gap: number): Promise<SequenceMove[]> {
    const params: unknown[] = [];
    const arms = columns.map((c, i) => {
      // blue's next id is max(AUTO_INCREMENT, max+1): green's next one starts above it
      const blueNext = Math.max(blue[i]!.autoIncrement ?? 0, blue[i]!.max + 1);
      params.push(c.sequence, blueNext, gap);
      const [seq, next, g] = [params.length - 2, params.length - 1, params.length].map((n) => `$${n}`);
      const floor = `GREATEST(${next}::bigint, COALESCE((SELECT max(${pq(c.greenColumn)}) FROM ${c.greenTable}), 0)::bigint + 1) + ${g}::bigint`;
      return `SELECT ${i} AS i, ${next}::bigint - 1 AS blue, (SELECT CASE WHEN s.is_called AND s.last_value >= ${floor} THEN s.last_value ELSE setval(${seq}::regclass, GREATEST(${floor}, s.last_value)) END FROM ${c.sequence} s)::text AS v`;
    });
    const { rows } = await green.query<{ i: number; blue: string; v: string }>(arms.join('\nUNION ALL\n'), params);
    return rows
      .sort((a, b) => Number(a.i) - Number(b.i))
      .map((r) => {
        const c = columns[Number(r.i)]!;
        const move = { name: c.sequence, sourceValue: Number(r.blue), targetValue: Number(r.v) };
        this.out.ok('sequences', `${c.sequence}: blue next ${move.sourceValue + 1}, green now ${move.targetValue}`);
        return move;
      });
  }

  /** Blue's AUTO_INCREMENT above what green handed out: green read in one statement, one ALTER per table that is below. */
  private async reverse(blue: mysql.Connection, green: pg.Client, columns: readonly SequencedColumn[], blueValues: readonly BlueValues[], gap: number): Promise<SequenceMove[]> {
    const arms = columns.map(
      (c, i) =>
        `SELECT ${i} AS i, (SELECT max(${pq(c.greenColumn)})::text FROM ${c.greenTable}) AS m, (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ${c.sequence})::text AS seq`,
    );
    const { rows } = await green.query<{ i: number; m: string | null; seq: string | null }>(arms.join('\nUNION ALL\n'));
    const results: SequenceMove[] = [];
    for (const r of rows.sort((a, b) => Number(a.i) - Number(b.i))) {
      const c = columns[Number(r.i)]!;
      const autoIncrement = blueValues[Number(r.i)]!.autoIncrement;
      if (autoIncrement === null) continue;
      const greenHigh = Math.max(Number(r.seq ?? 0), Number(r.m ?? 0));
      const floor = greenHigh + 1 + gap;
      if (autoIncrement < floor) await blue.query(`ALTER TABLE ${q(c.blueSchema)}.${q(c.blueTable)} AUTO_INCREMENT = ${Math.trunc(floor)}`);
      const [now] = await mysqlRows<{ ai: string | number }>(blue, 'SELECT AUTO_INCREMENT AS ai FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [c.blueSchema, c.blueTable]);
      const targetValue = Number(now?.ai ?? autoIncrement);
      results.push({ name: `${c.blueSchema}.${c.blueTable}.${c.blueColumn} AUTO_INCREMENT`, sourceValue: greenHigh, targetValue });
      this.out.ok('sequences', `${c.blueSchema}.${c.blueTable}: green handed out ${greenHigh}, blue AUTO_INCREMENT now ${targetValue}`);
    }
    return results;
  }
}

interface BlueValues {
  /** The table's AUTO_INCREMENT when the column is its AUTO_INCREMENT column, else null. */
  readonly autoIncrement: number | null;
  /** max(column), 0 for an empty table. */
  readonly max: number;
}

/** Every column's AUTO_INCREMENT (when it is the table's AUTO_INCREMENT column) and max(), in one statement. */
async function readBlueValues(blue: mysql.Connection, columns: readonly SequencedColumn[]): Promise<BlueValues[]> {
  const params: unknown[] = [];
  const arms = columns.map((c, i) => {
    params.push(c.blueSchema, c.blueTable, c.blueColumn);
    return `SELECT ${i} AS i,
        (SELECT IF(col.EXTRA LIKE '%auto_increment%', t.AUTO_INCREMENT, NULL) FROM information_schema.TABLES t
           JOIN information_schema.COLUMNS col ON col.TABLE_SCHEMA = t.TABLE_SCHEMA AND col.TABLE_NAME = t.TABLE_NAME
          WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ? AND col.COLUMN_NAME = ?) AS ai,
        (SELECT MAX(${q(c.blueColumn)}) FROM ${q(c.blueSchema)}.${q(c.blueTable)}) AS m`;
  });
  const rows = await mysqlRows<{ i: number | string; ai: string | number | null; m: string | number | null }>(blue, arms.join('\nUNION ALL\n'), params);
  const out: BlueValues[] = [];
  for (const r of rows) out[Number(r.i)] = { autoIncrement: r.ai == null ? null : Number(r.ai), max: Number(r.m ?? 0) };
  return out;
}
