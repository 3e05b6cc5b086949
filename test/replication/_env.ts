import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';

/** Identity DMS mapping: every table of `public`. */
export const IDENTITY_MAPPING = {
  rules: [
    { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' },
  ],
};

/** A resolved `postgres` environment for two test servers, state in a fresh temp folder. */
export function testEnvironment(
  sourceUrl: string,
  targetUrl: string,
  replication: Record<string, unknown> = {},
  mappings: { forward?: unknown; reverse?: unknown } = {},
  name = 'lab',
  /** More settings of the environment (`pacing`, `validation`, …). */
  settings: Record<string, unknown> = {},
): ResolvedPostgresEnvironment {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-repl-'));
  writeFileSync(path.join(dir, 'forward.json'), JSON.stringify(mappings.forward ?? IDENTITY_MAPPING));
  writeFileSync(path.join(dir, 'reverse.json'), JSON.stringify(mappings.reverse ?? IDENTITY_MAPPING));
  const config = parseConfig(
    {
      environments: {
        [name]: {
          platform: 'postgres',
          source: { url: sourceUrl },
          target: { url: targetUrl },
          mappings: { forward: 'forward.json', reverse: 'reverse.json' },
          replication,
          ...settings,
        },
      },
    },
    path.join(dir, 'cutover.config.json'),
  );
  return selectEnvironment(config, name) as ResolvedPostgresEnvironment;
}

export async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

/** Row count and an md5 over every row's text form, in key order. */
export async function tableDigest(url: string, table: string, key = 'id'): Promise<{ rows: number; md5: string | null }> {
  const r = await sql(url, `select count(*)::int as rows, md5(string_agg(t::text, '|' order by ${key})) as md5 from ${table} t`);
  return r.rows[0] as { rows: number; md5: string | null };
}

export async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
