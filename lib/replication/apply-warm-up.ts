import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MappedTable } from '../mappings/types.ts';
import { ChangeApplier, isPassThrough, type ApplyTable } from './change-applier.ts';
import { ChangeStream, type SourceTransaction } from './change-stream.ts';

/** Synthetic rows a warm-up runs through the apply path, at most (see WARM_UP_VALUES). */
export const WARM_UP_ROWS = 12_000;
/**
 * Values a warm-up decodes and encodes, at most: what 12,000 rows of six columns hold. The code
 * is hot after so many loop turns whatever the width, and a wide table's warm-up stays as short.
 */
const WARM_UP_VALUES = 72_000;
/** Rows per synthetic source transaction (and per batch built): a slice of the event loop each. */
const ROWS_PER_TRANSACTION = 1_000;
const RELATION_ID = 1;

/**
 * Runs synthetic source transactions through a forward worker's whole apply path, and drops them:
 * bytes framed as the server sends them, decoded and assembled (ChangeStream.decodeOffline), and
 * built into a batch's script and COPY data (ChangeApplier.build). Nothing is sent anywhere.
 *
 * Why: a worker's first batches of a backlog ran through code V8 had not optimised yet. In traces
 * of a fresh worker draining a 100,000-row backlog, building its batches took 142–184 ms of its
 * first 400 ms (3,000- and 4,000-row batches 20–50 ms each, 2–3 ms later on) while the target
 * waited. Run while the worker's connections open, the warm-up takes that out of the backlog's way:
 * 50–66 ms in the same traces.
 *
 * The rows are inserts into one of the worker's own tables when one is pass-through, built by
 * `applier` — the applier CDC will use, its session open and its `init()` done — so the objects
 * the real batches meet are the ones the code was compiled for. Warmed on an applier of its own,
 * the code was thrown away at the first real batches (V8 deoptimised `toBatchOps`, `toOps`,
 * `changedKeys` and `copyRows` on them: "wrong map", "insufficient type feedback") and ran
 * unoptimised again: the worker's CPU for a backlog's rows 1,000–10,000 was 90–111 ms, 49–78 ms
 * warmed on the live applier (its later rows ~3 µs each either way). Without a pass-through table
 * the rows go to a table of its own, built by an applier of its own. `replayUntil` is set so the
 * replay comparison is compiled too. One event-loop turn per synthetic transaction, so the
 * connections' replies are not held up.
 */
export async function warmUpApplyPath(tables: readonly ApplyTable[], rows = WARM_UP_ROWS, signal?: AbortSignal, applier?: ChangeApplier): Promise<{ rows: number }> {
  const own = tables.find((t) => isPassThrough(t.table));
  const table = own ?? { table: WARM_UP_TABLE, transformer: identity };
  const transactions = Math.max(1, Math.floor(WARM_UP_VALUES / table.table.columns.length / ROWS_PER_TRANSACTION));
  rows = Math.min(rows, transactions * ROWS_PER_TRANSACTION);
  const txns: SourceTransaction[] = [];
  const stream = new ChangeStream('postgres://127.0.0.1:1/warm-up', 'warm-up', 'warm-up', {
    onTransaction: (txn) => txns.push(txn),
    onKeepalive: () => {},
    onError: () => {},
  });
  const builder = own && applier ? applier : new ChangeApplier(noSession, 'warm-up', 'forward', [table]);
  // one transaction's bytes, decoded again and again: the same code runs whatever the values
  const reads = chunked(syntheticTransaction(table.table));
  let done = 0;
  while (done < rows && !signal?.aborted) {
    stream.decodeOffline(reads);
    builder.build(txns.splice(0), '0/1');
    done += ROWS_PER_TRANSACTION;
    await nextTurn();
  }
  return { rows: done };
}

let warmedUp: Promise<unknown> | undefined;
/**
 * {@link warmUpApplyPath} once per process: compiled code stays compiled for every later worker of
 * the process (in-process workers of tests and `--foreground`), a detached worker is one process.
 */
export function warmUpApplyPathOnce(tables: readonly ApplyTable[], signal?: AbortSignal, applier?: ChangeApplier): Promise<unknown> {
  warmedUp ??= warmUpApplyPath(tables, WARM_UP_ROWS, signal, applier);
  return warmedUp;
}

const WARM_UP_TABLE: MappedTable = {
  source: { schema: 'warm_up', table: 'orders' },
  target: { schema: 'warm_up', table: 'orders' },
  primaryKey: ['id'],
  targetPrimaryKey: ['id'],
  columns: ['id', 'customer', 'quantity', 'amount', 'created_at', 'note'].map((name) => ({ kind: 'copy', source: name, target: name })),
  filters: [],
  filterSql: null,
  loadOrder: 0,
  ruleIds: [],
  sourceColumns: [],
  removedColumns: [],
} as unknown as MappedTable;

