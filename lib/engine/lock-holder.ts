import type { LockHolder } from './journal-store.ts';

/** `alice@db-host pid 4242 running "cutover shift" since 2025-01-01T02:00:00.000Z` */
export function describeHolder(h: LockHolder): string {
  return `${h.operator}@${h.host} pid ${h.pid} running "${h.command}" since ${h.since}`;
}
