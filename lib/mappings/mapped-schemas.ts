import { CutoverError } from '../errors.ts';
import { resolveTableMappings } from './resolve.ts';
import type { ResolvedMappings, SourceCatalog, TableMappingDocument } from './types.ts';
import { findUnmatchedRules } from './unmatched-rules.ts';
import { hasWildcard, looksLiteral } from './wildcard.ts';

/**
 * Which schemas of a database a mapping is read against. AWS DMS has no such setting: its
 * selection rules name the schemas. So with no `schemas` field in the config the kit reads the
 * schemas the mapping's include/explicit rules name — every user schema when one of them is a
 * pattern (`%`) — and an explicit `schemas` list narrows that, refusing a rule that names a
 * schema outside it (a rule that silently selects nothing is how tables get lost).
 */
export interface SchemaScope {
  /** The database read: the source for the forward mapping, the target for the reverse one. */
  readonly side: 'source' | 'target';
  /** The config's `<side>.schemas`, when set. */
  readonly explicit?: readonly string[];
}

/** The scope of one side of an environment (`source.schemas` / `target.schemas`). */
export function sideScope(
  env: { readonly source: { readonly schemas?: readonly string[] }; readonly target: { readonly schemas?: readonly string[] } },
  side: 'source' | 'target',
): SchemaScope {
  const explicit = env[side].schemas;
  return explicit ? { side, explicit } : { side };
}

/**
 * The schemas to read for `doc`: the explicit list, or the schemas its include/explicit rules
 * name; an empty list means every user schema (see readCatalog). Throws CONFIG_INVALID when a
 * rule names a literal schema an explicit list leaves out.
 */
export function schemasToRead(doc: TableMappingDocument, scope: SchemaScope): string[] {
  const including = doc.selectionRules.filter((r) => r.action !== 'exclude');
  const field = `${scope.side}.schemas`;
  if (scope.explicit) {
    const outside = including.filter((r) => looksLiteral(r.locator.schemaName) && !scope.explicit!.includes(r.locator.schemaName));
    if (outside.length) {
      const names = [...new Set(outside.map((r) => r.locator.schemaName))];
      throw new CutoverError('CONFIG_INVALID', `${doc.file ?? 'the mapping'} selects tables in schema(s) ${names.join(', ')}, which ${field} leaves out`, {
        problems: outside.map((r) => `rule ${r.id} (${r.action}) names schema ${JSON.stringify(r.locator.schemaName)}`),
        received: scope.explicit,
        allowed: `schemas listed in ${field}`,
        fix: `add ${names.map((n) => JSON.stringify(n)).join(', ')} to ${field}, or remove ${field} so the kit reads the schemas the mapping names`,
      });
    }
    return [...scope.explicit];
  }
  // a pattern reads every user schema; so does a name whose only wildcard is `_` (`sales_2024`),
  // which DMS also reads as a pattern. No include rule at all: nothing is selected anywhere.
  if (including.length === 0 || including.some((r) => hasWildcard(r.locator.schemaName))) return [];
  return [...new Set(including.map((r) => r.locator.schemaName))].sort();
}

/** `schemas legacy, app` or `every user schema`, for messages. */
export function describeSchemas(schemas: readonly string[]): string {
  return schemas.length ? `schema(s) ${schemas.join(', ')}` : 'every user schema';
}

/**
 * Resolves `doc` against `catalog` (read from `schemas` of the `side` database) for a command
 * that works on the mapped tables. Refuses, with MAPPING_INVALID (exit 2), a mapping that selects
 * no table — naming its selection rules and the schemas looked in — and a selection rule that
 * names one table by its literal name and finds none (a misspelt table would otherwise be left
 * out without a word, and a validation would call the rest equal).
 */
export function resolveSelected(doc: TableMappingDocument, catalog: SourceCatalog, schemas: readonly string[], side: 'source' | 'target'): ResolvedMappings {
  const resolved = resolveTableMappings(doc, catalog);
  const file = doc.file ?? 'the mapping';
  const rules = doc.selectionRules.map((r) => `rule ${r.id} (${r.action} ${r.locator.schemaName}.${r.locator.tableName ?? '%'})`);
  if (!resolved.tables.length) {
    throw new CutoverError('MAPPING_INVALID', `${file} selects no table: looked in ${describeSchemas(schemas)} on the ${side}`, {
      problems: rules.length ? rules.map((r) => `${r} matches no table there`) : ['the file has no selection rule'],
      received: `${catalog.tables.length} table(s) on the ${side} in ${describeSchemas(schemas)}`,
      fix: `correct the selection rules' object-locator (schema-name / table-name; names are case-sensitive, % is the wildcard)${schemas.length ? ', or the schemas setting' : ''}; \`cutover mappings check FILE --env NAME\` shows what they select`,
    });
  }
  const typos = findUnmatchedRules(doc, catalog, side).filter((u) => u.severity === 'error' && doc.selectionRules.some((r) => r.id === u.ruleId));
  if (typos.length) {
    throw new CutoverError('MAPPING_INVALID', `${file} selects table(s) that do not exist on the ${side} (looked in ${describeSchemas(schemas)})`, {
      problems: typos.map((u) => u.message),
      received: typos.map((u) => u.value),
      fix: 'correct the table name in the rule (names are case-sensitive) or remove the rule; `cutover assess` lists every such problem',
    });
  }
  return resolved;
}
