import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { CopyDataFramer } from '../../lib/replication/copy-data-framer.ts';

/** A protocol message: type byte, Int32 length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const digest = (b: Buffer) => `${b.length}/${createHash('sha1').update(b).digest('hex')}`;

/** What a framer hands over for a sequence of reads, as comparable strings. */
function frame(reads: Buffer[]): string[] {
  const seen: string[] = [];
  const framer = new CopyDataFramer(
    (read, start, end) => seen.push(`d:${digest(read.subarray(start, end))}`),
    (msg) => seen.push(`${String.fromCharCode(msg[0]!)}:${digest(msg)}`),
  );
  for (const r of reads) framer.push(r);
  return seen;
}

// a replication stream's shapes: the copy's start, XLogData of many sizes (an empty one too),
// keepalives, a notice, a large payload that spans several reads, and the copy's end
const stream = Buffer.concat([
  message('W', Buffer.from([0, 0, 0])),
  message('d', Buffer.from('w' + 'x'.repeat(30))),
  message('d', Buffer.alloc(0)),
  message('d', Buffer.from('k' + '\u0001'.repeat(17))),
  message('N', Buffer.from('SNOTICE\0\0')),
  message('d', Buffer.from('w' + '订单 Orders '.repeat(40))),
  message('d', Buffer.alloc(70_000, 7)),
  message('d', Buffer.from('wB')),
  message('c', Buffer.alloc(0)),
]);

describe('CopyDataFramer', () => {
  const whole = frame([stream]);

  test('one read: every message in order, CopyData as payload ranges, the rest whole', () => {
    expect(whole).toHaveLength(9);
    expect(whole[0]).toBe(`W:${digest(message('W', Buffer.from([0, 0, 0])))}`);
    expect(whole[1]).toBe(`d:${digest(Buffer.from('w' + 'x'.repeat(30)))}`);
    expect(whole[2]).toBe(`d:${digest(Buffer.alloc(0))}`);
    expect(whole[4]!.startsWith('N:')).toBe(true);
    expect(whole[6]).toBe(`d:${digest(Buffer.alloc(70_000, 7))}`);
    expect(whole[8]).toBe(`c:${digest(message('c', Buffer.alloc(0)))}`);
  });

  test('split into two reads at every position (inside headers too): the same messages', () => {
    // the large payload's middle is skipped in steps: each split inside it is the same case
    for (let cut = 1; cut < stream.length; cut += cut > 1_000 && cut < stream.length - 1_000 ? 997 : 1) {
      expect(frame([stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual(whole);
    }
  });

  test('one byte per read, and reads of random sizes: the same messages', () => {
    const head = stream.subarray(0, 2_000); // the byte-by-byte case on the small messages
    const expected = frame([head]);
    expect(frame([...head].map((b) => Buffer.from([b])))).toEqual(expected);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 50; run++) {
      const reads: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * (random() < 0.5 ? 16 : 20_000));
        reads.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(frame(reads)).toEqual(whole);
    }
  });

  test('a message not yet complete is held, not handed over', () => {
    const seen = frame([stream.subarray(0, stream.length - 1)]);
    expect(seen).toEqual(whole.slice(0, 8));
  });

  describe('a large message in many reads', () => {
    afterEach(() => vi.restoreAllMocks());

    test('each of its bytes is copied once, however many reads it spans (an 8 MB value took seconds: the held part was copied again per read)', () => {
      const big = message('d', Buffer.alloc(1024 * 1024, 5));
      const reads: Buffer[] = [];
      for (let at = 0; at < big.length; at += 1000) reads.push(big.subarray(at, at + 1000));
      // every way the framer can copy bytes: concatenation and copy
      let copied = 0;
      const concat = Buffer.concat;
      vi.spyOn(Buffer, 'concat').mockImplementation((list, total) => {
        const out = concat(list, total);
        copied += out.length;
        return out;
      });
      const copy = Buffer.prototype.copy;
      vi.spyOn(Buffer.prototype, 'copy').mockImplementation(function (this: Buffer, ...args: unknown[]) {
        const n = copy.apply(this, args as Parameters<Buffer['copy']>);
        copied += n;
        return n;
      });
      const seen: string[] = [];
      const framer = new CopyDataFramer((read, start, end) => seen.push(digest(read.subarray(start, end))), () => seen.push('other'));
      for (const r of reads) framer.push(r);
      vi.restoreAllMocks();
      expect(seen).toEqual([digest(Buffer.alloc(1024 * 1024, 5))]);
      expect(copied).toBeLessThanOrEqual(big.length + 5);
    });
  });
});
