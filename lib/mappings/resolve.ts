import { CutoverError } from '../errors.ts';
import { dollarParameters } from './expression/tokenize.ts';
import { translateToPostgres } from './expression/to-postgres.ts';
import { checkFilter, compileFilters } from './filters.ts';
import type { NameAction, SelectionRule, TransformationRule } from './rule-types.ts';
import { NAME_ACTIONS } from './rule-types.ts';
import type {
  CatalogColumn,
  CatalogTable,
  ColumnFilter,
  MappedColumn,
  MappedTable,
  ResolvedMappings,
  SourceCatalog,
  TableMappingDocument,
} from './types.ts';
import { matchesPattern, patternSpecificity } from './wildcard.ts';

/**
 * Applies a parsed DMS table-mapping document to a real source catalog.
 *
 * Selection: a table is selected when an include rule's patterns (or an explicit rule's exact
 * names) match it and no exclude rule does — exclude wins. `load-order` is the highest of the
 * selecting rules. At most one selecting rule may carry filters for a table.
 *
 * Transformations: DMS allows one transformation rule action per object (schema, table,
 * column). When several rules of one kind (name change, data type, primary key, expression)
 * reach the same object, the most specific locator wins (an exact name beats a pattern, a longer
 * literal pattern beats a shorter one); rules equally specific are a conflict and are refused
 * with both rule ids rather than applied in an arbitrary order. A remove-column beats name and
 * type rules that are no more specific than itself. Object locators name source objects;
 * names produced by rules are not matched again. add-column names are used as given.
 */
export function resolveTableMappings(doc: TableMappingDocument, catalog: SourceCatalog): ResolvedMappings {
  const r = new Resolver(doc);
  const tables: MappedTable[] = [];
  const excluded: { schema: string; table: string; ruleId: string }[] = [];
  const withoutPrimaryKey: string[] = [];
  const targets = new Map<string, string>();

  const sorted = [...catalog.tables].sort((a, b) => (a.schema + '.' + a.table < b.schema + '.' + b.table ? -1 : 1));
  for (const t of sorted) {
    const sel = doc.selectionRules.filter((rule) => selects(rule, t));
    if (sel.length === 0) continue;
    for (const rule of sel) r.used.add(rule.id);
    const ex = sel.find((rule) => rule.action === 'exclude');
    if (ex) {
      excluded.push({ schema: t.schema, table: t.table, ruleId: ex.id });
      continue;
    }
    const mapped = r.mapTable(t, sel);
    if (!mapped) continue;
    const key = `${mapped.target.schema}.${mapped.target.table}`;
    const prev = targets.get(key);
    if (prev) {
      r.problem(`tables ${prev} and ${t.schema}.${t.table} both map to target ${key} — DMS does not replicate two source tables into one target table`);
    } else targets.set(key, `${t.schema}.${t.table}`);
    if (mapped.primaryKey.length === 0) withoutPrimaryKey.push(`${t.schema}.${t.table}`);
    tables.push(mapped);
  }

  for (const rule of [...doc.selectionRules, ...doc.transformationRules, ...doc.tableSettingsRules]) {
    if (!r.used.has(rule.id)) r.notes.push(`rule ${rule.id} (${rule.type}${'action' in rule ? ` ${rule.action}` : ''}) matched nothing in the source catalog`);
  }
  r.throwIfProblems(doc.file);
  tables.sort((a, b) => b.loadOrder - a.loadOrder);
  return { tables, excluded, withoutPrimaryKey, notes: r.notes };
}

/** Does a selection rule's object-locator name this catalog table (whatever its action)? */
export function selects(rule: SelectionRule, t: { readonly schema: string; readonly table: string }): boolean {
  if (rule.action === 'explicit') return rule.locator.schemaName === t.schema && rule.locator.tableName === t.table;
  return matchesPattern(rule.locator.schemaName, t.schema) && matchesPattern(rule.locator.tableName ?? '%', t.table);
}

/** Does an object-locator reach this schema (and table, and column, when given)? */
export function locatorMatches(rule: { locator: TransformationRule['locator'] }, schema: string, table?: string, column?: string): boolean {
  const l = rule.locator;
  if (!matchesPattern(l.schemaName, schema)) return false;
  if (table !== undefined && l.tableName !== undefined && !matchesPattern(l.tableName, table)) return false;
  if (column !== undefined && l.columnName !== undefined && !matchesPattern(l.columnName, column)) return false;
  return true;
}

function specificity(rule: TransformationRule): number {
  return patternSpecificity(rule.locator.schemaName) + patternSpecificity(rule.locator.tableName) + patternSpecificity(rule.locator.columnName);
}

function isNameAction(a: string): a is NameAction {
  return (NAME_ACTIONS as readonly string[]).includes(a);
}

