import { locatorMatches } from './resolve.ts';
import type { TableMappingDocument } from './types.ts';
import { matchesPattern } from './wildcard.ts';

/**
 * Whether the mapping leaves this source column out on purpose — a remove-column rule names it
 * (pattern or name), or the table has include-column rules and none includes it — as the
 * resolver would decide for it (resolve.ts mapTable). For a column the source gained after the
 * mapping was resolved: one the mapping removes is not data the cutover loses.
 */
export function mappingRemovesColumn(doc: TableMappingDocument, schema: string, table: string, column: string): boolean {
  const rules = doc.transformationRules.filter((rule) => rule.target === 'column' && locatorMatches(rule, schema, table));
  if (rules.some((rule) => rule.action === 'remove-column' && rule.locator.columnName !== undefined && matchesPattern(rule.locator.columnName, column))) return true;
  const includes = rules.filter((rule) => rule.action === 'include-column');
  return includes.length > 0 && !includes.some((rule) => matchesPattern(rule.locator.columnName ?? '%', column));
}
