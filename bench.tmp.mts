import { parseTableMappings, resolveTableMappings, createRowTransformer } from './lib/mappings/index.ts';
import { catalog, table } from './test/mappings/fixtures.ts';
const cat = catalog(table('s', 't', ['id bigint', 'first_name text', 'last_name text', 'qty integer', 'note text'], ['id']));
const mk = (exprs: string[]) => resolveTableMappings(parseTableMappings({ rules: [
  { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 's', 'table-name': '%' }, 'rule-action': 'include' },
  ...exprs.map((e, i) => ({ 'rule-type': 'transformation', 'rule-id': `x${i}`, 'rule-name': 'x', 'rule-action': 'add-column', 'rule-target': 'column', 'object-locator': { 'schema-name': 's', 'table-name': 't' }, value: `c${i}`, expression: e, 'data-type': { type: 'string' } }))] }), cat).tables[0]!;
const main = async () => {
  for (const exprs of [[], ["$first_name||'_'||$last_name"], ["$first_name||'_'||$last_name"], ["$first_name||'_'||$last_name", 'upper($note)', '$qty * 2']]) {
    const t = await createRowTransformer(mk(exprs));
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, first_name: 'first' + i, last_name: '王', qty: i % 100, note: 'note ' + i }));
    const n = 300000; const t0 = performance.now();
    for (let i = 0; i < n; i++) t.transform(rows[i % 1000]!);
    console.log(exprs.length, 'expressions:', Math.round(n / ((performance.now() - t0) / 1000)), 'rows/s');
    t.close();
  }
};
main();
