import { compareLsn } from './lsn.ts';

/** What the queue needs of a source transaction (pgoutput's SourceTransaction, the binlog's BinlogTransaction). */
export interface QueuedTransaction {
  /** Start of the commit record (`pg_lsn` form): compared with the applied position. */
  readonly commitLsn: string;
  readonly changes: readonly unknown[];
  /**
   * Its changes' size as the stream received them (pgoutput: the bytes of their messages), when
   * the reader counts it. @default 0 - counted in changes only (the binlog readers)
   */
  readonly bytes?: number;
}

/**
 * Bytes of changes a batch takes at most (whole transactions; one larger transaction goes alone):
 * a batch of 2,000 rows of 50 kB was 100 MB received, parsed again into strings or copied into
 * COPY data, and built into a statement — with PIPELINE_DEPTH batches in flight the worker's
 * memory grew with the rows' width (bench/replication-wide-rows.ts). Rows of a few hundred bytes
 * never come near it: batchSize decides for them.
 */
export const BATCH_BYTES = 8 * 1024 * 1024;
/** Queued bytes above which the stream is paused (four batches of BATCH_BYTES read ahead). */
export const PAUSE_AT_BYTES = 4 * BATCH_BYTES;

/** The change stream the queue holds back when it is full (ChangeStream, BinlogReader). */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

export interface TransactionQueueOptions {
  /** The largest batch, in changes (replication.batchSize). */
  readonly batchSize: number;
  /**
   * Changes in the first batch after each start (slow start: a backlog's first rows land within
   * moments; each batch may then be four times larger than the one before, up to batchSize).
   * @default batchSize - no slow start
   */
  readonly firstBatch?: number;
  /**
   * Queued changes above which the stream is paused: three batches read ahead. More only kept
   * parsed rows alive longer, and the young-generation garbage collection copies every object
   * still alive: in one run of bench/replication-cdc.ts (three worker starts, a 100,000-row
   * backlog among them) the workers' scavenges took 0.38–0.42 s at 50,000, 0.29–0.31 s at 15,000.
   * @default max(15_000, 3 × batchSize)
   */
  readonly pauseAt?: number;
  /** Queued changes below which a paused stream resumes. @default max(5_000, batchSize) */
  readonly resumeAt?: number;
  /** Bytes of changes per batch at most (see QueuedTransaction.bytes). @default BATCH_BYTES */
  readonly batchBytes?: number;
  /** Queued bytes above which the stream is paused. @default PAUSE_AT_BYTES */
  readonly pauseAtBytes?: number;
  /** Queued bytes below which a paused stream resumes (with resumeAt). @default batchBytes */
  readonly resumeAtBytes?: number;
}

/**
 * The source transactions a CDC worker has read and not yet applied, in commit order, and how
 * they leave it: in batches of whole transactions, skipping those the target already has (applied
 * before a restart whose acknowledgement to the source was lost), pausing the stream while the
 * queue is full. Shared by the PostgreSQL, binlog and MySQL-reverse workers.
 */
export class TransactionQueue<T extends QueuedTransaction> {
  private items: T[] = [];
  private changes = 0;
  private bytes = 0;
  private batchLimit: number;

  constructor(private readonly options: TransactionQueueOptions) {
    this.batchLimit = this.firstLimit();
  }

  get length(): number {
    return this.items.length;
  }

  /** Changes waiting (what pausing the stream is decided on). */
  get queuedChanges(): number {
    return this.changes;
  }

  /** Bytes of the changes waiting (see QueuedTransaction.bytes). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** The oldest transaction waiting. */
  get oldest(): T | undefined {
    return this.items[0];
  }

  /** A transaction read from the stream; pauses the stream above `pauseAt` changes or `pauseAtBytes` bytes. */
  push(txn: T, flow: FlowControl): void {
    this.items.push(txn);
    this.changes += txn.changes.length;
    this.bytes += txn.bytes ?? 0;
    if (this.changes > (this.options.pauseAt ?? Math.max(15_000, 3 * this.options.batchSize)) || this.bytes > (this.options.pauseAtBytes ?? PAUSE_AT_BYTES)) flow.pause();
  }

  /**
   * Whether the next batch would be a full one: the changes or bytes waiting reach the batch's
   * limits (the slow start's smaller limit included).
   */
  get fullBatchWaiting(): boolean {
    return this.changes >= this.batchLimit || this.bytes >= (this.options.batchBytes ?? BATCH_BYTES);
  }

  /** Transactions taken and not applied (the batches behind a failed one): first in line again. */
  requeue(txns: readonly T[]): void {
    this.items.unshift(...txns);
    for (const t of txns) {
      this.changes += t.changes.length;
      this.bytes += t.bytes ?? 0;
    }
  }

  /** Drops everything (a lost connection: the stream sends it again) and starts slow again. */
  clear(): void {
    this.items = [];
    this.changes = 0;
    this.bytes = 0;
    this.batchLimit = this.firstLimit();
  }

  /** Starts slow again (a new stream after a reconnect) without dropping anything. */
  restartSlowStart(): void {
    this.batchLimit = this.firstLimit();
  }

  /**
   * Whole transactions, up to the current batch limit in changes and `batchBytes` in bytes (at
   * least one transaction; an empty one counts as one change), leaving out those committed before
   * `applied`. Null when nothing is left to apply. Resumes the stream once the queue is below
   * `resumeAt` changes and `resumeAtBytes` bytes.
   */
  take(applied: string | null, flow: FlowControl): T[] | null {
    const batchBytes = this.options.batchBytes ?? BATCH_BYTES;
    while (this.items.length) {
      const batch: T[] = [];
      const limit = this.batchLimit;
      this.batchLimit = Math.min(this.batchLimit * 4, this.options.batchSize);
      let size = 0;
      let bytes = 0;
      let taken = 0;
      while (taken < this.items.length) {
        const next = this.items[taken]!;
        if (size > 0 && (size + Math.max(1, next.changes.length) > limit || bytes + (next.bytes ?? 0) > batchBytes)) break;
        taken++;
        this.changes -= next.changes.length;
        this.bytes -= next.bytes ?? 0;
        size += Math.max(1, next.changes.length);
        bytes += next.bytes ?? 0;
        if (applied && compareLsn(next.commitLsn, applied) < 0) continue;
        batch.push(next);
      }
      // one splice per batch: shift() per transaction moves a long queue's whole backing store
      // each time (a backlog queue lives in V8's large-object space, which cannot be left-trimmed)
      this.items.splice(0, taken);
      if (this.changes < (this.options.resumeAt ?? Math.max(5_000, this.options.batchSize)) && this.bytes < (this.options.resumeAtBytes ?? batchBytes)) flow.resume();
      if (batch.length) return batch;
    }
    return null;
  }

  private firstLimit(): number {
    return Math.min(this.options.firstBatch ?? this.options.batchSize, this.options.batchSize);
  }
}
