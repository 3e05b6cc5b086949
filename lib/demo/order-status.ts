/**
 * Order statuses. cainiao keeps the status as free text typed by several generations of clients
 * ("new ", "Paid", "已发货"…); duoduo allows only the canonical values (CHECK constraint). The
 * forward mapping's CASE expression and the cainiao app's read path both normalize with this one
 * table, and a test evaluates the mapping file's expression in SQLite against it.
 */
export const CANONICAL_STATUSES = ['CREATED', 'PAID', 'SHIPPED', 'CANCELLED'] as const;
export type OrderStatus = (typeof CANONICAL_STATUSES)[number];

/** The status cainiao writes for a voided order; the forward mapping's selection filter drops it. */
export const INVALID_STATUS = 'INVALID';

/** Legacy spellings (after `upper(trim(...))`) that differ from the canonical value. */
export const LEGACY_STATUS_ALIASES: Readonly<Record<string, OrderStatus>> = {
  NEW: 'CREATED',
  新建: 'CREATED',
  待付款: 'CREATED',
  已付款: 'PAID',
  PAYED: 'PAID',
  已发货: 'SHIPPED',
  DELIVERED: 'SHIPPED',
  CANCELED: 'CANCELLED',
  已取消: 'CANCELLED',
};

/** How legacy rows spell each status, as the generator writes them (raw, untrimmed). */
export const LEGACY_STATUS_SPELLINGS: Readonly<Record<OrderStatus, readonly string[]>> = {
  CREATED: ['CREATED', 'created', 'new ', 'NEW', '新建', '待付款'],
  PAID: ['PAID', 'paid', ' Paid', 'payed', '已付款'],
  SHIPPED: ['SHIPPED', 'shipped', 'Shipped ', 'delivered', '已发货'],
  CANCELLED: ['CANCELLED', 'canceled', 'Cancelled ', '已取消'],
};

/** The normalization in TypeScript (ASCII upper-casing, as SQLite's and PostgreSQL's `upper` agree on it). */
export function normalizeLegacyStatus(raw: string): string {
  const key = raw.trim().replace(/[a-z]/g, (c) => c.toUpperCase());
  return LEGACY_STATUS_ALIASES[key] ?? key;
}

/**
 * The same normalization as a SQL CASE over `column` — valid in both SQLite (the DMS expression
 * language) and PostgreSQL. `column` is inserted verbatim (`$status` in a mapping, `o.status` in SQL).
 */
export function legacyStatusCaseSql(column: string): string {
  const whens = Object.entries(LEGACY_STATUS_ALIASES)
    .map(([from, to]) => `WHEN '${from}' THEN '${to}'`)
    .join(' ');
  return `CASE upper(trim(${column})) ${whens} ELSE upper(trim(${column})) END`;
}

/** Allowed transitions of the apps' pay and ship actions. */
export const NEXT_STATUS = { pay: { from: 'CREATED', to: 'PAID' }, ship: { from: 'PAID', to: 'SHIPPED' } } as const;
export type OrderAction = keyof typeof NEXT_STATUS;
