import type pg from 'pg';
import { sourceTables } from '../assess/postgres-inspector.ts';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { loadTableMappings, readMappedCatalog, resolveSelected, sideScope } from '../mappings/index.ts';
import { openKitClient } from '../postgres/kit-client.ts';

/**
 * What `cutover estimate` needs to know of a `postgres` environment: the size of each source
 * table the forward mapping selects (assess statistics: planner rows, total relation bytes) and,
 * unless given, the rate of row changes on them from the source's statistics, sampled over a
 * few seconds.
 */
export async function environmentSizes(
  env: ResolvedPostgresEnvironment,
  options: { readonly sampleSeconds: number; readonly sampleWriteRate: boolean; readonly sleep?: (ms: number) => Promise<void> },
): Promise<{ tables: { name: string; rows: number; bytes: number }[]; writeChangesPerSec: number | null }> {
  const client = await openKitClient(env.source.url, 'cutover-estimate');
  try {
    const doc = await loadTableMappings(env.mappingFiles.forward);
    const read = await readMappedCatalog(client, doc, sideScope(env, 'source'));
    const mapped = resolveSelected(doc, read.catalog, read.schemas, 'source').tables;
    const selected = new Set(mapped.map((t) => `${t.source.schema}.${t.source.table}`));
    const schemas = [...new Set(mapped.map((t) => t.source.schema))];
    const tables = (await sourceTables(client, schemas)).filter((t) => selected.has(t.name)).map((t) => ({ name: t.name, rows: t.rows, bytes: t.bytes }));
    if (!options.sampleWriteRate) return { tables, writeChangesPerSec: null };
    const before = await changeCount(client, [...selected]);
    const t0 = performance.now();
    await (options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(options.sampleSeconds * 1000);
    const after = await changeCount(client, [...selected]);
    return { tables, writeChangesPerSec: Math.max(0, after - before) / ((performance.now() - t0) / 1000) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Rows inserted, updated and deleted so far in these tables (cumulative statistics; the current transaction's own view is avoided). */
async function changeCount(client: pg.Client, tables: readonly string[]): Promise<number> {
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ n: string }>(
    `select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text as n from pg_stat_user_tables where schemaname || '.' || relname = any($1)`,
    [tables],
  );
  return Number(rows[0]!.n);
}
