import { suggestion } from './closest-name.ts';
import { locatorMatches, selects } from './resolve.ts';
import type { SelectionRule, TableSettingsRule, TransformationRule } from './rule-types.ts';
import type { CatalogTable, SourceCatalog, TableMappingDocument } from './types.ts';
import { looksLiteral, matchesPattern } from './wildcard.ts';

/**
 * A rule whose object-locator reaches nothing in the source catalog.
 *
 * AWS DMS documents no check that a locator names an existing object: locators are patterns over
 * the source, so a selection rule that matches no table selects nothing and a transformation rule
 * that matches no table or column changes nothing — the task runs without that table or rename,
 * and nothing says so. The kit is
 * stricter on purpose, because that silence loses data: a locator that names one object by its
 * literal name (no `%` or character set) and finds nothing is an `error` (a typo); a pattern that
 * matches nothing is a `warning` (it may be deliberate).
 *
 * A lone `_` is a one-character wildcard in DMS, but table names are full of literal underscores
 * (`t_order`), so a name whose only wildcard is `_` counts as a literal name here.
 */
export interface UnmatchedRule {
  readonly ruleId: string;
  readonly severity: 'error' | 'warning';
  /** The locator value that matched nothing: `schema.table` for a table, the column name for a column. */
  readonly value: string;
  /** One line naming the rule id, the value and, when close enough, the nearest existing name. */
  readonly message: string;
}

/**
 * Selection rules that select no source table, and transformation / table-settings rules whose
 * locator reaches no selected table or no column of one. Pure; `catalog` is the side the mapping
 * reads (blue for the forward mapping, green for the reverse one).
 */
export function findUnmatchedRules(doc: TableMappingDocument, catalog: SourceCatalog, side: 'source' | 'target' = 'source'): UnmatchedRule[] {
  const out: UnmatchedRule[] = [];
  const all = catalog.tables;
  for (const rule of doc.selectionRules) {
    if (all.some((t) => selects(rule, t))) continue;
    out.push(unmatchedSelection(rule, all, side));
  }
  const selected = all.filter((t) => {
    const sel = doc.selectionRules.filter((r) => selects(r, t));
    return sel.length > 0 && !sel.some((r) => r.action === 'exclude');
  });
  for (const rule of [...doc.transformationRules, ...doc.tableSettingsRules]) {
    const problem = unmatchedLocator(rule, all, selected, doc.selectionRules, side);
    if (problem) out.push(problem);
  }
  return out;
}

const qualified = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;

function unmatchedSelection(rule: SelectionRule, all: readonly CatalogTable[], side: 'source' | 'target'): UnmatchedRule {
  const l = rule.locator;
  const value = `${l.schemaName}.${l.tableName ?? '%'}`;
  const literal = rule.action === 'explicit' || (looksLiteral(l.tableName ?? '%') && looksLiteral(l.schemaName));
  if (!literal) {
    return { ruleId: rule.id, severity: 'warning', value, message: `rule ${rule.id} (${rule.action}) pattern ${value} matches no ${side} table` };
  }
  const hint = suggestion(value, all.map(qualified), `${side} tables`);
  return { ruleId: rule.id, severity: 'error', value, message: `rule ${rule.id} (${rule.action}) selects ${value}: no such table on the ${side} (${hint})` };
}

function describeRule(rule: TransformationRule | TableSettingsRule): string {
  return rule.type === 'transformation' ? `${rule.action} ${rule.target}` : 'table-settings';
}

function unmatchedLocator(
  rule: TransformationRule | TableSettingsRule,
  all: readonly CatalogTable[],
  selected: readonly CatalogTable[],
  selectionRules: readonly SelectionRule[],
  side: 'source' | 'target',
): UnmatchedRule | undefined {
  const l = rule.locator;
  const what = describeRule(rule);
  const schemaOnly = rule.type === 'transformation' && rule.target === 'schema';
  const tables = selected.filter((t) => locatorMatches(rule, t.schema, schemaOnly ? undefined : t.table));
  if (tables.length === 0) {
    const value = schemaOnly ? l.schemaName : `${l.schemaName}.${l.tableName ?? '%'}`;
    const literal = looksLiteral(l.schemaName) && (schemaOnly || looksLiteral(l.tableName ?? '%'));
    if (!literal) {
      return { ruleId: rule.id, severity: 'warning', value, message: `rule ${rule.id} (${what}) pattern ${value} matches no selected table` };
    }
    const existing = all.filter((t) => locatorMatches(rule, t.schema, schemaOnly ? undefined : t.table));
    let why: string;
    if (existing.length) {
      const ex = selectionRules.find((r) => r.action === 'exclude' && existing.some((t) => selects(r, t)));
      why = `${existing.map(qualified).join(', ')} exists on the ${side} but ${ex ? `rule ${ex.id} excludes it` : 'no selection rule selects it'}`;
    } else {
      const candidates = schemaOnly ? [...new Set(selected.map((t) => t.schema))] : selected.map(qualified);
      why = `no such ${schemaOnly ? 'schema' : 'table'} among the selected ones (${suggestion(value, candidates, `selected ${schemaOnly ? 'schemas' : 'tables'}`)})`;
    }
    return { ruleId: rule.id, severity: 'error', value, message: `rule ${rule.id} (${what}) names ${value}: ${why}` };
  }
  if (rule.type !== 'transformation' || rule.target !== 'column' || l.columnName === undefined) return undefined;
  const columns = [...new Set(tables.flatMap((t) => t.columns.map((c) => c.name)))];
  const value = l.columnName;
  if (columns.some((c) => matchesPattern(value, c))) return undefined;
  const where = tables.length === 1 ? qualified(tables[0]!) : `${l.schemaName}.${l.tableName ?? '%'}`;
  if (!looksLiteral(value)) {
    return { ruleId: rule.id, severity: 'warning', value, message: `rule ${rule.id} (${what}) pattern ${value} matches no column of ${where}` };
  }
  return {
    ruleId: rule.id,
    severity: 'error',
    value,
    message: `rule ${rule.id} (${what}) names column ${value} of ${where}: no such column on the ${side} (${suggestion(value, columns, 'columns')})`,
  };
}
