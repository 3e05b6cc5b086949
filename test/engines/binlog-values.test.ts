import { describe, expect, test } from 'vitest';
import { binlogPositionToLsn, compareBinlogPositions, formatBinlogPosition, lsnToBinlogPosition, parseBinlogPosition } from '../../lib/engines/mysql/binlog-position.ts';
import { pgTextConverter } from '../../lib/engines/mysql/mysql-pg-text.ts';
import { compareLsn } from '../../lib/replication/lsn.ts';
import { thrownCutoverError } from '../_helpers/cutover-error.ts';

function expectCutoverError(fn: () => unknown, code: string, message: RegExp): void {
  const err = thrownCutoverError(fn);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

describe('binlog positions in pg_lsn form', () => {
  test('order is kept across offsets and files, and the form converts back', () => {
    const ps = [
      { file: 'binlog.000009', position: 4 },
      { file: 'binlog.000009', position: 4_294_967_295 },
      { file: 'binlog.000010', position: 4 },
      { file: 'binlog.000010', position: 1_000 },
    ];
    for (let i = 0; i + 1 < ps.length; i++) {
      expect(compareLsn(binlogPositionToLsn(ps[i]!), binlogPositionToLsn(ps[i + 1]!))).toBe(-1);
      expect(compareBinlogPositions(ps[i]!, ps[i + 1]!)).toBe(-1);
    }
    expect(binlogPositionToLsn({ file: 'binlog.000042', position: 500 })).toBe('2A/1F4');
    expect(lsnToBinlogPosition('2A/1F4', 'binlog.000001')).toEqual({ file: 'binlog.000042', position: 500 });
    expect(parseBinlogPosition(formatBinlogPosition({ file: 'mysql-bin.000003', position: 157 }))).toEqual({ file: 'mysql-bin.000003', position: 157 });
  });

  test('bad input is refused with the form expected', () => {
    expectCutoverError(() => parseBinlogPosition('16/B374D848'), 'USAGE', /not a binary log position/);
    expectCutoverError(() => binlogPositionToLsn({ file: 'binlog', position: 4 }), 'INTERNAL', /sequence number/);
  });
});

describe('MySQL values as PostgreSQL text', () => {
  test('tinyint(1) and bit(1) are booleans (non-zero is true); a tinyint(1) unsigned or tinyint(4) is a number', () => {
    const b = pgTextConverter('tinyint(1)', 't.flag');
    expect([b(1), b(0), b(2), b(-1), b('0'), b(null)]).toEqual(['t', 'f', 't', 't', 'f', null]);
    expect(pgTextConverter('bit(1)', 't.b')(Buffer.from([1]))).toBe('t');
    expect(pgTextConverter('tinyint(4)', 't.n')(2)).toBe('2');
    expect(pgTextConverter('tinyint(1) unsigned', 't.n')(2)).toBe('2');
  });

  test('zero dates and zero parts become NULL (as DMS writes them); fractions are kept', () => {
    const d = pgTextConverter('datetime(6)', 't.at');
    expect([d('0000-00-00 00:00:00.000000'), d('2024-00-10 00:00:00'), d('2024-02-00'), d('2024-02-29 23:59:59.999999')]).toEqual([null, null, null, '2024-02-29 23:59:59.999999']);
    expectCutoverError(() => d(new Date(0)), 'INTERNAL', /JavaScript Date/);
  });

  test("an ENUM's invalid-value index is '', any other value the decoder could not produce is an error", () => {
    expect(pgTextConverter("enum('a','b')", 't.e')(undefined)).toBe('');
    expectCutoverError(() => pgTextConverter('decimal(20,6)', 't.amount')(undefined), 'INTERNAL', /no value for column t\.amount/);
  });

  test('bytes are bytea hex; DECIMAL and big integers stay as their digits; a parsed JSON value is written back as JSON', () => {
    expect(pgTextConverter('blob', 't.b')(Buffer.from([0, 255]))).toBe('\\x00ff');
    expect(pgTextConverter('decimal(20,6)', 't.d')('12345678901234.123456')).toBe('12345678901234.123456');
    expect(pgTextConverter('bigint(20) unsigned', 't.n')('18446744073709551615')).toBe('18446744073709551615');
    expect(pgTextConverter('json', 't.j')({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
  });
});
