/**
 * Splits a replication connection's bytes (the CopyBoth exchange after START_REPLICATION) into
 * protocol messages, handing each CopyData payload over as a range of the read it arrived in.
 *
 * Why not the driver's parser: per message it made a Buffer view of the payload (the stream then
 * cut another one past the 25-byte XLogData header), and whenever a message straddled two reads —
 * nearly every read — it copied the whole next read into its own buffer. In a CPU profile of the
 * worker applying a 100,000-row backlog the parser and the views took ~120 of 835 ms busy (and
 * added to the garbage, the largest item: 200 ms). Here a payload is (read, start, end); only a
 * message split across reads is copied, alone, each of its bytes once.
 *
 * Every other message (the start of the copy, errors, notices, its end) goes to `onOther` whole,
 * in order, for the driver to handle as before.
 */
export class CopyDataFramer {
  /** The first bytes (fewer than 5) of a message whose header was split across reads. */
  private head: Buffer | null = null;
  /**
   * A message begun in an earlier read, in a buffer of its whole length (known from its header),
   * filled up to `filled` as its reads arrive. Each byte is copied once: growing it by
   * concatenation per read copied everything received so far again each time — quadratic in the
   * message's size (an 8 MB value in 16 kB reads: 8.5 s of copying; 32 MB: 140 s).
   */
  private message: Buffer | null = null;
  private filled = 0;

  constructor(
    private readonly onCopyData: (read: Buffer, start: number, end: number) => void,
    private readonly onOther: (message: Buffer) => void,
  ) {}

  push(read: Buffer): void {
    let at = 0;
    if (this.head || this.message) {
      at = this.completePartial(read);
      if (at < 0) return;
    }
    const length = read.length;
    while (at + 5 <= length) {
      const end = at + 1 + read.readUInt32BE(at + 1);
      if (end > length) break;
      this.dispatch(read, at, end);
      at = end;
    }
    if (at < length) this.keep(read, at);
  }

  /** Keeps the start of a message that `read` does not finish. */
  private keep(read: Buffer, at: number): void {
    if (read.length - at < 5) {
      this.head = Buffer.from(read.subarray(at));
      return;
    }
    this.begin(1 + read.readUInt32BE(at + 1));
    this.filled = read.copy(this.message!, 0, at);
  }

  private begin(total: number): void {
    this.message = Buffer.allocUnsafe(total);
    this.filled = 0;
  }

  /** Continues the message begun in earlier reads from the head of `read`: where the rest starts, or -1 if `read` did not finish it. */
  private completePartial(read: Buffer): number {
    let from = 0;
    if (this.head) {
      // the 5-byte header itself was split
      from = Math.min(5 - this.head.length, read.length);
      const head = Buffer.concat([this.head, read.subarray(0, from)]);
      if (head.length < 5) {
        this.head = head;
        return -1;
      }
      this.head = null;
      this.begin(1 + head.readUInt32BE(1));
      this.filled = head.copy(this.message!, 0);
    }
    const message = this.message!;
    const needed = message.length - this.filled;
    if (read.length - from < needed) {
      this.filled += read.copy(message, this.filled, from);
      return -1;
    }
    read.copy(message, this.filled, from, from + needed);
    this.message = null;
    this.filled = 0;
    this.dispatch(message, 0, message.length);
    return from + needed;
  }

  private dispatch(read: Buffer, start: number, end: number): void {
    if (read[start] === 0x64 /* d: CopyData */) this.onCopyData(read, start + 5, end);
    else this.onOther(read.subarray(start, end));
  }
}
