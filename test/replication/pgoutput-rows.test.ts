import { describe, expect, test } from 'vitest';
import { CopyTextBuffer } from '../../lib/replication/copy-text-buffer.ts';
import { decodeCopyLine } from '../../lib/replication/copy-text.ts';
import { isBoundaryMessage, lazyInsert, parseBoundaryMessage, parseRowMessage } from '../../lib/replication/pgoutput-rows.ts';

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

/** An Insert `I` of relation 7 as pgoutput sends it: text values, null as 'n'. */
function insert(values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from('I'), Buffer.alloc(4), Buffer.from('N'), Buffer.alloc(2)];
  parts[1]!.writeInt32BE(7);
  parts[3]!.writeInt16BE(values.length);
  for (const v of values) {
    if (v === null) parts.push(Buffer.from('n'));
    else {
      const bytes = Buffer.from(v, 'utf8');
      const len = Buffer.alloc(5);
      len.write('t');
      len.writeInt32BE(bytes.length, 1);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

describe('PgoutputInsert (an insert kept as bytes)', () => {
  const relation = { relationOid: 7, schema: 'Ventes', name: '订单 Orders', keyColumns: ['Id'], columns: [{ name: 'Id' }, { name: 'note' }, { name: 'skip' }, { name: '名字' }] };
  const relations = new Map([[7, relation]]) as unknown as Parameters<typeof lazyInsert>[1];
  const values = ['42', 'tab\there\nline\r\\ back\\slash', 'not copied', '商品 ✓'];
  // two messages in one read, the second at an offset (as the stream reads them)
  const first = insert(values);
  const second = insert(['43', null, '', '']);
  const read = Buffer.concat([first, second]);

  test('its row is what the eager parser reads, parsed on demand; a key is read without the rest', () => {
    const a = lazyInsert(read, relations, 0);
    const b = lazyInsert(read, relations, first.length);
    expect(a).toMatchObject({ kind: 'insert', schema: 'Ventes', table: '订单 Orders' });
    expect(b.pick(['Id'])).toEqual({ Id: '43' });
    expect(b.pick(['note', '名字'])).toEqual({ note: null, 名字: '' });
    expect(a.newRow).toEqual((parseRowMessage(read, relations, 0) as unknown as { new: unknown }).new);
    expect(b.newRow).toEqual({ Id: '43', note: null, skip: '', 名字: '' });
    expect(JSON.parse(JSON.stringify(a))).toEqual({ kind: 'insert', schema: 'Ventes', table: '订单 Orders', newRow: a.newRow });
  });

  test('its key as the record of changed keys writes it, from the bytes, only where every key value may stand bare', () => {
    const a = lazyInsert(read, relations, 0);
    const b = lazyInsert(read, relations, first.length);
    expect(a.bareKeyText([0])).toBe('{42}');
    expect(b.bareKeyText([0])).toBe('{43}');
    // quoting needed, or not a value: the caller quotes from pick()
    expect(a.bareKeyText([2])).toBeNull(); // a space
    expect(a.bareKeyText([3])).toBeNull(); // not ASCII
    expect(b.bareKeyText([1])).toBeNull(); // NULL
    expect(b.bareKeyText([2])).toBeNull(); // empty
    expect(b.bareKeyText([0, 2])).toBeNull();
    const composite = (vals: (string | null)[]) => {
      const r = Buffer.concat([insert(vals)]);
      return lazyInsert(r, relations, 0);
    };
    expect(composite(['7', 'x', 'A-b_c.d:e+f', 'y']).bareKeyText([0, 2])).toBe('{7,A-b_c.d:e+f}');
    expect(composite(['-12.5', 'x', 'NULLS', 'y']).bareKeyText([0, 2])).toBe('{-12.5,NULLS}');
    for (const word of ['NULL', 'null', 'Null', 'nuLL']) expect(composite(['1', 'x', word, 'y']).bareKeyText([0, 2])).toBeNull();
    expect(composite(['1', 'x', 'a"b', 'y']).bareKeyText([2])).toBeNull();
    expect(composite(['1', 'x', 'a,b', 'y']).bareKeyText([2])).toBeNull();
    expect(composite(['1', 'x', '{a}', 'y']).bareKeyText([2])).toBeNull();
    // key order is not column order: left to pick()
    expect(composite(['1', 'x', '2', 'y']).bareKeyText([2, 0])).toBeNull();
  });

  test('a COPY line from its bytes: the chosen columns, COPY text escapes, NULL as \\N, an empty string empty', () => {
    const out = new CopyTextBuffer(8); // grows
    lazyInsert(read, relations, 0).appendCopyLine(out, [true, true, false, true]);
    lazyInsert(read, relations, first.length).appendCopyLine(out, [true, true, false, true]);
    const text = out.data().toString('utf8');
    const lines = text.split('\n');
    expect(lines).toHaveLength(3); // two rows and the empty rest: no raw newline inside a value
    expect(lines[0]).toBe('42\ttab\\there\\nline\\r\\\\ back\\\\slash\t商品 ✓');
    expect(decodeCopyLine(lines[0]!)).toEqual([values[0], values[1], values[3]]);
    expect(decodeCopyLine(lines[1]!)).toEqual(['43', null, '']);
  });
});
