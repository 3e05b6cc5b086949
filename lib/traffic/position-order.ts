/**
 * Orders two replication positions when their form is known: PostgreSQL LSNs (`16/B374D848`)
 * or plain integers. Returns null for opaque positions (DMS checkpoints): then only the
 * replicator's own `waitForPosition` answer is evidence.
 */
export function positionAtLeast(position: string | undefined | null, atLeast: string): boolean | null {
  if (!position) return null;
  const a = asBigInt(position);
  const b = asBigInt(atLeast);
  if (a === null || b === null) return null;
  return a >= b;
}

function asBigInt(p: string): bigint | null {
  const lsn = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(p);
  if (lsn) return (BigInt('0x' + lsn[1]) << 32n) + BigInt('0x' + lsn[2]);
  if (/^\d+$/.test(p)) return BigInt(p);
  return null;
}
