/**
 * Splits a replication connection's bytes (the CopyBoth exchange after START_REPLICATION) into
 * protocol messages, handing each CopyData payload over as a range of the read it arrived in.
 *
 * Why not the driver's parser: per message it made a Buffer view of the payload (the stream then
 * cut another one past the 25-byte XLogData header), and whenever a message straddled two reads —
 * nearly every read — it copied the whole next read into its own buffer. In a CPU profile of the
 * worker applying a 100,000-row backlog the parser and the views took ~120 of 835 ms busy (and
 * added to the garbage, the largest item: 200 ms). Here a payload is (read, start, end); only a
 * message split across reads is copied, alone.
 *
 * Every other message (the start of the copy, errors, notices, its end) goes to `onOther` whole,
 * in order, for the driver to handle as before.
 */
export class CopyDataFramer {
  /** The beginning of a message whose rest is in a later read. */
  private partial: Buffer | null = null;

  constructor(
    private readonly onCopyData: (read: Buffer, start: number, end: number) => void,
    private readonly onOther: (message: Buffer) => void,
  ) {}

  push(read: Buffer): void {
    let at = 0;
    if (this.partial) {
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
    if (at < length) this.partial = read.subarray(at);
  }

  /** Completes the message begun in earlier reads from the head of `read`: where the rest starts, or -1 if `read` did not finish it. */
  private completePartial(read: Buffer): number {
    let partial = this.partial!;
    if (partial.length < 5) {
      // the 5-byte header itself was split
      const take = Math.min(5 - partial.length, read.length);
      partial = Buffer.concat([partial, read.subarray(0, take)]);
      if (partial.length < 5) {
        this.partial = partial;
        return -1;
      }
      const needed = 1 + partial.readUInt32BE(1) - partial.length;
      return this.finish(partial, read, take, needed);
    }
    return this.finish(partial, read, 0, 1 + partial.readUInt32BE(1) - partial.length);
  }

  private finish(partial: Buffer, read: Buffer, from: number, needed: number): number {
    if (read.length - from < needed) {
      this.partial = Buffer.concat([partial, read.subarray(from)]);
      return -1;
    }
    const message = Buffer.concat([partial, read.subarray(from, from + needed)]);
    this.partial = null;
    this.dispatch(message, 0, message.length);
    return from + needed;
  }

  private dispatch(read: Buffer, start: number, end: number): void {
    if (read[start] === 0x64 /* d: CopyData */) this.onCopyData(read, start + 5, end);
    else this.onOther(read.subarray(start, end));
  }
}
