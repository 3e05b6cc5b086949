import type { ShadowConfig } from '../config/common-schema.ts';

/**
 * The demo's shadow-read rules: the routes of the order apps (lib/demo/order-app.ts) and how
 * their answers are compared. Every real difference between the cainiao (blue) and duoduo
 * (green) answers is handled on purpose here: fixed in green, or declared accepted with its
 * reason (counted apart in the report).
 */
export function demoShadowConfig(o: { seconds: number; percent: number }): Partial<ShadowConfig> {
  return {
    seconds: o.seconds,
    percent: o.percent,
    noisePercent: 20,
    minSamples: 20,
    maxMismatchPercent: 1,
    examples: 3,
    routes: ['/orders/:id', '/customers/:id/orders', '/inventory/:id', '/reconciliation'],
    // Both apps answer the canonical order shape by construction (lib/demo/order-sql.ts: cainiao
    // hides voided orders, which duoduo never receives; money as 2-decimal text on both), and the
    // default rehearsal found no difference on /orders/:id, /customers/:id/orders or
    // /inventory/:id: no compare rule is needed, and none hides anything.
    compare: [],
    accepted: [
      {
        route: '/reconciliation',
        paths: ['$.days'],
        reason:
          "a whole-table report including today's orders: under live writes green trails blue by the replication lag, so today's counts differ on every read, also when asked again; validate's reconciliation checks (DEMO_RECONCILIATION) compare these totals at one replication point instead",
      },
    ],
  };
}
