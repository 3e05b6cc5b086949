import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { pgTextConverter, type PgTextConverter } from '../engines/mysql/mysql-pg-text.ts';
import { mysqlRows } from '../engines/mysql/mysql-connection.ts';
import { sourceName, targetName } from '../mappings/mapped-tables.ts';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import { openApplySession } from './apply-session.ts';
import { encodeCopyField } from './copy-text.ts';
import type { ChunkRow } from './full-load.ts';
import { qualified, quoteIdent } from './sql-names.ts';
import { loadLaneOrigin } from './stream-names.ts';
import { loadRefusal } from './load-refusal.ts';

/**
 * Full load of a MySQL-family source into PostgreSQL: each mapped table cut into key-range
 * chunks (an integer key: even ranges between its MIN and MAX; any other key: one chunk), the
 * plan stored in `_cutover.load_chunk` as for the WAL path. Lanes — each a MySQL session in its
 * own consistent snapshot (consistent-snapshot.ts) — take chunks in turn, stream the rows
 * (`rowsAsArray`, no buffering of a whole chunk), convert every value to PostgreSQL text
 * (mysql-pg-text.ts, the same conversion CDC uses), pass them through the DMS mapping's row
 * transformer and COPY them into the target; a chunk's rows commit with its `done` mark, so a
 * killed load resumes without duplicates.
 */
export interface BinlogLoadTable {
  readonly table: MappedTable;
  readonly transformer: RowTransformer;
  /** Source column → MySQL column type. */
  readonly nativeTypes: ReadonlyMap<string, string>;
}

const INTEGER_TYPE = /^(tinyint|smallint|mediumint|int|integer|bigint)\b/i;

