import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import { openApplySession } from './apply-session.ts';
import { CopyRowTransform } from './copy-text.ts';
import { sourceName } from '../mappings/mapped-tables.ts';
import { qualified, quoteIdent, quoteLiteral } from './sql-names.ts';
import { loadLaneOrigin } from './stream-names.ts';
import { KIT_SESSION_OPTIONS } from '../postgres/kit-session.ts';
import type { Throttler } from '../platform/roles.ts';
import { openTogether } from '../platform/open-together.ts';
import { loadRefusal } from './load-refusal.ts';

/**
 * Full load: every mapped table split into key-range chunks (the plan is stored on the apply
 * side), chunks copied by `parallel` lanes. Each lane reads in the one exported snapshot and
 * commits a chunk's rows together with its `done` mark, so after a kill -9 only unfinished chunks
 * are loaded again and none twice.
 *
 * When every column and filter has a PostgreSQL form, the source does the mapping inside
 * `COPY (SELECT …) TO STDOUT` and bytes flow straight into `COPY … FROM STDIN`; otherwise rows
 * pass through the mapping's RowTransformer in JavaScript.
 */
export interface FullLoadTable {
  readonly table: MappedTable;
  readonly transformer: RowTransformer;
}

export interface SourceTableShape {
  readonly columns: readonly string[];
  readonly keyTypes: readonly string[];
}

export interface FullLoadOptions {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly slot: string;
  /** Lane origins are `loadLaneOrigin(originBase, lane)`. */
  readonly originBase: string;
  readonly tables: readonly FullLoadTable[];
  readonly parallel: number;
  readonly chunkRows: number;
  /** Exported snapshot every lane imports. */
  readonly snapshotName: string;
  readonly signal: AbortSignal;
  /** Paces the chunk reads on the source against blue's health. @default - none: they never wait */
  readonly throttler?: Throttler;
  onChunkDone(sourceTable: string, rows: number): void;
  onChunkStart?(sourceTable: string): void;
}

export interface ChunkRow {
  source_table: string;
  chunk: number;
  lower_key: string[] | null;
  upper_key: string[] | null;
}

export async function readSourceShape(client: pg.ClientBase, table: MappedTable): Promise<SourceTableShape> {
  const { rows } = await client.query<{ name: string; type: string }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
       from pg_attribute a where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [qualified(table.source.schema, table.source.table)],
  );
  const types = new Map(rows.map((r) => [r.name, r.type]));
  return { columns: rows.map((r) => r.name), keyTypes: table.primaryKey.map((k) => types.get(k) ?? 'text') };
}

/** True when the source can produce target rows itself (no per-row JavaScript). */
export function sqlMappable(table: MappedTable): boolean {
  return table.columns.every((c) => c.kind === 'copy' || c.postgresSql !== null) && (table.filters.length === 0 || table.filterSql !== null);
}

function keyRangeSql(table: MappedTable, shape: SourceTableShape, lower: string[] | null, upper: string[] | null): string[] {
  const cols = table.primaryKey.map(quoteIdent);
  const tuple = (vals: string[]) => vals.map((v, i) => `${quoteLiteral(v)}::${shape.keyTypes[i]}`);
  const lhs = cols.length === 1 ? cols[0]! : `(${cols.join(', ')})`;
  const rhs = (vals: string[]) => (cols.length === 1 ? tuple(vals)[0]! : `(${tuple(vals).join(', ')})`);
  const out: string[] = [];
  if (lower) out.push(`${lhs} >= ${rhs(lower)}`);
  if (upper) out.push(`${lhs} < ${rhs(upper)}`);
  return out;
}

/**
 * Picks key boundaries about every `chunkRows` rows and stores the plan on the apply side. An
 * analyzed table with a one-column key is split at its `pg_stats` histogram bounds (no scan);
 * otherwise the keys are counted and numbered in the snapshot. Planned row counts are estimates
 * until each chunk is loaded.
 */
export async function planChunks(
  source: pg.ClientBase,
  target: pg.ClientBase,
  slot: string,
  tables: readonly MappedTable[],
  chunkRows: number,
): Promise<void> {
  const plan: { table: string; chunk: number; lower: string[] | null; upper: string[] | null; total: number }[] = [];
  for (const table of tables) {
    const { bounds, total } = await chunkBounds(source, table, chunkRows);
    const edges: (string[] | null)[] = [null, ...bounds, null];
    const per = Math.round(total / (edges.length - 1));
    for (let i = 0; i < edges.length - 1; i++) {
      plan.push({ table: sourceName(table), chunk: i, lower: edges[i]!, upper: edges[i + 1]!, total: per });
    }
  }
  await target.query('begin');
  try {
    await target.query('delete from _cutover.load_chunk where slot = $1', [slot]);
    for (const p of plan) {
      await target.query(
        'insert into _cutover.load_chunk (slot, source_table, chunk, lower_key, upper_key, total_rows) values ($1, $2, $3, $4, $5, $6)',
        [slot, p.table, p.chunk, p.lower, p.upper, p.total],
      );
    }
    await target.query('update _cutover.load_state set planned = true where slot = $1', [slot]);
    await target.query('commit');
  } catch (err) {
    await target.query('rollback').catch(() => {});
    throw err;
  }
}