const identity = { transform: (row: Record<string, unknown>) => row, targetKey: (key: Record<string, unknown>) => key, close: () => {} } as never;

/** build() never sends: nothing may reach a session. */
const noSession = {
  query: () => {
    throw new Error('the warm-up sends nothing');
  },
} as never;

/**
 * One transaction's CopyData messages as the server frames them, its relation announced first
 * (each decodeOffline starts with no relations known, as a new stream does).
 */
function syntheticTransaction(table: MappedTable): Buffer {
  const lsn = 0x1000_0000n;
  // a pass-through table's columns keep their source names
  const columns = table.columns.map((c) => ({ name: c.target, key: table.primaryKey.includes(c.target) }));
  const messages: Buffer[] = [begin(lsn), relation(table, columns)];
  for (let i = 1; i <= ROWS_PER_TRANSACTION; i++) messages.push(insert(i, columns.length));
  messages.push(commit(lsn));
  return Buffer.concat(messages.map((payload) => xLogData(lsn, payload)));
}

/** The bytes in reads of 64 KB, as a socket hands them over (messages split across reads). */
function chunked(bytes: Buffer): Buffer[] {
  const reads: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 65_536) reads.push(bytes.subarray(at, at + 65_536));
  return reads;
}

function xLogData(lsn: bigint, payload: Buffer): Buffer {
  const head = Buffer.alloc(1 + 4 + 1 + 24);
  head[0] = 0x64; // d: CopyData
  head.writeUInt32BE(4 + 1 + 24 + payload.length, 1);
  head[5] = 0x77; // w: XLogData
  head.writeBigUInt64BE(lsn, 6);
  head.writeBigUInt64BE(lsn, 14);
  return Buffer.concat([head, payload]);
}

/** Microseconds since 2000-01-01, as pgoutput sends commit times. */
const COMMIT_TIME = BigInt(Date.UTC(2026, 0, 1) - Date.UTC(2000, 0, 1)) * 1000n;

function begin(lsn: bigint): Buffer {
  const b = Buffer.alloc(1 + 8 + 8 + 4);
  b[0] = 0x42; // B
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(COMMIT_TIME, 9);
  b.writeUInt32BE(1000, 17);
  return b;
}

function commit(lsn: bigint): Buffer {
  const b = Buffer.alloc(1 + 1 + 8 + 8 + 8);
  b[0] = 0x43; // C
  b.writeBigUInt64BE(lsn, 2);
  b.writeBigUInt64BE(lsn + 0x30n, 10);
  b.writeBigUInt64BE(COMMIT_TIME, 18);
  return b;
}

/** Every column announced as text: the apply path reads values as text whatever their type. */
function relation(table: MappedTable, columns: readonly { name: string; key: boolean }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x52]), int32(RELATION_ID), cString(table.source.schema), cString(table.source.table), Buffer.from([0x64 /* d: default */]), int16(columns.length)];
  for (const c of columns) parts.push(Buffer.from([c.key ? 1 : 0]), cString(c.name), int32(25), int32(-1));
  return Buffer.concat(parts);
}

/** Values of the kinds tables send, some needing COPY escapes (tab, backslash, newline), multibyte, or NULL. */
function insert(id: number, columns: number): Buffer {
  const kinds = [
    String(id),
    id % 7 === 0 ? `客户 ${id}` : `customer ${id}`,
    `${id % 997}.${id % 100}`,
    `2026-01-01 00:00:${String(id % 60).padStart(2, '0')}.${id % 1000}+00`,
    id % 3 === 0 ? null : id % 11 === 0 ? 'line\tone\\two\nthree' : `note ${id}`,
  ];
  const parts: Buffer[] = [Buffer.from([0x49]), int32(RELATION_ID), Buffer.from([0x4e /* N */]), int16(columns)];
  for (let c = 0; c < columns; c++) {
    // every kind in every column over the rows, whatever the number of columns
    const v = c === 0 ? String(id) : kinds[(c + id) % kinds.length]!;
    if (v === null) {
      parts.push(Buffer.from([0x6e /* n */]));
      continue;
    }
    const text = Buffer.from(v);
    parts.push(Buffer.from([0x74 /* t */]), int32(text.length), text);
  }
  return Buffer.concat(parts);
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
function int16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
}
function cString(s: string): Buffer {
  return Buffer.concat([Buffer.from(s), Buffer.from([0])]);
}
