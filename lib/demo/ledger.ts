import { canonicalOrder, orderHash, type CanonicalOrder } from './canonical-order.ts';
import { readCanonicalOrder, type Queryable } from './order-service.ts';
import type { Flavor } from './order-sql.ts';
import { CutoverError } from '../errors.ts';

/**
 * Every write a client saw acknowledged (2xx), by order id: the last acknowledged canonical
 * state and its SHA-256. At the end of a rehearsal each entry must be found on the final system
 * with the same content.
 *
 * A write whose answer never came (timeout, reset) may or may not have committed: the entry
 * keeps its last acknowledged state and remembers the status that write would have set, so the
 * check can tell "changed by an unacknowledged write" (uncertain) from "lost or corrupted".
 */
export interface LedgerEntry {
  readonly id: number;
  readonly order: CanonicalOrder;
  readonly sha256: string;
  /** Acknowledged writes for this order. */
  readonly writes: number;
  readonly acknowledgedAt: number;
  /** Status an unanswered write would have set, if one is outstanding. */
  readonly unansweredStatus?: string;
}

export class Ledger {
  private readonly map = new Map<number, LedgerEntry>();

  record(order: CanonicalOrder, at = Date.now()): LedgerEntry {
    const c = canonicalOrder(order);
    const prev = this.map.get(c.id);
    const entry: LedgerEntry = { id: c.id, order: c, sha256: orderHash(c), writes: (prev?.writes ?? 0) + 1, acknowledgedAt: at };
    this.map.set(c.id, entry);
    return entry;
  }

  /** A write for an acknowledged order got no answer; it may have set `status`. */
  markUnanswered(id: number, status: string): void {
    const prev = this.map.get(id);
    if (prev) this.map.set(id, { ...prev, unansweredStatus: status });
  }

  get(id: number): LedgerEntry | undefined {
    return this.map.get(id);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): LedgerEntry[] {
    return [...this.map.values()];
  }

  toJSON(): { id: number; sha256: string; status: string }[] {
    return this.entries().map((e) => ({ id: e.id, sha256: e.sha256, status: e.order.status }));
  }
}

export interface LedgerCheck {
  readonly acknowledged: number;
  /** Acknowledged orders not found on the checked system. */
  readonly missing: number[];
  /** Found, but not in the last acknowledged state (nor in the state of an unanswered later write). */
  readonly mismatched: number[];
  /** Found in the state an unanswered write would have set: not a loss, reported apart. */
  readonly uncertain: number[];
}

/**
 * Fetches every acknowledged order from the final system (`fetchOrder` returns the canonical
 * order or null) and compares hashes. Runs `concurrency` fetches at a time.
 */
export async function checkLedger(
  ledger: Ledger,
  fetchOrder: (id: number) => Promise<CanonicalOrder | null>,
  options: { concurrency?: number } = {},
): Promise<LedgerCheck> {
  const entries = ledger.entries().sort((a, b) => a.id - b.id);
  const missing: number[] = [];
  const mismatched: number[] = [];
  const uncertain: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const e = entries[next++]!;
      const found = await fetchOrder(e.id);
      if (!found) {
        missing.push(e.id);
        continue;
      }
      const hash = orderHash(found);
      if (hash === e.sha256) continue;
      if (e.unansweredStatus && hash === orderHash({ ...e.order, status: e.unansweredStatus })) uncertain.push(e.id);
      else mismatched.push(e.id);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, worker));
  const byId = (a: number, b: number) => a - b;
  return { acknowledged: entries.length, missing: missing.sort(byId), mismatched: mismatched.sort(byId), uncertain: uncertain.sort(byId) };
}

/** A `fetchOrder` for `checkLedger` that asks an app (or the router) over HTTP. */
export function fetchOrderOverHttp(baseUrl: string): (id: number) => Promise<CanonicalOrder | null> {
  return async (id) => {
    const res = await fetch(`${baseUrl}/orders/${id}`);
    if (res.status === 404) return null;
    if (!res.ok) {
      throw new CutoverError('CONNECTION_FAILED', `GET ${baseUrl}/orders/${id} answered ${res.status} while checking the ledger`, {
        fix: 'check that the app is up, or check the ledger against the database with fetchOrderFromDatabase',
      });
    }
    return (await res.json()) as CanonicalOrder;
  };
}

/** A `fetchOrder` for `checkLedger` that reads the database directly (the final system, no app in between). */
export function fetchOrderFromDatabase(db: Queryable, flavor: Flavor): (id: number) => Promise<CanonicalOrder | null> {
  // a single client runs one query at a time: queue the reads rather than pile them on it (a Pool runs them in parallel)
  const isPool = typeof (db as { totalCount?: unknown }).totalCount === 'number';
  if (isPool) return (id) => readCanonicalOrder(db, flavor, id);
  let queue: Promise<unknown> = Promise.resolve();
  return (id) => {
    const next = queue.then(() => readCanonicalOrder(db, flavor, id));
    queue = next.catch(() => {});
    return next;
  };
}
