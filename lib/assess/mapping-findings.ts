import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import {
  findUnmatchedRules,
  loadTableMappings,
  readMappedCatalog,
  resolveTableMappings,
  reverseCoverage,
  sideScope,
  type ReverseExemption,
} from '../mappings/index.ts';
import type { MappedTable, ResolvedMappings, SourceCatalog, TableMappingDocument } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';
import { generatedSourceFindings } from './generated-source-findings.ts';
import { relationOid } from '../postgres/catalog.ts';
import { writtenGeneratedFindings } from './target-state-findings.ts';

const finding = (f: Omit<Finding, 'count' | 'sampleKeys'> & Partial<Pick<Finding, 'count' | 'sampleKeys'>>): Finding => ({ count: 1, sampleKeys: [], ...f });

/** A mapping file that does not fit the catalog it is resolved against: one blocker with the engine's problems. */
export function mappingErrorFinding(id: string, file: string, err: CutoverError): Finding {
  return finding({
    id,
    severity: 'blocker',
    message: `${file}: ${err.message}${err.details.problems?.length ? ` (${err.details.problems.join('; ')})` : ''}`,
    handling: err.details.fix ?? 'correct the mapping file',
  });
}

/**
 * Rules of `file` that reach nothing in `catalog`: a literal name is a blocker (a typo drops a
 * table or a rename without a sound), a pattern matching nothing a warning.
 */
export function unmatchedRuleFindings(file: string, doc: TableMappingDocument, catalog: SourceCatalog, side: 'source' | 'target'): Finding[] {
  return findUnmatchedRules(doc, catalog, side).map((u) =>
    finding({
      id: 'mapping-rule-matches-nothing',
      severity: u.severity === 'error' ? 'blocker' : 'warning',
      sampleKeys: [{ rule: u.ruleId, value: u.value }],
      message: `${file}: ${u.message}`,
      handling:
        u.severity === 'error'
          ? `correct rule ${u.ruleId} to name an existing ${side} object (or remove it); AWS DMS would run without it and say nothing`
          : `check rule ${u.ruleId}: it selects or changes nothing on the ${side}`,
    }),
  );
}

/**
 * The reverse mapping resolved against green, its unmatched rules, and what a rollback would lose
 * (see reverseCoverage): an uncovered forward target table is a blocker unless exempted.
 * `forward` are the forward mapping's tables; those absent from green are reported elsewhere.
 */
export async function reverseMappingFindings(
  target: pg.ClientBase,
  env: { readonly mappingFiles: { readonly reverse: string }; readonly source: { readonly schemas?: readonly string[] }; readonly target: { readonly schemas?: readonly string[] }; readonly replication: { readonly reverseExempt?: readonly ReverseExemption[] } },
  forward: readonly MappedTable[],
  /** Blue's session: the columns the reverse mapping writes there are checked against what blue computes. @default - not checked */
  blue?: pg.ClientBase,
): Promise<Finding[]> {
  const file = env.mappingFiles.reverse;
  const findings: Finding[] = [];
  let doc: TableMappingDocument;
  let catalog: SourceCatalog;
  let resolved: ResolvedMappings;
  // a file that cannot be read or parsed is bad input (MAPPING_INVALID, exit 2), not a finding
  doc = await loadTableMappings(file);
  try {
    catalog = (await readMappedCatalog(target, doc, sideScope(env, 'target'))).catalog;
    findings.push(...unmatchedRuleFindings(file, doc, catalog, 'target'));
    resolved = resolveTableMappings(doc, catalog);
  } catch (err) {
    if (!(err instanceof CutoverError)) throw err;
    return [...findings, mappingErrorFinding('reverse-mapping-invalid', file, err)];
  }
  const computedOnBlue = blue ? await reverseGeneratedOnBlue(blue, resolved.tables) : [];
  // a column blue computes itself gets no NULL from green's generated one: it refuses the write (above)
  const refused = new Set(computedOnBlue.map((f) => `${f.table}|${String(f.sampleKeys[0]?.source ?? '')}`));
  findings.push(...(await generatedSourceFindings(target, resolved.tables, 'reverse')).filter((f) => !refused.has(`${f.table}|${String(f.sampleKeys[0]?.column ?? '')}`)));
  findings.push(...computedOnBlue.map(({ sampleKeys, ...f }) => ({ ...f, sampleKeys: sampleKeys.map(({ column }) => ({ column })) })));
  const onGreen = new Set(catalog.tables.map((t) => `${t.schema}.${t.table}`));
  const coverage = reverseCoverage(forward, resolved.tables, env.replication.reverseExempt ?? []);
  for (const gap of coverage.uncovered) {
    if (!onGreen.has(gap.table)) continue; // target-table-missing already blocks
    findings.push(
      finding({
        id: 'reverse-coverage-missing',
        severity: 'blocker',
        table: gap.table,
        message: gap.message,
        handling: `bring ${gap.table} back to ${gap.blueTable} in ${file}, or, if nothing writes it on green after the switch, declare it in replication.reverseExempt with the reason`,
      }),
    );
  }
  for (const e of coverage.exempted) {
    findings.push(finding({ id: 'reverse-coverage-exempt', severity: 'info', table: e.table, message: `${e.table} is not reverse-replicated (replication.reverseExempt): ${e.reason}`, handling: 'changes made to it on green after the switch are lost on rollback' }));
  }
  for (const g of coverage.columnGaps) {
    findings.push(finding({ id: 'reverse-coverage-columns', severity: 'warning', table: g.table, count: g.columns.length, sampleKeys: g.columns.map((column) => ({ column })), message: g.message, handling: `map the column(s) back in ${file} if green writes them` }));
  }
  for (const u of coverage.unusedExemptions) {
    findings.push(finding({ id: 'reverse-exempt-unused', severity: 'warning', table: u.table, message: u.message, handling: 'remove or correct the replication.reverseExempt entry' }));
  }
  return findings;
}

/** The reverse mapping's columns that blue computes (writtenGeneratedFindings), each sample key with its green column as `source`. */
async function reverseGeneratedOnBlue(blue: pg.ClientBase, tables: readonly MappedTable[]): Promise<Finding[]> {
  const found: Finding[] = [];
  for (const t of tables) {
    const oid = (await blue.query<{ oid: string | null }>(`select ${relationOid('$1', '$2')}::text as oid`, [t.target.schema, t.target.table])).rows[0]?.oid;
    if (!oid) continue; // the reverse coverage says what is missing
    for (const f of await writtenGeneratedFindings(blue, t, oid, 'reverse')) {
      const column = String(f.sampleKeys[0]?.column ?? '');
      const mapped = t.columns.find((c) => c.target === column);
      found.push({ ...f, sampleKeys: [{ column, source: mapped?.kind === 'copy' ? mapped.source : column }] });
    }
  }
  return found;
}
