import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCainiaoSchema } from '../../lib/demo/cainiao-schema.ts';
import { createDuoduoSchema } from '../../lib/demo/duoduo-schema.ts';
import { seedCainiao, type CainiaoDataSummary } from '../../lib/demo/generator.ts';
import { FORWARD_MAPPING_FILE, REVERSE_MAPPING_FILE } from '../../lib/demo/mapping-files.ts';
import { readCanonicalOrder } from '../../lib/demo/order-service.ts';
import { createRowTransformer, findUnmatchedRules, parseTableMappings, readCatalog, resolveTableMappings, reverseCoverage, type MappedTable, type ResolvedMappings } from '../../lib/mappings/index.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { mirrorToDuoduo } from './mirror-to-duoduo.ts';

const SEED = { seed: 21, orders: 400 };
const root = new URL('../../', import.meta.url);
const load = (file: string) => parseTableMappings(JSON.parse(readFileSync(new URL(file, root), 'utf8')), file);

/** Copies every source row through the mapping engine's row transformer into the target (as replica, like the replicator). */
async function replicateThrough(mapped: ResolvedMappings, from: pg.Client, to: pg.Client): Promise<void> {
  await to.query('begin');
  await to.query('set local session_replication_role = replica');
  for (const table of [...mapped.tables].sort((a, b) => b.loadOrder - a.loadOrder)) {
    const transformer = await createRowTransformer(table);
    try {
      // the replicator sees the source as text (COPY / pgoutput), so read it that way
      const cols = sourceColumnsOf(table);
      const { rows } = await from.query(`select ${cols.map((c) => `${c}::text as ${c}`).join(', ')} from ${table.source.table}`);
      const out = rows.map((row) => transformer.transform(row)).filter((r): r is Record<string, unknown> => r !== null);
      const names = table.columns.map((c) => c.target);
      for (let i = 0; i < out.length; i += 500) {
        const batch = out.slice(i, i + 500);
        const values = batch.map((_, r) => `(${names.map((_, k) => `$${r * names.length + k + 1}`).join(', ')})`);
        await to.query(`insert into ${table.target.table} (${names.join(', ')}) values ${values.join(', ')}`, batch.flatMap((row) => names.map((n) => row[n])));
      }
    } finally {
      transformer.close();
    }
  }
  await to.query('commit');
}

function sourceColumnsOf(table: MappedTable): string[] {
  const fromRules = table.columns.flatMap((c) => (c.kind === 'copy' ? [c.source] : c.dependsOn));
  const filterColumns = table.filters.map((f) => f.column);
  return [...new Set([...fromRules, ...filterColumns])];
}

async function dump(c: pg.Client, table: string): Promise<string[]> {
  const { rows } = await c.query(`select t::text as r from ${table} t order by 1`);
  return rows.map((r) => r.r);
}

