/**
 * PostgreSQL WAL positions (`16/B374D848`) as bigints, so they can be compared and subtracted.
 */
export type Lsn = string;

export const ZERO_LSN: Lsn = '0/0';

export function lsnToBigInt(lsn: Lsn): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(lsn)} (expected e.g. "0/16B3748")`);
  return (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]);
}

export function bigIntToLsn(value: bigint): Lsn {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function isLsn(value: unknown): value is Lsn {
  return typeof value === 'string' && /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(value);
}

/** Called per source transaction on the CDC path: two 32-bit halves compared as numbers, no BigInt. */
export function compareLsn(a: Lsn, b: Lsn): number {
  const ah = lsnHigh(a);
  const bh = lsnHigh(b);
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = lsnLow(a);
  const bl = lsnLow(b);
  return al < bl ? -1 : al > bl ? 1 : 0;
}

const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

function lsnHigh(lsn: Lsn): number {
  if (!LSN.test(lsn)) lsnToBigInt(lsn); // throws the error that names the value
  return parseInt(lsn.slice(0, lsn.indexOf('/')), 16);
}

function lsnLow(lsn: Lsn): number {
  return parseInt(lsn.slice(lsn.indexOf('/') + 1), 16);
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return compareLsn(a, b) >= 0 ? a : b;
}

/** Bytes from `from` to `to`, never negative. */
export function lsnDistance(from: Lsn, to: Lsn): number {
  const d = lsnToBigInt(to) - lsnToBigInt(from);
  return d > 0n ? Number(d) : 0;
}
