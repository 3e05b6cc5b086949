/** A read smaller than this is part of a trickle... */
const TRICKLE_READ_BYTES = 16 * 1024;
/** ...and trickling reads bringing at least this many bytes within WINDOW_MS are a backlog... */
const BACKLOG_BYTES = 4096;
const WINDOW_MS = 2;
/** ...so the socket rests this long before its next read, which then takes many messages at once. */
export const REST_MS = 4;

/**
 * When a replication stream's socket should rest before its next read (see ChangeStream).
 *
 * A reader faster than the source's walsender takes a backlog as it trickles in: 100,000 rows in
 * 1,000-row transactions came in 10,500 reads of 600 bytes, and the per-read cost (the event loop,
 * the stream machinery, the framing of messages split across reads) was over half the reader's
 * CPU. Resting REST_MS once small reads bring BACKLOG_BYTES within WINDOW_MS, the same backlog
 * came in a few hundred reads of 8–60 KB; the reader used 0.13–0.23 CPU-s instead of 0.36–0.44,
 * and the walsender, sending into a fuller buffer, 0.64–0.68 instead of 0.72–0.78 (4 runs each).
 * Live changes never reach the threshold (2,000 single-row transactions a second are about
 * 0.6 KB per 2 ms) and are read at once. A stream already arriving in large reads never rests,
 * so a rest cannot hold back a fast one (16 ms rests did: the buffers filled, the walsender waited).
 */
export class ReadCoalescing {
  private windowStart = -Infinity;
  private windowBytes = 0;

  /** After a read of `bytes` at `now` (milliseconds): whether to rest REST_MS before the next. */
  restAfter(bytes: number, now: number): boolean {
    if (bytes >= TRICKLE_READ_BYTES) return false;
    if (now - this.windowStart > WINDOW_MS) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
    if (this.windowBytes < BACKLOG_BYTES) return false;
    this.windowStart = -Infinity;
    return true;
  }
}