/** The new name, or undefined when the rule does not apply to this name (prefix absent...). */
export function applyNameRule(rule: TransformationRule, name: string): string | undefined {
  const v = rule.value ?? '';
  switch (rule.action) {
    case 'rename':
      return v;
    case 'convert-lowercase':
      return name.toLowerCase();
    case 'convert-uppercase':
      return name.toUpperCase();
    case 'add-prefix':
      return v + name;
    case 'add-suffix':
      return name + v;
    case 'remove-prefix':
      return name.startsWith(v) ? name.slice(v.length) : undefined;
    case 'remove-suffix':
      return name.endsWith(v) ? name.slice(0, name.length - v.length) : undefined;
    case 'replace-prefix': {
      const old = rule.oldValue ?? '';
      return name.startsWith(old) ? v + name.slice(old.length) : undefined;
    }
    case 'replace-suffix': {
      const old = rule.oldValue ?? '';
      return name.endsWith(old) ? name.slice(0, name.length - old.length) + v : undefined;
    }
    default:
      return undefined;
  }
}

class Resolver {
  readonly used = new Set<string>();
  readonly notes: string[] = [];
  private readonly problems: string[] = [];
  private readonly unsupported: string[] = [];

  constructor(private readonly doc: TableMappingDocument) {}

  problem(p: string): void {
    if (!this.problems.includes(p)) this.problems.push(p);
  }

  throwIfProblems(file?: string): void {
    const where = file ? ` ${file}` : '';
    if (this.problems.length > 0) {
      throw new CutoverError('MAPPING_INVALID', `table mappings${where} do not fit the source catalog (${this.problems.length + this.unsupported.length} problem(s))`, {
        problems: [...this.problems, ...this.unsupported],
        fix: 'correct the rules named above (rule ids) or the source schema; run `cutover mappings check FILE` to re-check',
      });
    }
    if (this.unsupported.length > 0) {
      throw new CutoverError('MAPPING_UNSUPPORTED', `table mappings${where} use rules the kit cannot execute on this catalog`, {
        problems: this.unsupported,
        fix: 'rewrite or remove the rules named above; the kit refuses a rule rather than ignoring it',
      });
    }
  }

  /** The single winning rule among those that reach one object, or a conflict problem. */
  private pick(candidates: TransformationRule[], what: string): TransformationRule | undefined {
    if (candidates.length === 0) return undefined;
    let best = -1;
    for (const c of candidates) best = Math.max(best, specificity(c));
    const top = candidates.filter((c) => specificity(c) === best);
    for (const c of candidates) this.used.add(c.id);
    if (top.length > 1) {
      this.problem(
        `rules ${top.map((c) => c.id).join(' and ')} both ${what} — DMS allows one transformation rule action per object; make one locator more specific or remove one`,
      );
    }
    return top[0];
  }

  private rulesFor(action: (a: TransformationRule['action']) => boolean, target: TransformationRule['target']): TransformationRule[] {
    return this.doc.transformationRules.filter((rule) => rule.target === target && action(rule.action));
  }

  private newName(target: 'schema' | 'table' | 'column', name: string, schema: string, table?: string): { name: string; rule?: TransformationRule } {
    const candidates = this.rulesFor(isNameAction, target).filter(
      (rule) =>
        locatorMatches(rule, schema, target === 'schema' ? undefined : table, target === 'column' ? name : undefined) &&
        applyNameRule(rule, name) !== undefined,
    );
    const label = target === 'schema' ? `schema ${name}` : target === 'table' ? `table ${schema}.${name}` : `column ${schema}.${table}.${name}`;
    const rule = this.pick(candidates, `change the name of ${label}`);
    if (!rule) return { name };
    const out = applyNameRule(rule, name)!;
    if (out === '') {
      this.problem(`rule ${rule.id}: ${rule.action} turns ${label} into an empty name`);
      return { name, rule };
    }
    return { name: out, rule };
  }

