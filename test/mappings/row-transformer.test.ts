import { describe, expect, test } from 'vitest';
import { createRowTransformer, parseTableMappings, resolveTableMappings } from '../../lib/mappings/index.ts';
import type { MappedTable } from '../../lib/mappings/types.ts';
import { catalog, select, table, transform } from './fixtures.ts';

const cat = catalog(
  table('oms', 'event', ['id bigint', 'name text', 'qty integer', 'ratio double precision', 'price numeric(12,2)', 'ok boolean', 'at timestamp with time zone', 'day date', 'local timestamp without time zone', 'blob bytea', 'doc jsonb', 'region text'], ['id']),
);

function mapped(expressions: Record<string, string>, extra: Record<string, unknown>[] = []): MappedTable {
  const rules = [
    select('oms', 'event', 'include', {
      'rule-id': 'sel',
      filters: [{ 'filter-type': 'source', 'column-name': 'region', 'filter-conditions': [{ 'filter-operator': 'eq', value: '华东' }, { 'filter-operator': 'eq', value: 'north' }] }],
    }),
    ...Object.entries(expressions).map(([value, expression]) =>
      transform('add-column', 'column', { 'schema-name': 'oms', 'table-name': 'event' }, { value, expression, 'data-type': { type: 'string', length: 100 } }),
    ),
    ...extra,
  ];
  return resolveTableMappings(parseTableMappings({ rules }), cat).tables[0]!;
}

describe('createRowTransformer', () => {
  test('binds node-postgres values the way SQLite expects them', async () => {
    const tr = await createRowTransformer(
      mapped({
        e_id: '$id',
        e_id_type: 'typeof($id)',
        e_ratio_type: 'typeof($ratio)',
        e_half: '$ratio / 4',
        e_price: "$price || ''",
        e_ok: '$ok',
        e_at: '$at',
        e_day: '$day',
        e_local: '$local',
        e_blob: 'hex($blob)',
        e_doc: "json_extract($doc, '$.city')",
        e_name: "$name || '!'",
      }),
    );
    const out = tr.transform({
      id: '9223372036854775807',
      name: '上海',
      qty: 1,
      ratio: 3,
      price: '10.50',
      ok: true,
      at: new Date('2024-05-06T07:08:09.123Z'),
      day: new Date(2024, 4, 6),
      local: new Date(2024, 4, 6, 7, 8, 9, 5),
      blob: Buffer.from([0xde, 0xad]),
      doc: { city: '杭州' },
      region: 'north',
    })!;
    expect(out).toMatchObject({
      e_id: '9223372036854775807',
      e_id_type: 'integer',
      e_ratio_type: 'real',
      e_half: 0.75,
      e_price: '10.50',
      e_ok: 1,
      e_at: '2024-05-06T07:08:09.123Z',
      e_day: '2024-05-06',
      e_local: '2024-05-06T07:08:09.005',
      e_blob: 'DEAD',
      e_doc: '杭州',
      e_name: '上海!',
    });
    tr.close();
  });

  test('the same row as text (pgoutput / COPY) gives the same values', async () => {
    const exprs = { a: '$id + 1', b: '$ratio * 2', c: "$price || '|' || $ok", d: '$at', e: '$local', f: 'hex($blob)', g: '$doc' };
    const tr = await createRowTransformer(mapped(exprs));
    const fromPg = tr.transform({ id: 41, ratio: 1.5, price: '2.00', ok: false, at: new Date('2024-01-01T00:00:00.250Z'), local: new Date(2024, 0, 1, 12, 0, 0), blob: Buffer.from('hi'), doc: { a: 1 }, region: '华东' });
    const fromText = tr.transform({ id: '41', ratio: '1.5', price: '2.00', ok: 'f', at: '2024-01-01 08:00:00.25+08', local: '2024-01-01 12:00:00', blob: '\\x6869', doc: '{"a":1}', region: '华东' });
    const expressionsOnly = (row: Record<string, unknown> | null) => Object.fromEntries(Object.keys(exprs).map((k) => [k, row?.[k]]));
    expect(expressionsOnly(fromText)).toEqual(expressionsOnly(fromPg));
    expect(fromPg).toMatchObject({ a: 42, b: 3, c: '2.00|0', d: '2024-01-01T00:00:00.250Z', e: '2024-01-01T12:00:00.000', f: '6869', g: '{"a":1}' });
    tr.close();
  });

  test('applies the selection filters: transform returns null for a row left out; matches says why', async () => {
    const tr = await createRowTransformer(mapped({ x: "$name || '-' || $region" }));
    expect(tr.matches({ id: 1, region: 'south' })).toBe(false);
    expect(tr.transform({ id: 1, region: 'south' })).toBeNull();
    expect(tr.transform({ id: 1, region: null })).toBeNull();
    expect(tr.transform({ id: 2, name: '张', region: '华东' })).toMatchObject({ id: 2, x: '张-华东' });
    tr.close();
  });

  test('renames, removes and maps keys to target names', async () => {
    const t = mapped({}, [
      transform('rename', 'column', { 'schema-name': 'oms', 'table-name': 'event', 'column-name': 'id' }, { value: 'event_id' }),
      transform('remove-column', 'column', { 'schema-name': 'oms', 'table-name': 'event', 'column-name': 'blob' }),
    ]);
    const tr = await createRowTransformer(t);
    const out = tr.transform({ id: 5, name: 'n', blob: Buffer.from('x'), region: 'north' })!;
    expect(out.event_id).toBe(5);
    expect('blob' in out).toBe(false);
    expect(tr.targetKey({ id: 5 })).toEqual({ event_id: 5 });
    tr.close();
  });

  test('measures rows per second (log line, not an assertion)', async () => {
    const identity = await createRowTransformer(mapped({}));
    const withExpr = await createRowTransformer(mapped({ full: "$name || '_' || $region", twice: '$qty * 2', up: 'upper($name)' }));
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `name-${i}`, qty: i, region: i % 2 ? 'north' : '华东' }));
    for (const [label, tr] of [['identity', identity], ['3 expressions', withExpr]] as const) {
      const n = 30_000;
      for (let i = 0; i < 3000; i++) tr.transform(rows[i % 1000]!); // warm up
      const t0 = performance.now();
      for (let i = 0; i < n; i++) tr.transform(rows[i % 1000]!);
      const ms = performance.now() - t0;
      console.log(`row transformer ${label}: ${Math.round(n / (ms / 1000))} rows/s (${n} rows in ${ms.toFixed(0)} ms)`);
      tr.close();
    }
  });
});
