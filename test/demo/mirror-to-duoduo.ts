import type pg from 'pg';
import { mapCategoryCode } from '../../lib/demo/categories.ts';
import { copyRows } from '../../lib/demo/copy-rows.ts';
import { generateCainiaoData, type CainiaoSeedOptions } from '../../lib/demo/generator.ts';
import { INVALID_STATUS, normalizeLegacyStatus } from '../../lib/demo/order-status.ts';

/**
 * Test oracle: loads into duoduo what the forward mapping should produce from the same generated
 * cainiao data, written independently of the mapping engine (TypeScript normalizers, not SQLite),
 * applied as replica like the replicator so legacy orphans land.
 */
export async function mirrorToDuoduo(client: pg.ClientBase, options: CainiaoSeedOptions): Promise<void> {
  const d = generateCainiaoData(options);
  const s = (v: unknown) => (v === null ? null : String(v));
  await client.query('begin');
  await client.query('set local session_replication_role = replica');
  await copyRows(client, 'customers', ['id', 'name', 'phone', 'email', 'address', 'created_at'], d.customers.map((c) => [
    c[0]!, c[1]!, c[2] === null ? null : String(c[2]).trim().replace(/[ -]/g, ''), c[3] === null ? null : String(c[3]).trim().toLowerCase(), c[4]!, c[7]!,
  ]));
  await copyRows(client, 'products', ['id', 'name', 'category', 'price', 'created_at'], d.products.filter((p) => p[4] !== 'Y').map((p) => [
    p[0]!, p[1]!, mapCategoryCode(s(p[2])), p[3]!, p[6]!,
  ]));
  await copyRows(client, 'inventory', ['product_id', 'quantity', 'warehouse'], d.inventory.map((i) => [i[0]!, i[1]!, i[2]!]));
  await copyRows(client, 'orders', ['id', 'customer_id', 'status', 'total_amount', 'created_at', 'updated_at'], d.orders.filter((o) => o[2] !== INVALID_STATUS).map((o) => [
    o[0]!, o[1]!, normalizeLegacyStatus(String(o[2])), o[3]!, o[4]!, o[5]!,
  ]));
  await copyRows(client, 'order_items', ['id', 'order_id', 'product_id', 'quantity', 'unit_price'], d.items.map((i) => [i[0]!, i[1]!, i[2]!, i[3]!, i[4]!]));
  await client.query('commit');
}
