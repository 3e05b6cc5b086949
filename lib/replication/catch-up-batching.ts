import { compareLsn } from './lsn.ts';
import type { FlowControl } from './transaction-queue.ts';

/**
 * How long a worker catching up holds a batch back at most, waiting for it to fill (see
 * holdForFullBatch). At the 1,000-row backlog's rate on this machine (~130 rows/ms) a 5,000-change
 * batch fills in ~40 ms; a slower stream sends what it has after this long.
 */
export const CATCH_UP_HOLD_MS = 100;

/** What the decision reads of a worker and its stream. */
export interface CatchUpBatchState {
  /** The source position the worker is catching up with since its (re)start; null once caught up. */
  readonly catchingUpTo: string | null;
  /** Commit position of the newest transaction received. */
  readonly receivedLsn: string | null;
  /** Transactions are queued. */
  readonly queued: boolean;
  /** The queue holds a full batch (TransactionQueue.fullBatchWaiting). */
  readonly fullBatchWaiting: boolean;
  /** Something that holds received changes is full and has paused the stream. */
  readonly streamPaused: boolean;
  /** A large transaction is being applied while it arrives (what follows it queues behind it, not here). */
  readonly openTransaction: boolean;
  /** Milliseconds the batch has been held back so far (0: not held). */
  readonly heldMs: number;
}

/**
 * Whether to hold the next batch back until it is full, rather than send what has arrived.
 *
 * While a backlog streams in, a worker that sends whatever has arrived each time the target is
 * free sends batches of about what arrives while the last one runs: in the 1,000-row backlog of
 * bench/replication-cdc.ts one source transaction each, 100 target transactions per 100,000 rows.
 * Each costs the target a fixed share — its COPY sets up ~1,000 tuple slots (PostgreSQL 17's
 * resource owner bookkeeping for them was a quarter of the backend's time in `perf`), the record of
 * changed keys, the position, the commit — and the target backend ran 0.41 CPU-s per 100,000 rows
 * against 0.20 in batches of 5,000 (scratch harness, same server). On a machine it shares, that CPU
 * is what the source's walsender waited for. So while catching up, a batch smaller than the batch
 * size waits for more, up to CATCH_UP_HOLD_MS: latency does not count until the backlog is in
 * (the CDC lag of a live stream is never held), CPU does.
 *
 * Never held: once caught up, during the slow start (its batches are full at their smaller
 * limit), once the backlog's last transaction has arrived, when the stream is paused (nothing more
 * comes until the queue drains), or while a large transaction is applied as it arrives.
 */
export function holdForFullBatch(s: CatchUpBatchState): boolean {
  if (!s.catchingUpTo || !s.queued || s.fullBatchWaiting || s.streamPaused || s.openTransaction) return false;
  if (s.receivedLsn && compareLsn(s.receivedLsn, s.catchingUpTo) >= 0) return false;
  return s.heldMs < CATCH_UP_HOLD_MS;
}

/**
 * The longest turn the target gets (see TargetsTurn): a batch that takes longer is not waiting for
 * a core, and the stream is read again (unread, it would also leave the walsender's keepalives
 * unanswered: it ends the connection after wal_sender_timeout).
 */
export const TARGET_TURN_MAX_MS = 1000;

/**
 * The target's turn: while a batch of a backlog is in flight, the worker does not read the
 * stream (the bytes wait in the socket's buffers) — one batch at a time.
 *
 * A stream catching up keeps three processes busy: the source's walsender decoding, the worker
 * reading, parsing and batching, the target's backend applying. The walsender is the slowest of
 * them (its decoding is the ceiling of one stream), so the backlog is in when it is done. On a
 * host with fewer cores than that, shared by both databases (a rehearsal, the demo, a small VM),
 * the worker reading the next batch while the target applied this one made three processes ready
 * to run on two cores, and the walsender waited for a core behind them (bench/replication-cdc.ts
 * prints how long). Taking turns, the worker and the target between them keep one core busy and
 * the walsender has the other; and what arrived during a turn is read in a few large reads, which
 * cost the worker less than many small ones (in the 1,000-row backlog the worker used 0.28–0.33
 * CPU-s per 100,000 rows instead of 0.41–0.55). Where the three have cores enough
 * (catchUpTakesTurns, shared-cores.ts) the worker reads while the target applies, as before.
 */
export class TargetsTurn {
  private timer: NodeJS.Timeout | null = null;

  /** `stream`: the flow control the turn pauses the stream with (BackPressure.flowOf). */
  constructor(private readonly stream: FlowControl) {}

  /** A batch went to the target: its turn, TARGET_TURN_MAX_MS at most. */
  start(): void {
    if (this.timer) return;
    this.stream.pause();
    this.timer = setTimeout(() => this.end(), TARGET_TURN_MAX_MS);
  }

  /** The batches in flight committed (or the turn ran out, or the stream stops): read again. */
  end(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.stream.resume();
  }
}
