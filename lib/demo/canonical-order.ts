import { createHash } from 'node:crypto';

/**
 * The one order shape both apps answer with, whatever their schema, so a ledger taken through
 * the router can be checked on either system. Money is a string with two decimals ('12.30').
 */
export interface CanonicalOrderItem {
  readonly productId: number;
  readonly quantity: number;
  readonly unitPrice: string;
}

export interface CanonicalOrder {
  readonly id: number;
  readonly customerId: number;
  readonly status: string;
  readonly totalAmount: string;
  readonly items: readonly CanonicalOrderItem[];
}

/** Rebuilds the order with a fixed key order (and drops unknown fields) so equal orders serialize equally. */
export function canonicalOrder(o: CanonicalOrder): CanonicalOrder {
  return {
    id: Number(o.id),
    customerId: Number(o.customerId),
    status: String(o.status),
    totalAmount: String(o.totalAmount),
    items: o.items.map((i) => ({ productId: Number(i.productId), quantity: Number(i.quantity), unitPrice: String(i.unitPrice) })),
  };
}

/** SHA-256 (hex) of the canonical JSON: what the ledger stores and compares. */
export function orderHash(o: CanonicalOrder): string {
  return createHash('sha256').update(JSON.stringify(canonicalOrder(o))).digest('hex');
}

export function isCanonicalOrder(v: unknown): v is CanonicalOrder {
  const o = v as Partial<CanonicalOrder> | null;
  return !!o && typeof o === 'object' && Number.isFinite(Number(o.id)) && typeof o.status === 'string' && typeof o.totalAmount === 'string' && Array.isArray(o.items);
}

/** '12.3' / '12.30' -> 1230. Money never goes through floating point. */
export function moneyToCents(text: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) throw new Error(`not a money amount: ${JSON.stringify(text)}`);
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
  return m[1] ? -cents : cents;
}

export function centsToMoney(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
