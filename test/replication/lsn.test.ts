import { describe, expect, test } from 'vitest';
import { compareLsn, maxLsn } from '../../lib/replication/lsn.ts';

describe('compareLsn', () => {
  test('orders by the high half first, then the low half, as numbers (not as text)', () => {
    expect(compareLsn('0/9', '0/10')).toBe(-1);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBe(1);
    expect(compareLsn('A/1', '9/FFFFFFFF')).toBe(1);
    expect(compareLsn('16/B374D848', '16/b374d848')).toBe(0);
    expect(compareLsn('00000016/0000000F', '16/F')).toBe(0);
    expect(compareLsn('FFFFFFFF/FFFFFFFF', 'FFFFFFFF/FFFFFFFE')).toBe(1);
    expect(maxLsn('0/10', '0/9')).toBe('0/10');
  });

  test('fails if a position is not an LSN', () => {
    expect(() => compareLsn('0/1', 'nope')).toThrow(/not a PostgreSQL LSN: "nope"/);
    expect(() => compareLsn('1/2/3', '0/1')).toThrow(/not a PostgreSQL LSN/);
  });
});
