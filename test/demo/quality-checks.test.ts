import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { qualityCheckSchema, reconciliationSchema, smokeStepSchema } from '../../lib/config/common-schema.ts';
import { createDuoduoSchema } from '../../lib/demo/duoduo-schema.ts';
import { CLEAN_RATES, seedCainiao } from '../../lib/demo/generator.ts';
import { CAINIAO_QUALITY_CHECKS } from '../../lib/demo/quality-checks.ts';
import { DEMO_RECONCILIATION } from '../../lib/demo/reconciliation.ts';
import { demoSmokeFlow } from '../../lib/demo/smoke-flow.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

const EXPECTED_KIND: Record<string, string> = {
  'duplicate-customers': 'duplicateCustomers',
  'malformed-emails': 'malformedEmails',
  'malformed-phones': 'malformedPhones',
  'invalid-orders': 'invalidOrders',
  'duplicate-orders': 'duplicateOrders',
  'orphan-order-items': 'orphanOrderItems',
  'discontinued-products-stocked': 'discontinuedStocked',
  'retired-categories': 'retiredCategories',
};

describe('cainiao quality checks, reconciliation pairs and smoke flow', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  beforeAll(async () => {
    server = await startTestPostgres('qc');
    await server.createDatabase('clean');
    await server.createDatabase('duoduo');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('are valid config entries', () => {
    for (const c of CAINIAO_QUALITY_CHECKS) expect(() => qualityCheckSchema.parse(c)).not.toThrow();
    for (const r of DEMO_RECONCILIATION) expect(() => reconciliationSchema.parse(r)).not.toThrow();
    for (const s of demoSmokeFlow({ customerId: 1, productId: 2 })) expect(() => smokeStepSchema.parse(s)).not.toThrow();
    expect(Object.keys(EXPECTED_KIND).sort()).toEqual(CAINIAO_QUALITY_CHECKS.map((c) => c.id).sort());
  });

  test('find exactly the injected dirty data, with its keys', async () => {
    const c = await connect(server.url);
    try {
      const summary = await seedCainiao(c, { seed: 11, orders: 3000 });
      for (const check of CAINIAO_QUALITY_CHECKS) {
        const { rows } = await c.query(check.sql);
        const expected = summary.injected[EXPECTED_KIND[check.id] as keyof typeof summary.injected];
        expect({ id: check.id, findings: rows.length }).toEqual({ id: check.id, findings: expected });
        expect(expected).toBeGreaterThan(0);
      }
      const invalid = await c.query(CAINIAO_QUALITY_CHECKS.find((x) => x.id === 'invalid-orders')!.sql);
      expect(Object.keys(invalid.rows[0])).toEqual(['order_id']);
    } finally {
      await c.end();
    }
  });

  test('find nothing in clean data', async () => {
    const c = await connect(server.urlFor('clean'));
    try {
      await seedCainiao(c, { seed: 11, orders: 2000, rates: CLEAN_RATES });
      for (const check of CAINIAO_QUALITY_CHECKS) {
        const { rows } = await c.query(check.sql);
        expect({ id: check.id, findings: rows.length }).toEqual({ id: check.id, findings: 0 });
      }
    } finally {
      await c.end();
    }
  });

  test('reconciliation queries run on both schemas', async () => {
    const src = await connect(server.url);
    const dst = await connect(server.urlFor('duoduo'));
    try {
      await createDuoduoSchema(dst);
      for (const pair of DEMO_RECONCILIATION) {
        const s = await src.query(pair.source);
        expect(s.rows.length).toBeGreaterThan(0);
        await dst.query(pair.target);
      }
      // amounts exclude voided orders: the per-status sums add up to the non-INVALID total
      const [byDay] = DEMO_RECONCILIATION;
      const { rows } = await src.query(byDay!.source);
      const total = await src.query(`select sum(total_amt::numeric)::text as t from t_order where status <> 'INVALID'`);
      expect(rows.reduce((s, r) => s + Math.round(Number(r.amount) * 100), 0)).toBe(Math.round(Number(total.rows[0].t) * 100));
      expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['CREATED', 'PAID', 'SHIPPED', 'CANCELLED']));
    } finally {
      await src.end();
      await dst.end();
    }
  });
});
