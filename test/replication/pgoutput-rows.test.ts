import { describe, expect, test } from 'vitest';
import { isBoundaryMessage, parseBoundaryMessage } from '../../lib/replication/pgoutput-rows.ts';

/** 2026-12-06T10:45:26.123456Z as pgoutput sends it: microseconds since 2000-01-01. */
const COMMIT_MICROS = BigInt(Date.UTC(2026, 11, 6, 10, 45, 26, 123) - Date.UTC(2000, 0, 1)) * 1000n + 456n;

function begin(lsn: bigint): Buffer {
  const b = Buffer.alloc(21);
  b.write('B', 0);
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(COMMIT_MICROS, 9);
  b.writeInt32BE(4242, 17);
  return b;
}

function commit(lsn: bigint, end: bigint): Buffer {
  const b = Buffer.alloc(26);
  b.write('C', 0);
  b.writeUInt8(0, 1);
  b.writeBigUInt64BE(lsn, 2);
  b.writeBigUInt64BE(end, 10);
  b.writeBigUInt64BE(COMMIT_MICROS, 18);
  return b;
}

describe('parseBoundaryMessage', () => {
  test('a Begin gives its commit position as PostgreSQL prints it and its commit time', () => {
    const msg = parseBoundaryMessage(begin(0x16_0000_0b37n)) as unknown as { tag: string; commitLsn: string; commitTime: number; xid: number };
    expect(msg).toMatchObject({ tag: 'begin', commitLsn: '16/B37', xid: 4242 });
    expect(new Date(msg.commitTime).toISOString()).toBe('2026-12-06T10:45:26.123Z');
  });

  test('a Commit gives its end position (no leading zeros, upper case; the high half counts)', () => {
    const msg = parseBoundaryMessage(commit(0xffff_ffff_0000_0000n, 0x1_00ab_cdefn)) as unknown as { tag: string; commitEndLsn: string };
    expect(msg).toMatchObject({ tag: 'commit', commitEndLsn: '1/ABCDEF' });
    expect((parseBoundaryMessage(commit(0n, 0n)) as unknown as { commitEndLsn: string | null }).commitEndLsn).toBeNull();
  });

  test('only Begin and Commit are boundaries', () => {
    expect(isBoundaryMessage(begin(1n))).toBe(true);
    expect(isBoundaryMessage(commit(1n, 2n))).toBe(true);
    expect(isBoundaryMessage(Buffer.from('I'))).toBe(false);
    expect(isBoundaryMessage(Buffer.from('O'))).toBe(false);
  });
});
