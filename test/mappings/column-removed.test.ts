import { describe, expect, test } from 'vitest';
import { mappingRemovesColumn } from '../../lib/mappings/column-removed.ts';
import { parseTableMappings } from '../../lib/mappings/parse.ts';

const select = { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' };
const column = (id: string, action: string, table: string, col: string) => ({ 'rule-type': 'transformation', 'rule-id': id, 'rule-name': id, 'rule-target': 'column', 'object-locator': { 'schema-name': 'public', 'table-name': table, 'column-name': col }, 'rule-action': action });

/** A column the source gained after the mapping was resolved: does the mapping leave it out on purpose? */
describe('mappingRemovesColumn', () => {
  test('a remove-column rule naming it, or a pattern matching it, removes it; on another table it does not', () => {
    const doc = parseTableMappings({ rules: [select, column('2', 'remove-column', 'items', 'legacy_%'), column('3', 'remove-column', 'orders', 'note')] });
    expect(mappingRemovesColumn(doc, 'public', 'items', 'legacy_flag')).toBe(true);
    expect(mappingRemovesColumn(doc, 'public', 'orders', 'note')).toBe(true);
    expect(mappingRemovesColumn(doc, 'public', 'items', 'gift_note')).toBe(false);
    expect(mappingRemovesColumn(doc, 'public', 'items', 'note')).toBe(false);
  });

  test('include-column rules on the table leave out what none of them includes', () => {
    const doc = parseTableMappings({ rules: [select, column('2', 'include-column', 'items', 'id'), column('3', 'include-column', 'items', 'name')] });
    expect(mappingRemovesColumn(doc, 'public', 'items', 'gift_note')).toBe(true);
    expect(mappingRemovesColumn(doc, 'public', 'items', 'name')).toBe(false);
    expect(mappingRemovesColumn(doc, 'public', 'orders', 'gift_note')).toBe(false);
  });

  test('a mapping without column rules removes nothing (a new column is carried by name: lost until the worker restarts)', () => {
    expect(mappingRemovesColumn(parseTableMappings({ rules: [select] }), 'public', 'items', 'gift_note')).toBe(false);
  });
});