async function chunkBounds(source: pg.ClientBase, table: MappedTable, chunkRows: number): Promise<{ bounds: string[][]; total: number }> {
  const from = qualified(table.source.schema, table.source.table);
  const where = table.filterSql ? `where ${table.filterSql}` : '';
  const { rows: est } = await source.query<{ n: number }>('select reltuples::float8 as n from pg_class where oid = $1::regclass', [from]);
  const estimate = est[0]?.n ?? -1;
  if (estimate >= 0 && estimate <= chunkRows / 2) return { bounds: [], total: Math.round(estimate) };
  if (estimate > 0 && table.primaryKey.length === 1 && !table.filterSql) {
    const { rows } = await source.query<{ b: string[] | null }>(
      'select histogram_bounds::text::text[] as b from pg_stats where schemaname = $1 and tablename = $2 and attname = $3',
      [table.source.schema, table.source.table, table.primaryKey[0]],
    );
    const hist = rows[0]?.b;
    if (hist && hist.length > 2) {
      if (estimate <= chunkRows) return { bounds: [], total: Math.round(estimate) };
      const perBucket = estimate / (hist.length - 1);
      const step = Math.max(1, Math.round(chunkRows / perBucket));
      const bounds: string[][] = [];
      for (let i = step; i < hist.length - 1; i += step) bounds.push([hist[i]!]);
      return { bounds, total: Math.round(estimate) };
    }
  }
  const { rows } = await source.query<{ n: string }>(`select count(*)::text as n from ${from} ${where}`);
  const total = Number(rows[0]!.n);
  const bounds: string[][] = [];
  if (total > chunkRows) {
    const keys = table.primaryKey.map(quoteIdent).join(', ');
    const keyText = table.primaryKey.map((k) => `${quoteIdent(k)}::text`).join(', ');
    const res = await source.query<{ k: string[] }>(
      `select array[${keyText}] as k from (select ${keys}, row_number() over (order by ${keys}) as rn from ${from} ${where}) s
        where rn % ${chunkRows} = 1 and rn > 1 order by rn`,
    );
    for (const r of res.rows) bounds.push(r.k);
  }
  return { bounds, total };
}

async function openSnapshotReader(url: string, snapshotName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'cutover-full-load', options: KIT_SESSION_OPTIONS });
  await client.connect();
  client.on('error', () => {});
  await client.query('begin isolation level repeatable read read only');
  await client.query(`set transaction snapshot ${quoteLiteral(snapshotName)}`);
  return client;
}