function from(t: MappedTable): string {
  const q = (s: string) => '`' + s.replace(/`/g, '``') + '`';
  return `${q(t.source.schema)}.${q(t.source.table)}`;
}

const mysqlIdent = (s: string) => '`' + s.replace(/`/g, '``') + '`';

/** Plans the chunks of every table in `source`'s snapshot and stores the plan (replacing any). */
export async function planBinlogChunks(source: mysql.Connection, target: pg.ClientBase, slot: string, tables: readonly BinlogLoadTable[], chunkRows: number): Promise<void> {
  const plan: { table: string; chunk: number; lower: string[] | null; upper: string[] | null; total: number }[] = [];
  for (const { table, nativeTypes } of tables) {
    const [est] = await mysqlRows<{ n: number | string | null }>(source, 'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [
      table.source.schema,
      table.source.table,
    ]);
    const estimate = Number(est?.n ?? 0);
    const key = table.primaryKey.length === 1 ? table.primaryKey[0]! : null;
    const chunks = Math.ceil(estimate / chunkRows);
    if (!key || !INTEGER_TYPE.test(nativeTypes.get(key) ?? '') || chunks <= 1) {
      plan.push({ table: sourceName(table), chunk: 0, lower: null, upper: null, total: estimate });
      continue;
    }
    const [range] = await mysqlRows<{ lo: string | null; hi: string | null }>(source, `SELECT MIN(${mysqlIdent(key)}) AS lo, MAX(${mysqlIdent(key)}) AS hi FROM ${from(table)}`);
    if (range?.lo === null || range?.lo === undefined) {
      plan.push({ table: sourceName(table), chunk: 0, lower: null, upper: null, total: 0 });
      continue;
    }
    const lo = BigInt(range.lo);
    const hi = BigInt(range.hi!);
    const step = (hi - lo + 1n + BigInt(chunks) - 1n) / BigInt(chunks);
    const edges: (string[] | null)[] = [null];
    for (let i = 1; i < chunks; i++) edges.push([String(lo + step * BigInt(i))]);
    edges.push(null);
    for (let i = 0; i < edges.length - 1; i++) plan.push({ table: sourceName(table), chunk: i, lower: edges[i]!, upper: edges[i + 1]!, total: Math.round(estimate / chunks) });
  }
  await target.query('begin');
  try {
    await target.query('delete from _cutover.load_chunk where slot = $1', [slot]);
    // one statement for the whole plan (a round trip per chunk shows on a loaded machine)
    await target.query(
      `insert into _cutover.load_chunk (slot, source_table, chunk, lower_key, upper_key, total_rows)
       select $1, p->>'table', (p->>'chunk')::int,
              case when jsonb_typeof(p->'lower') = 'array' then array(select jsonb_array_elements_text(p->'lower')) end,
              case when jsonb_typeof(p->'upper') = 'array' then array(select jsonb_array_elements_text(p->'upper')) end, (p->>'total')::bigint
         from jsonb_array_elements($2::jsonb) p`,
      [slot, JSON.stringify(plan)],
    );
    await target.query('update _cutover.load_state set planned = true where slot = $1', [slot]);
    await target.query('commit');
  } catch (err) {
    await target.query('rollback').catch(() => {});
    throw err;
  }
}

export interface BinlogFullLoadOptions {
  /** One MySQL session per lane, each inside its consistent snapshot. */
  readonly sessions: readonly mysql.Connection[];
  readonly targetUrl: string;
  readonly slot: string;
  readonly originBase: string;
  readonly tables: readonly BinlogLoadTable[];
  readonly signal: AbortSignal;
  onChunkStart?(sourceTable: string): void;
  onChunkDone(sourceTable: string, rows: number): void;
}

/** Loads every chunk not yet done, one lane per session. */
export async function runBinlogFullLoad(options: BinlogFullLoadOptions, admin: pg.ClientBase): Promise<void> {
  const { rows: pending } = await admin.query<ChunkRow>(
    'select source_table, chunk, lower_key, upper_key from _cutover.load_chunk where slot = $1 and not done order by source_table, chunk',
    [options.slot],
  );
  const byName = new Map(options.tables.map((t) => [sourceName(t.table), t]));
  const order = new Map(options.tables.map((t, i) => [sourceName(t.table), i]));
  pending.sort((a, b) => (order.get(a.source_table) ?? 0) - (order.get(b.source_table) ?? 0) || a.chunk - b.chunk);
  let next = 0;
  let failure: unknown;
  const lanes = options.sessions.slice(0, Math.max(1, pending.length)).map(async (reader, lane) => {
    const writer = await openApplySession(options.targetUrl, loadLaneOrigin(options.originBase, lane));
    try {
      while (!failure && !options.signal.aborted && next < pending.length) {
        const chunk = pending[next++]!;
        const entry = byName.get(chunk.source_table);
        if (!entry) continue; // no longer selected (wave or mapping change)
        options.onChunkStart?.(chunk.source_table);
        const rows = await copyChunk(reader, writer, options.slot, entry, chunk);
        options.onChunkDone(chunk.source_table, rows);
      }
    } catch (err) {
      failure ??= err;
    } finally {
      await writer.end().catch(() => {});
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure;
}

const COPY_SPECIAL = /[\\\n\r\t\u0000]/;

/** encodeCopyField for a value already in PostgreSQL text (the converters' output): no type checks per field. */
function copyField(text: string | null): string {
  if (text === null) return '\\N';
  if (!COPY_SPECIAL.test(text)) return text;
  return encodeCopyField(text);
}

async function copyChunk(reader: mysql.Connection, writer: pg.Client, slot: string, entry: BinlogLoadTable, chunk: ChunkRow): Promise<number> {
  const { table, transformer, nativeTypes } = entry;
  const passThrough = table.filters.length === 0 && table.columns.every((c) => c.kind === 'copy');
  // pass-through: the copied columns in target order; otherwise every source column (filters and expressions read any)
  const selected = passThrough ? table.columns.map((c) => (c as { source: string }).source) : table.sourceColumns.map((c) => c.name);
  const convert: PgTextConverter[] = selected.map((c) => pgTextConverter(nativeTypes.get(c) ?? 'text', `${sourceName(table)}.${c}`));
  const conditions: string[] = [];
  const params: string[] = [];
  const key = table.primaryKey[0]!;
  if (chunk.lower_key) {
    conditions.push(`${mysqlIdent(key)} >= ?`);
    params.push(chunk.lower_key[0]!);
  }
  if (chunk.upper_key) {
    conditions.push(`${mysqlIdent(key)} < ?`);
    params.push(chunk.upper_key[0]!);
  }
  const sql = `SELECT ${selected.map(mysqlIdent).join(', ')} FROM ${from(table)}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}`;
  const targets = table.columns.map((c) => c.target);
  let rows = 0;
  // rows PostgreSQL text cannot hold (a NUL character, which a MySQL string may have): dead letters, never the chunk's failure
  const rejected: { key: Record<string, string | null> | null; row: Record<string, string | null>; column: string }[] = [];
  const reject = (raw: unknown[], column: string) => {
    const row: Record<string, string | null> = {};
    for (let i = 0; i < raw.length; i++) row[selected[i]!] = convert[i]!(raw[i]);
    const key = table.primaryKey.every((k) => k in row) ? Object.fromEntries(table.primaryKey.map((k) => [k, row[k]!])) : null;
    rejected.push({ key, row, column });
  };
  // COPY data goes out in pieces of ~64 kB: one CopyData message (and socket write) per row costs
  // several times the reading and converting
  let pending = '';
  const encode = new Transform({
    writableObjectMode: true,
    readableHighWaterMark: 1 << 20,
    flush(cb: TransformCallback) {
      cb(null, pending || undefined);
    },
    transform(raw: unknown[], _enc: BufferEncoding, cb: TransformCallback) {
      try {
        let line = '';
        if (passThrough) {
          for (let i = 0; i < raw.length; i++) {
            const text = convert[i]!(raw[i]);
            if (text !== null && COPY_SPECIAL.test(text) && text.includes('\u0000')) {
              reject(raw, targets[i]!);
              return cb();
            }
            line += (i ? '\t' : '') + copyField(text);
          }
        } else {
          const row: Record<string, string | null> = {};
          for (let i = 0; i < raw.length; i++) row[selected[i]!] = convert[i]!(raw[i]);
          const out = transformer.transform(row);
          if (!out) return cb();
          for (let i = 0; i < targets.length; i++) {
            const v = out[targets[i]!];
            if (typeof v === 'string' && v.includes('\u0000')) {
              reject(raw, targets[i]!);
              return cb();
            }
            line += (i ? '\t' : '') + encodeCopyField(v);
          }
        }
        rows++;
        pending += line + '\n';
        if (pending.length < 65_536) return cb();
        const out = pending;
        pending = '';
        cb(null, out);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  await writer.query('begin');
  try {
    const sink = writer.query(copyStreams.from(`copy ${qualified(table.target.schema, table.target.table)} (${targets.map(quoteIdent).join(', ')}) from stdin`));
    const core = (reader as unknown as { connection: { query(o: object, p: unknown[]): { stream(o?: object): NodeJS.ReadableStream } } }).connection;
    // jsonStrings: JSON as the server prints it (MySQL 8's JSON type, MariaDB's json-marked LONGTEXT); parsed, big numbers and key order would change
    const source = core.query({ sql, rowsAsArray: true, jsonStrings: true }, params).stream({ highWaterMark: 1000 });
    await pipeline(source, encode, sink);
    if (rejected.length) await writeDeadLetters(writer, slot, entry, rejected);
    await writer.query(
      'update _cutover.load_chunk set done = true, rows = $4, total_rows = $4, loaded_at = now() where slot = $1 and source_table = $2 and chunk = $3',
      [slot, chunk.source_table, chunk.chunk, rows],
    );
    await writer.query('commit');
    return rows;
  } catch (err) {
    await writer.query('rollback').catch(() => {});
    throw loadRefusal(err, table);
  }
}

/**
 * Rows of a chunk the target cannot hold, into `_cutover.dead_letter` in the chunk's transaction
 * (as CDC does for the same row): the reason names the column; the NUL stays visible as `\\0`
 * (jsonb cannot hold it either). The validator then reports the row as a dead letter, not missing.
 */
async function writeDeadLetters(writer: pg.Client, slot: string, entry: BinlogLoadTable, rows: readonly { key: Record<string, string | null> | null; row: Record<string, string | null>; column: string }[]): Promise<void> {
  const visible = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? x.replace(/\u0000/g, '\\0') : x))) as unknown;
  const letters = rows.map((r) => ({
    key: r.key ? visible(r.key) : null,
    change: { kind: 'full-load', row: visible(r.row) },
    error: `target column ${r.column} would hold a NUL character (0x00), which PostgreSQL text cannot store; the row was not loaded — remove the NUL on the source (e.g. REPLACE(col, CHAR(0), '')), then \`cutover validate --repair\``,
  }));
  await writer.query(
    `insert into _cutover.dead_letter (slot, direction, source_table, target_table, source_key, change, error, lsn)
     select $1, 'forward', $2, $3, nullif(l->'key', 'null'::jsonb), l->'change', l->>'error', null from jsonb_array_elements($4::jsonb) l`,
    [slot, sourceName(entry.table), targetName(entry.table), JSON.stringify(letters)],
  );
}
