import type { BatchResult, ChangeApplier } from './change-applier.ts';
import type { OpenTransactionPart, SourceTransaction } from './change-stream.ts';
import { compareLsn } from './lsn.ts';
import type { FlowControl } from './transaction-queue.ts';

/**
 * Parts of one open transaction waiting for the target above which the stream is paused: the
 * worker then holds about this many parts of it, whatever the transaction's size.
 */
const PAUSE_AT_PARTS = 3;

/** Changes of the transactions behind it above which the stream is paused (the queue's own default bound). */
const BEHIND_PAUSE_AT = 15_000;

/** What `replicate status` shows of a large source transaction being applied while it arrives. */
export interface OpenTransactionProgress {
  /** Its commit position (pgoutput's BEGIN carries it). */
  readonly commitLsn: string;
  /** Changes received so far, and applied so far in the target transaction it holds open (not committed yet). */
  readonly changesReceived: number;
  readonly changesApplied: number;
  /** Its source commit arrived: the target transaction commits once the last part is applied. */
  readonly commitReceived: boolean;
}

/**
 * A large source transaction applied while it arrives, the way PostgreSQL's own apply worker
 * does: the stream hands it over in parts (ChangeStream's onOpenTransactionPart), each part is
 * applied the moment everything before it is, in ONE target transaction that stays open until
 * the source's COMMIT arrived, and commits together with the transaction's position (the
 * exactly-once checkpoint, as a batch writes it). Killed before that commit, the target has
 * nothing of it and the slot was never acknowledged past it: the restarted worker applies it
 * again, whole. The worker holds PAUSE_AT_PARTS parts of it at most (the stream is paused above
 * that; a part is bounded in changes and in bytes), not the transaction: a whole one held until
 * its commit took 1,185 MB for 1,000,000 updated rows (bench/replication-large-txn.ts) and its
 * time to arrive was added to its apply. The same worker runs both directions: after the write
 * switch, a large transaction on green reaches blue this way too (open-transaction-reverse.test.ts).
 *
 * No pgoutput `streaming` (which sends transactions still in progress, then their commit or
 * abort): without it the source decodes a transaction only after its commit, so a rolled-back
 * one never arrives and nothing here is ever undone for an abort.
 */
export class OpenTransactionApply {
  readonly commitLsn: string;
  readonly commitTime: Date;
  /** Transactions committed after it that arrived before it was applied: they follow it, in order. */
  readonly behind: SourceTransaction[] = [];
  /** Applied before a restart (its position is already on the target): its parts are let go. */
  readonly alreadyApplied: boolean;
  /** Parts received and not applied, each as a source transaction of its own changes (the last one with the end position). */
  private readonly waiting: { txn: SourceTransaction; last: boolean }[] = [];
  private nextPart = 0;
  private received = 0;
  private applied = 0;
  private endLsn: string | null = null;
  /** What the parts applied so far came to (summed; the last part's target positions). */
  private result: { changes: number; deadLetters: number; perTable: Map<string, number> } = { changes: 0, deadLetters: 0, perTable: new Map() };

  constructor(first: OpenTransactionPart, appliedPosition: string | null) {
    this.commitLsn = first.commitLsn;
    this.commitTime = first.commitTime;
    this.alreadyApplied = appliedPosition !== null && compareLsn(first.commitLsn, appliedPosition) < 0;
  }

  /** A transaction committed after it, arrived before it was applied; pauses the stream above BEHIND_PAUSE_AT changes. */
  follow(txn: SourceTransaction, flow: FlowControl): void {
    this.behind.push(txn);
    this.behindChanges += txn.changes.length;
    this.held += txn.bytes ?? 0;
    if (this.behindChanges > BEHIND_PAUSE_AT) flow.pause();
  }
  private behindChanges = 0;

  /**
   * Bytes it holds (the parts waiting, the part being applied, the transactions behind it): the
   * worker bounds the sum of what it holds in bytes (replication-worker.ts, HELD_BYTES).
   */
  get heldBytes(): number {
    return this.held;
  }
  private held = 0;

  /** A part from the stream; pauses the stream while PAUSE_AT_PARTS wait. */
  add(part: OpenTransactionPart, flow: FlowControl): void {
    this.received += part.changes.length;
    if (part.endLsn !== null) this.endLsn = part.endLsn;
    if (this.alreadyApplied) return;
    this.held += part.bytes;
    this.waiting.push({ txn: { commitLsn: this.commitLsn, endLsn: part.endLsn ?? this.commitLsn, commitTime: this.commitTime, changes: part.changes, bytes: part.bytes }, last: part.endLsn !== null });
    if (this.waiting.length >= PAUSE_AT_PARTS) flow.pause();
  }

  /** Its target transaction committed (or it was applied before a restart and its commit arrived): what follows it may go on. */
  get done(): boolean {
    return this.committed || (this.alreadyApplied && this.endLsn !== null);
  }
  private committed = false;

  /** A part waits for the target: `step` has work. */
  get ready(): boolean {
    return this.waiting.length > 0;
  }

  /** The end of its commit record, once that arrived. */
  get end(): string | null {
    return this.endLsn;
  }

  progress(): OpenTransactionProgress {
    return { commitLsn: this.commitLsn, changesReceived: this.received, changesApplied: this.applied, commitReceived: this.endLsn !== null };
  }

  /**
   * Applies the oldest waiting part; the last one commits the target transaction. Returns the
   * whole transaction's result once committed (null before). Resumes the stream below PAUSE_AT_PARTS.
   */
  async step(applier: ChangeApplier, replayUntil: string | null, flow: FlowControl): Promise<BatchResult | null> {
    const part = this.waiting.shift();
    if (!part) return null;
    if (this.waiting.length < PAUSE_AT_PARTS) flow.resume();
    const { txn, last } = part;
    // the next part's statements are built while the target runs this one
    const r = await applier.applyOpenPart(txn, this.nextPart++, replayUntil, last, this.waiting[0]?.txn);
    this.applied += txn.changes.length;
    this.held -= txn.bytes ?? 0;
    this.result.changes += r.changes;
    this.result.deadLetters += r.deadLetters;
    for (const [table, n] of r.perTable) this.result.perTable.set(table, (this.result.perTable.get(table) ?? 0) + n);
    if (!last) return null;
    this.committed = true;
    return { ...this.result, targetLsn: r.targetLsn, targetFlushed: r.targetFlushed };
  }
}
