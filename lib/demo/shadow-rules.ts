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
    // The rehearsal runs both apps, their databases, the router and the load on one shared
    // machine (2 cores, often loaded 10-25): green's idle pool can take seconds to answer its
    // first reads there, a production green would not. So a shadow call waits 5 s (the router's
    // client path waits 10 s, so such an answer would still have served a client), and a route
    // may see up to 5 % of reads failed by green — on the ~25-60 samples per route of a short
    // rehearsal, one stray failure, not two. A green failing most reads is still blocked. A real
    // config keeps the defaults (2 s, 1 %) or sets its own.
    timeoutMs: 5000,
    maxFailedPercent: 5,
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