  mapTable(t: CatalogTable, sel: SelectionRule[]): MappedTable | undefined {
    const ruleIds = new Set(sel.map((s) => s.id));
    const qualified = `${t.schema}.${t.table}`;
    const sourceColumns = [...t.columns].sort((a, b) => a.ordinal - b.ordinal);

    // filters and load order
    const filtered = sel.filter((s) => s.filters.length > 0);
    if (filtered.length > 1) {
      this.problem(`rules ${filtered.map((s) => s.id).join(' and ')} both filter table ${qualified} — put every filter of a table in one selection rule`);
    }
    const filters: readonly ColumnFilter[] = filtered[0]?.filters ?? [];
    for (const f of filters) {
      const col = sourceColumns.find((c) => c.name === f.column);
      const problem = checkFilter(f, col);
      if (problem) {
        const text = `rule ${filtered[0]!.id}: ${problem} in table ${qualified}`;
        if (!col) this.problem(text);
        else this.unsupported.push(text);
      }
    }
    const loadOrder = Math.max(...sel.map((s) => s.loadOrder));

    // names
    const schemaName = this.newName('schema', t.schema, t.schema);
    const tableName = this.newName('table', t.table, t.schema, t.table);
    for (const x of [schemaName.rule, tableName.rule]) if (x) ruleIds.add(x.id);

    // columns
    const columnRules = this.doc.transformationRules.filter((rule) => rule.target === 'column' && locatorMatches(rule, t.schema, t.table));
    const includeRules = columnRules.filter((rule) => rule.action === 'include-column');
    const columns: MappedColumn[] = [];
    const removedColumns: string[] = [];
    const targetNameOf = new Map<string, string>();
    const replacedBy = new Map<string, TransformationRule>();

    const addColumnRules = columnRules.filter((rule) => rule.action === 'add-column');
    // the replace form: add-column naming an existing column (column-name, or value = a source column)
    for (const c of sourceColumns) {
      const forms = addColumnRules.filter((rule) =>
        rule.locator.columnName !== undefined ? matchesPattern(rule.locator.columnName, c.name) : rule.value === c.name,
      );
      const winner = this.pick(forms, `set the value of column ${qualified}.${c.name}`);
      if (winner) {
        if (winner.expression === undefined) {
          this.problem(`rule ${winner.id}: add-column names existing column ${qualified}.${c.name} but has no expression — give an expression, or a new column name in value`);
        } else replacedBy.set(c.name, winner);
      }
    }

    for (const c of sourceColumns) {
      const applicable = (action: (a: TransformationRule['action']) => boolean): TransformationRule[] =>
        columnRules.filter((rule) => action(rule.action) && rule.locator.columnName !== undefined && matchesPattern(rule.locator.columnName, c.name));
      const removeRule = this.pick(applicable((a) => a === 'remove-column'), `remove column ${qualified}.${c.name}`);
      const included = includeRules.length === 0 || includeRules.some((rule) => matchesPattern(rule.locator.columnName ?? '%', c.name));
      const nameCands = applicable(isNameAction).filter((rule) => applyNameRule(rule, c.name) !== undefined);
      const typeCands = applicable((a) => a === 'change-data-type');
      const replace = replacedBy.get(c.name);
      if (removeRule || !included) {
        const limit = removeRule ? specificity(removeRule) : 0;
        const stronger = [...nameCands, ...typeCands, ...(replace ? [replace] : [])].filter((rule) =>
          removeRule ? specificity(rule) > limit : !(rule.locator.columnName ?? '%').match(/[%_[]/),
        );
        for (const s of stronger) {
          this.problem(
            `rule ${s.id} (${s.action}) targets column ${qualified}.${c.name}, which ${removeRule ? `rule ${removeRule.id} removes` : 'no include-column rule includes'}`,
          );
        }
        for (const x of [...nameCands, ...typeCands]) this.used.add(x.id);
        if (removeRule) ruleIds.add(removeRule.id);
        for (const i of includeRules) this.used.add(i.id);
        removedColumns.push(c.name);
        continue;
      }
      for (const i of includeRules) {
        this.used.add(i.id);
        ruleIds.add(i.id);
      }
      const nameRule = this.pick(nameCands, `change the name of column ${qualified}.${c.name}`);
      let target = nameRule ? applyNameRule(nameRule, c.name)! : c.name;
      if (nameRule) ruleIds.add(nameRule.id);
      const typeRule = this.pick(typeCands, `change the data type of column ${qualified}.${c.name}`);
      if (typeRule) ruleIds.add(typeRule.id);
      const targetType = typeRule?.postgresType ?? c.type;
      if (replace) {
        ruleIds.add(replace.id);
        const wanted = replace.value ?? target;
        if (nameRule && wanted !== target && wanted !== c.name) {
          this.problem(`rules ${replace.id} and ${nameRule.id} both name column ${qualified}.${c.name} (${wanted} / ${target})`);
        }
        if (!nameRule) target = wanted;
        columns.push(this.expressionColumn(replace, t, sourceColumns, target, replace.postgresType ?? targetType, c.name));
      } else {
        columns.push({ kind: 'copy', source: c.name, target, sourceType: c.type, targetType });
      }
      targetNameOf.set(c.name, target);
    }

    // new columns
    const newColumnRules = addColumnRules.filter((rule) => rule.locator.columnName === undefined && !sourceColumns.some((c) => c.name === rule.value));
    const byName = new Map<string, TransformationRule[]>();
    for (const rule of newColumnRules) byName.set(rule.value!, [...(byName.get(rule.value!) ?? []), rule]);
    for (const [name, rules] of byName) {
      const rule = this.pick(rules, `add column ${qualified}.${name}`)!;
      ruleIds.add(rule.id);
      if (columns.some((c) => c.target === name)) {
        this.problem(`rule ${rule.id}: add-column ${name} collides with an existing target column of ${qualified}`);
        continue;
      }
      columns.push(this.expressionColumn(rule, t, sourceColumns, name, rule.postgresType ?? 'text'));
    }

    // duplicate target names
    const seen = new Map<string, string>();
    for (const c of columns) {
      const from = c.kind === 'copy' ? c.source : `(expression)`;
      const prev = seen.get(c.target);
      if (prev !== undefined) this.problem(`table ${qualified}: columns ${prev} and ${from} both become target column ${c.target}`);
      else seen.set(c.target, from);
    }

    // primary key
    const pkRule = this.pick(
      this.doc.transformationRules.filter((rule) => rule.action === 'define-primary-key' && locatorMatches(rule, t.schema, t.table)),
      `define the primary key of ${qualified}`,
    );
    let primaryKey: string[] = [...t.primaryKey];
    let primaryKeyDefinition: MappedTable['primaryKeyDefinition'];
    if (pkRule?.primaryKeyDef) {
      ruleIds.add(pkRule.id);
      primaryKey = [];
      for (const name of pkRule.primaryKeyDef.columns) {
        const src = sourceColumns.find((c) => c.name === name)?.name ?? [...targetNameOf].find(([, tgt]) => tgt === name)?.[0];
        if (!src) this.problem(`rule ${pkRule.id}: primary-key-def column ${name} is not a column of ${qualified}`);
        else primaryKey.push(src);
      }
      primaryKeyDefinition = { name: pkRule.primaryKeyDef.name, origin: pkRule.primaryKeyDef.origin, ruleId: pkRule.id };
    }
    const targetPrimaryKey: string[] = [];
    for (const k of primaryKey) {
      const col = columns.find((c) => c.kind === 'copy' && c.source === k);
      if (!col) {
        const how = removedColumns.includes(k) ? 'is removed' : 'is replaced by an expression';
        this.problem(
          `table ${qualified}: primary-key column ${k} ${how} — replication keys rows by it; keep the column or define another key with define-primary-key`,
        );
      } else targetPrimaryKey.push(col.target);
    }

    const tableSettings = this.doc.tableSettingsRules
      .filter((rule) => locatorMatches(rule, t.schema, t.table))
      .map((rule) => {
        this.used.add(rule.id);
        ruleIds.add(rule.id);
        return { ruleId: rule.id, settings: rule.settings };
      });

    let filterSql: string | null = null;
    try {
      filterSql = compileFilters(filters, sourceColumns).sql;
    } catch {
      filterSql = null; // already reported above
    }

    return {
      source: { schema: t.schema, table: t.table },
      target: { schema: schemaName.name, table: tableName.name },
      primaryKey,
      targetPrimaryKey,
      columns,
      filters,
      filterSql,
      loadOrder,
      ruleIds: [...ruleIds],
      sourceColumns,
      removedColumns,
      ...(primaryKeyDefinition ? { primaryKeyDefinition } : {}),
      tableSettings,
    };
  }

  private expressionColumn(
    rule: TransformationRule,
    t: CatalogTable,
    sourceColumns: readonly CatalogColumn[],
    target: string,
    targetType: string,
    replaces?: string,
  ): MappedColumn {
    const expression = rule.expression ?? 'NULL';
    const { names, otherParams } = dollarParameters(expression);
    for (const p of otherParams) {
      this.problem(`rule ${rule.id}: expression parameter ${p} — DMS expressions reference source columns as $column`);
    }
    const params = new Map<string, CatalogColumn>();
    const dependsOn: string[] = [];
    for (const n of names) {
      const col = sourceColumns.find((c) => c.name === n) ?? uniqueCaseInsensitive(sourceColumns, n);
      if (!col) {
        this.problem(`rule ${rule.id}: expression references $${n}, which is not a column of ${t.schema}.${t.table} (columns: ${sourceColumns.map((c) => c.name).join(', ')})`);
        continue;
      }
      params.set(n, col);
      if (!dependsOn.includes(col.name)) dependsOn.push(col.name);
    }
    return {
      kind: 'expression',
      target,
      expression,
      targetType,
      dependsOn,
      postgresSql: params.size === names.length ? translateToPostgres(expression, params) : null,
      ...(replaces !== undefined ? { replaces } : {}),
    };
  }
}

function uniqueCaseInsensitive(cols: readonly CatalogColumn[], name: string): CatalogColumn | undefined {
  const lower = name.toLowerCase();
  const found = cols.filter((c) => c.name.toLowerCase() === lower);
  return found.length === 1 ? found[0] : undefined;
}
