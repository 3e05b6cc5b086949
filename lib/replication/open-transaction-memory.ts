import { getHeapStatistics } from 'node:v8';
import { CutoverError } from '../errors.ts';

/** Changes of one open source transaction between two looks at the heap. */
export const MEMORY_CHECK_EVERY = 10_000;
/** Below this many changes, one transaction is not what fills the heap. */
const LARGE_TRANSACTION = 100_000;
/** The share of V8's heap limit in use at which the worker stops instead of running out. */
const FULL = 0.85;

export interface HeapFigures {
  readonly used: number;
  readonly limit: number;
}

/**
 * The part of V8's heap limit a transaction's objects cannot fill: the young generation (two
 * 16 MB semi-spaces and the new large-object space on 64-bit). A worker with
 * `--max-old-space-size=64` reports a 112 MB limit and runs out of memory at ~64 MB used.
 */
const YOUNG_GENERATION = 48 * 1024 * 1024;

function heapNow(): HeapFigures {
  const h = getHeapStatistics();
  return { used: h.used_heap_size, limit: Math.max(h.heap_size_limit - YOUNG_GENERATION, h.heap_size_limit / 2) };
}

/**
 * What the stream holds of an open source transaction: all of it until its commit, unless the
 * worker takes it in parts while it arrives (the PostgreSQL worker does above 5 ×
 * replication.batchSize changes or 8 MB, open-transaction-apply.ts: it then holds a few parts, and this
 * guard is left for a batchSize so large that one part fills the heap). Held whole, one larger
 * than the worker's memory killed
 * it ("JavaScript heap out of memory": 1,185 MB resident for a 1,000,000-row UPDATE of a six-column
 * table, bench/replication-large-txn.ts), and a restarted worker reads the same transaction again
 * and dies the same way. Before that happens the worker stops with this error instead: what is
 * wrong, the figures, and the fix. Null while the heap has room (or the transaction is small).
 */
export function openTransactionTooLarge(changes: number, heap: HeapFigures = heapNow()): CutoverError | null {
  if (changes < LARGE_TRANSACTION || heap.used < FULL * heap.limit) return null;
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  return new CutoverError(
    'PRECONDITION_FAILED',
    `a source transaction of more than ${changes} changes does not fit in the replication worker's memory (heap ${mb(heap.used)} of ${mb(heap.limit)} MB): the worker holds the changes of it not applied yet, and would run out of memory on them again after every restart`,
    {
      received: `${changes} changes in one open transaction`,
      fix: `start replication again with a larger heap for its worker, e.g. NODE_OPTIONS=--max-old-space-size=${2 * mb(heap.limit)} npx cutover replicate start --env NAME (the machine needs that much free memory), or split the job on the source into smaller transactions`,
    },
  );
}
