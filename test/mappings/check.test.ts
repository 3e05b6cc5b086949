import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkMappingsFile } from '../../lib/mappings/index.ts';
import type { SourceCatalog } from '../../lib/mappings/types.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const select = { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' };
const addColumn = (expression: string) => ({
  'rule-type': 'transformation',
  'rule-id': '2',
  'rule-name': 'label',
  'rule-target': 'column',
  'object-locator': { 'schema-name': 'public', 'table-name': 'orders' },
  'rule-action': 'add-column',
  value: 'label',
  expression,
  'data-type': { type: 'string', length: 50 },
});
function file(name: string, rules: unknown[]): string {
  const f = path.join(dir, name);
  writeFileSync(f, JSON.stringify({ rules }));
  return f;
}
const catalog = (primaryKey: string[]): SourceCatalog => ({
  tables: [{ schema: 'public', table: 'orders', columns: [{ name: 'id', type: 'integer', nullable: false, ordinal: 1 }, { name: 'note', type: 'text', nullable: true, ordinal: 2 }], primaryKey, estimatedRows: 0 }],
});

describe('checkMappingsFile', () => {
  test('fails if an add-column expression is not SQLite, even with the rules alone', async () => {
    const r = await checkMappingsFile(file('bad-expr.json', [select, addColumn("$note ||| 'x'")]));
    expect(r.ok).toBe(false);
    expect(r.code).toBe('MAPPING_INVALID');
    expect(r.problems.join()).toMatch(/rule 2 \(add-column label\): expression .* is not valid SQLite/);
  });

  test('a valid expression passes with the rules alone', async () => {
    const r = await checkMappingsFile(file('good-expr.json', [select, addColumn("upper($note) || '-' || $id")]));
    expect(r).toMatchObject({ ok: true, problems: [] });
  });

  test('fails if a selected table has no primary key (replication and validation refuse it; assess blocks)', async () => {
    const f = file('keyless.json', [select]);
    const r = await checkMappingsFile(f, catalog([]));
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.stringContaining('public.orders has no primary key')]);
    expect((await checkMappingsFile(f, catalog(['id']))).ok).toBe(true);
  });
});
