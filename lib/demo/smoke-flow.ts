import type { z } from 'zod';
import type { smokeStepSchema } from '../config/common-schema.ts';

/**
 * The business flow checked against green before any traffic moves (下单 → 付款 → 发货 → 对账),
 * as config `smoke` steps. It uses the smoke-test account and product from `seedCainiao`'s
 * summary and ends by purging its order (the apps allow DELETE only for smoke-test accounts),
 * so green holds nothing blue does not: validation stays equal. Stock of the smoke product is
 * returned by the purge, and the load generator never orders it.
 */
export type SmokeStepInput = z.input<typeof smokeStepSchema>;

export function demoSmokeFlow(smoke: { customerId: number; productId: number }): SmokeStepInput[] {
  return [
    { name: 'health', method: 'GET', path: '/health', expectStatus: 200, expectBody: { ok: true } },
    {
      name: 'place order (下单)',
      method: 'POST',
      path: '/orders',
      body: { customerId: smoke.customerId, items: [{ productId: smoke.productId, quantity: 1 }] },
      expectStatus: 201,
      expectBody: { status: 'CREATED', customerId: smoke.customerId, totalAmount: '1.00' },
      capture: { orderId: 'id' },
    },
    { name: 'pay (付款)', method: 'POST', path: '/orders/{orderId}/pay', expectStatus: 200, expectBody: { status: 'PAID' } },
    { name: 'ship (发货)', method: 'POST', path: '/orders/{orderId}/ship', expectStatus: 200, expectBody: { status: 'SHIPPED' } },
    { name: 'read back', method: 'GET', path: '/orders/{orderId}', expectStatus: 200, expectBody: { status: 'SHIPPED', 'items.0.productId': smoke.productId } },
    { name: 'reconcile (对账)', method: 'GET', path: '/reconciliation', expectStatus: 200 },
    { name: 'purge the smoke order', method: 'DELETE', path: '/orders/{orderId}', expectStatus: 200, expectBody: { deleted: true } },
  ];
}
