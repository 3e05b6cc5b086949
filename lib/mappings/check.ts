import { CutoverError } from '../errors.ts';
import { describeMappings } from './describe.ts';
import { loadTableMappings } from './parse.ts';
import { resolveTableMappings } from './resolve.ts';
import { createRowTransformer } from './row-transformer.ts';
import { openSqlite } from './sqlite.ts';
import type { ResolvedMappings, SourceCatalog, TableMappingDocument } from './types.ts';
import { findUnmatchedRules } from './unmatched-rules.ts';

export interface MappingsCheckResult {
  readonly ok: boolean;
  /** One line per problem, each naming the rule id (empty when ok). */
  readonly problems: readonly string[];
  /** Error code when not ok: MAPPING_INVALID or MAPPING_UNSUPPORTED. */
  readonly code?: string;
  /** Human summary: the rules read, or the resolved tables when a catalog was given. */
  readonly summary: string;
  /** With a catalog: patterns (wildcard locators) that match nothing — worth a look, not an error. */
  readonly warnings?: readonly string[];
  readonly resolved?: ResolvedMappings;
}

/**
 * `cutover mappings check FILE`: without a catalog, checks syntax and rule support; with one,
 * also resolves the rules against the source tables, compiles every expression in SQLite, and
 * refuses a rule whose literal locator names no source table or column (a typo there silently
 * drops a table or a rename; see findUnmatchedRules) — a pattern matching nothing is a warning.
 * Never throws for a bad file — the problems are the result.
 */
export async function checkMappingsFile(file: string, catalog?: SourceCatalog, side: 'source' | 'target' = 'source'): Promise<MappingsCheckResult> {
  let doc: TableMappingDocument;
  try {
    doc = await loadTableMappings(file);
  } catch (err) {
    return failure(err);
  }
  if (!catalog) {
    // the rules alone: every expression must still be SQLite (as DMS evaluates it)
    const invalid = await invalidExpressions(doc);
    if (invalid.length) return { ok: false, problems: invalid, code: 'MAPPING_INVALID', summary: summarizeRules(doc) };
    return { ok: true, problems: [], summary: summarizeRules(doc) };
  }
  const unmatched = findUnmatchedRules(doc, catalog, side);
  const typos = unmatched.filter((u) => u.severity === 'error').map((u) => u.message);
  const warnings = unmatched.filter((u) => u.severity === 'warning').map((u) => u.message);
  const warningLines = warnings.map((w) => `warning: ${w}`);
  let resolved: ResolvedMappings;
  try {
    resolved = resolveTableMappings(doc, catalog);
    for (const t of resolved.tables) {
      if (t.columns.some((c) => c.kind === 'expression')) (await createRowTransformer(t)).close();
    }
  } catch (err) {
    const f = failure(err, summarizeRules(doc));
    return { ...f, problems: [...typos, ...f.problems], summary: [f.summary, ...warningLines].join('\n'), warnings };
  }
  const summary = [describeMappings(resolved), ...warningLines].join('\n');
  // what replication and validation refuse (and assess blocks) is not "ok" here either
  const keyless = resolved.withoutPrimaryKey.map(
    (t) => `${t} has no primary key: it cannot be replicated or validated (add a primary key, a define-primary-key rule, or exclude it)`,
  );
  if (typos.length || keyless.length) return { ok: false, problems: [...typos, ...keyless], code: 'MAPPING_INVALID', summary, warnings, resolved };
  return { ok: true, problems: [], summary, warnings, resolved };
}

/** Rules whose `expression` SQLite cannot prepare (`$column` parameters need no catalog to parse). */
async function invalidExpressions(doc: TableMappingDocument): Promise<string[]> {
  const rules = doc.transformationRules.filter((r) => r.expression !== undefined);
  if (!rules.length) return [];
  const db = await openSqlite();
  try {
    const problems: string[] = [];
    for (const r of rules) {
      try {
        db.prepare(`SELECT (${r.expression})`).free();
      } catch (err) {
        problems.push(`rule ${r.id} (${r.action} ${r.value ?? r.locator.columnName ?? ''}): expression ${JSON.stringify(r.expression)} is not valid SQLite: ${(err as Error).message}`);
      }
    }
    return problems;
  } finally {
    db.close();
  }
}

function failure(err: unknown, summary = ''): MappingsCheckResult {
  if (!(err instanceof CutoverError)) throw err;
  const problems = err.details.problems?.length ? [...err.details.problems] : [err.message];
  return { ok: false, problems, code: err.code, summary: summary || err.describe() };
}

function summarizeRules(doc: TableMappingDocument): string {
  const lines = [
    `${doc.rules.length} rule(s): ${doc.selectionRules.length} selection, ${doc.transformationRules.length} transformation, ${doc.tableSettingsRules.length} table-settings — all supported`,
  ];
  for (const r of doc.selectionRules) {
    const l = r.locator;
    lines.push(`  rule ${r.id}: ${r.action} ${l.schemaName}.${l.tableName ?? '%'}${r.filters.length ? ` with ${r.filters.length} filter(s)` : ''}${r.loadOrder ? ` load-order ${r.loadOrder}` : ''}`);
  }
  for (const r of doc.transformationRules) {
    const l = r.locator;
    const obj = [l.schemaName, l.tableName, l.columnName].filter((x) => x !== undefined).join('.');
    const detail = r.expression !== undefined ? ` = ${r.expression}` : r.value !== undefined ? ` -> ${r.value}` : '';
    lines.push(`  rule ${r.id}: ${r.action} ${r.target} ${obj}${detail}`);
  }
  for (const r of doc.tableSettingsRules) lines.push(`  rule ${r.id}: table-settings ${r.locator.schemaName}.${r.locator.tableName ?? '%'} ${Object.keys(r.settings).join(', ')}`);
  return lines.join('\n');
}