describe('demo mappings executed by the mapping engine', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cainiao: pg.Client;
  let viaEngine: pg.Client;
  let oracle: pg.Client;
  let summary: CainiaoDataSummary;
  beforeAll(async () => {
    server = await startTestPostgres('cainiao');
    for (const db of ['engine', 'oracle', 'roundtrip']) await server.createDatabase(db);
    cainiao = await connect(server.url);
    viaEngine = await connect(server.urlFor('engine'));
    oracle = await connect(server.urlFor('oracle'));
    summary = await seedCainiao(cainiao, SEED);
    await createDuoduoSchema(viaEngine);
    await createDuoduoSchema(oracle);
    await mirrorToDuoduo(oracle, SEED);
  });
  afterAll(async () => {
    await Promise.all([cainiao, viaEngine, oracle].map((c) => c?.end().catch(() => {})));
    await server?.dispose();
  });

  test('the forward mapping selects the five tables with the expected renames and filters, covering every duoduo column', async () => {
    const resolved = resolveTableMappings(load(FORWARD_MAPPING_FILE), await readCatalog(cainiao, ['public']));
    const pairs = resolved.tables.map((t) => [t.source.table, t.target.table, t.filterSql !== null]);
    expect(pairs.sort()).toEqual([
      ['t_customer', 'customers', false],
      ['t_inventory', 'inventory', false],
      ['t_order', 'orders', true],
      ['t_order_item', 'order_items', false],
      ['t_product', 'products', true],
    ]);
    expect(resolved.withoutPrimaryKey).toEqual([]);
    const target = await readCatalog(viaEngine, ['public']);
    for (const t of resolved.tables) {
      const duoduo = target.tables.find((x) => x.table === t.target.table)!;
      expect({ table: t.target.table, columns: t.columns.map((c) => c.target).sort() }).toEqual({ table: t.target.table, columns: duoduo.columns.map((c) => c.name).sort() });
      expect(t.targetPrimaryKey).toEqual(duoduo.primaryKey);
      // every expression has a PostgreSQL form: validation hashes these tables in the database
      for (const c of t.columns) if (c.kind === 'expression') expect({ column: `${t.target.table}.${c.target}`, translated: c.postgresSql !== null }).toEqual({ column: `${t.target.table}.${c.target}`, translated: true });
    }
    const orders = resolved.tables.find((t) => t.source.table === 't_order')!;
    expect(orders.filters).toEqual([{ column: 'status', conditions: [{ operator: 'noteq', value: 'INVALID' }] }]);
  });

  test('full load through the engine is accepted by every duoduo constraint and equals the independent oracle', async () => {
    const resolved = resolveTableMappings(load(FORWARD_MAPPING_FILE), await readCatalog(cainiao, ['public']));
    await replicateThrough(resolved, cainiao, viaEngine);
    for (const [table, rows] of Object.entries(summary.expectedOnTarget)) {
      const { rows: n } = await viaEngine.query(`select count(*)::int as n from ${table}`);
      expect({ table, rows: n[0].n }).toEqual({ table, rows });
      expect(await dump(viaEngine, table)).toEqual(await dump(oracle, table));
    }
  });

  test('both mappings name only existing tables and columns, and the reverse one covers every forward target', async () => {
    const [blue, green] = await Promise.all([readCatalog(cainiao, ['public']), readCatalog(viaEngine, ['public'])]);
    expect(findUnmatchedRules(load(FORWARD_MAPPING_FILE), blue)).toEqual([]);
    expect(findUnmatchedRules(load(REVERSE_MAPPING_FILE), green)).toEqual([]);
    const coverage = reverseCoverage(resolveTableMappings(load(FORWARD_MAPPING_FILE), blue).tables, resolveTableMappings(load(REVERSE_MAPPING_FILE), green).tables);
    expect(coverage).toEqual({ ok: true, uncovered: [], exempted: [], columnGaps: [], unusedExemptions: [] });
  });

  test('the reverse mapping brings every table back to cainiao with the same canonical content', async () => {
    const reverse = resolveTableMappings(load(REVERSE_MAPPING_FILE), await readCatalog(viaEngine, ['public']));
    expect(reverse.tables.map((t) => `${t.source.table}->${t.target.table}`).sort()).toEqual([
      'customers->t_customer',
      'inventory->t_inventory',
      'order_items->t_order_item',
      'orders->t_order',
      'products->t_product',
    ]);
    const back = await connect(server.urlFor('roundtrip'));
    try {
      await createCainiaoSchema(back);
      await replicateThrough(reverse, viaEngine, back);
      for (const id of summary.ids.readableOrders) {
        const [before, after] = await Promise.all([readCanonicalOrder(cainiao, 'cainiao', id), readCanonicalOrder(back, 'cainiao', id)]);
        expect(after).toEqual(before);
      }
      const inv = async (c: pg.Client) => (await c.query(`select prod_id, qty, wh_cd from t_inventory order by prod_id`)).rows;
      expect(await inv(back)).toEqual(await inv(cainiao));
      // customers and products: what came back maps forward to exactly what green holds
      const again = resolveTableMappings(load(FORWARD_MAPPING_FILE), await readCatalog(back, ['public']));
      const second = `roundtrip_duoduo`;
      await server.createDatabase(second);
      const twice = await connect(server.urlFor(second));
      try {
        await createDuoduoSchema(twice);
        await replicateThrough({ ...again, tables: again.tables.filter((t) => ['t_customer', 't_product'].includes(t.source.table)) }, back, twice);
        for (const table of ['customers', 'products']) expect({ table, rows: await dump(twice, table) }).toEqual({ table, rows: await dump(viaEngine, table) });
      } finally {
        await twice.end();
      }
    } finally {
      await back.end();
    }
  });
});
