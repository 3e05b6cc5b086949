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
    compare: [],
    accepted: [],
  };
}