/** Loads every chunk not yet done, `parallel` at a time. */
export async function runFullLoad(options: FullLoadOptions): Promise<void> {
  const admin = new pg.Client({ connectionString: options.targetUrl, application_name: 'cutover-full-load', options: KIT_SESSION_OPTIONS });
  admin.on('error', () => {}); // a server-side disconnect surfaces on the next query, not as a crash
  await admin.connect();
  let pending: ChunkRow[];
  try {
    const res = await admin.query<ChunkRow>(
      'select source_table, chunk, lower_key, upper_key from _cutover.load_chunk where slot = $1 and not done order by source_table, chunk',
      [options.slot],
    );
    pending = res.rows;
  } finally {
    await admin.end();
  }
  const byName = new Map(options.tables.map((t) => [sourceName(t.table), t]));
  // order of the mapping (load-order first), chunks in key order
  const order = new Map(options.tables.map((t, i) => [sourceName(t.table), i]));
  pending.sort((a, b) => order.get(a.source_table)! - order.get(b.source_table)! || a.chunk - b.chunk);
  const shapes = new Map<string, SourceTableShape>();
  let next = 0;
  let failure: unknown;
  const lanes = Array.from({ length: Math.max(1, Math.min(options.parallel, pending.length)) }, async (_, lane) => {
    const [reader, writer] = await openTogether(openSnapshotReader(options.sourceUrl, options.snapshotName), openApplySession(options.targetUrl, loadLaneOrigin(options.originBase, lane)));
    try {
      while (!failure && !options.signal.aborted && next < pending.length) {
        const chunk = pending[next++]!;
        const entry = byName.get(chunk.source_table);
        if (!entry) continue; // a table no longer selected (wave or mapping change)
        let shape = shapes.get(chunk.source_table);
        if (!shape) shapes.set(chunk.source_table, (shape = await readSourceShape(reader, entry.table)));
        options.onChunkStart?.(chunk.source_table);
        const topic = `full-load ${chunk.source_table}`;
        const throttler = options.throttler;
        if (!throttler) {
          options.onChunkDone(chunk.source_table, (await copyChunk(reader, writer, options.slot, entry, shape, chunk, null)).rows);
          continue;
        }
        // a planned chunk is read in slices sized to the target chunk time (one slice when chunks are fixed)
        let rest: ChunkRow | null = chunk;
        while (rest && !failure && !options.signal.aborted) {
          const from: ChunkRow = rest;
          const limit = throttler.chunkRows(topic);
          const part = await throttler.paced(topic, () => copyChunk(reader, writer, options.slot, entry, shape!, from, limit), { key: topic, rows: (r) => r.rows });
          options.onChunkDone(chunk.source_table, part.rows);
          rest = part.next ? { ...from, lower_key: part.next } : null;
        }
      }
    } catch (err) {
      failure ??= err;
    } finally {
      await reader.end().catch(() => {});
      await writer.end().catch(() => {});
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure;
}

/**
 * The key `limit` rows into the chunk's range, in the snapshot (pt-table-checksum's nibble: an
 * ordered key scan of `limit` keys); null when the range has no more rows than that.
 */
async function sliceEnd(reader: pg.Client, table: MappedTable, shape: SourceTableShape, chunk: ChunkRow, limit: number): Promise<string[] | null> {
  const conditions = keyRangeSql(table, shape, chunk.lower_key, chunk.upper_key);
  const keys = table.primaryKey.map(quoteIdent).join(', ');
  const keyText = table.primaryKey.map((k) => `${quoteIdent(k)}::text`).join(', ');
  const { rows } = await reader.query<{ k: string[] }>(
    `select array[${keyText}] as k from ${qualified(table.source.schema, table.source.table)}
      ${conditions.length ? `where ${conditions.join(' and ')}` : ''} order by ${keys} offset ${Math.max(1, Math.floor(limit))} limit 1`,
  );
  return rows[0]?.k ?? null;
}

/**
 * Copies the chunk's range, or with `limit` its first `limit` keys, and commits the rows with the
 * chunk's progress: `done` at its end, else its lower key moved past them (a kill -9 then resumes
 * from there, loading no row twice).
 */
async function copyChunk(
  reader: pg.Client,
  writer: pg.Client,
  slot: string,
  entry: FullLoadTable,
  shape: SourceTableShape,
  chunk: ChunkRow,
  limit: number | null,
): Promise<{ rows: number; next: string[] | null }> {
  const { table, transformer } = entry;
  const next = limit === null ? null : await sliceEnd(reader, table, shape, chunk, limit);
  const conditions = keyRangeSql(table, shape, chunk.lower_key, next ?? chunk.upper_key);
  const targetCols = table.columns.map((c) => quoteIdent(c.target));
  const from = qualified(table.source.schema, table.source.table);
  const fast = sqlMappable(table);
  if (fast && table.filterSql) conditions.push(`(${table.filterSql})`);
  const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
  const select = fast
    ? table.columns
        .map((c) =>
          c.kind === 'copy'
            ? c.targetType && c.targetType !== c.sourceType
              ? `${quoteIdent(c.source)}::${c.targetType}`
              : quoteIdent(c.source)
            : `(${c.postgresSql})`,
        )
        .join(', ')
    : shape.columns.map(quoteIdent).join(', ');
  await writer.query('begin');
  try {
    const sink = writer.query(copyStreams.from(`copy ${qualified(table.target.schema, table.target.table)} (${targetCols.join(', ')}) from stdin`));
    const src = reader.query(copyStreams.to(`copy (select ${select} from ${from} ${where}) to stdout`));
    let rows: number;
    if (fast) {
      await pipeline(src, sink);
      rows = sink.rowCount;
    } else {
      const targets = table.columns.map((c) => c.target);
      const transform = new CopyRowTransform((fields) => {
        const row: Record<string, unknown> = {};
        shape.columns.forEach((c, i) => (row[c] = fields[i]));
        const out = transformer.transform(row);
        return out ? targets.map((t) => out[t]) : null;
      });
      await pipeline(src, transform, sink);
      rows = transform.rows;
    }
    if (next) {
      await writer.query(
        'update _cutover.load_chunk set lower_key = $4, rows = coalesce(rows, 0) + $5, loaded_at = now() where slot = $1 and source_table = $2 and chunk = $3',
        [slot, chunk.source_table, chunk.chunk, next, rows],
      );
    } else {
      await writer.query(
        'update _cutover.load_chunk set done = true, rows = coalesce(rows, 0) + $4, total_rows = coalesce(rows, 0) + $4, loaded_at = now() where slot = $1 and source_table = $2 and chunk = $3',
        [slot, chunk.source_table, chunk.chunk, rows],
      );
    }
    await writer.query('commit');
    return { rows, next };
  } catch (err) {
    await writer.query('rollback').catch(() => {});
    throw loadRefusal(err, table);
  }
}
