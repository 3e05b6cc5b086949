import { readFile } from 'node:fs/promises';
import { CutoverError } from '../errors.ts';
import { postgresTypeFor } from './data-types.ts';
import {
  TRANSFORMATION_ACTIONS,
  type DmsDataType,
  type MappingRule,
  type ObjectLocator,
  type PrimaryKeyDefinition,
  type RuleTarget,
  type SelectionRule,
  type TableSettingsRule,
  type TransformationAction,
  type TransformationRule,
} from './rule-types.ts';
import type { ColumnFilter, FilterCondition, TableMappingDocument } from './types.ts';
import { hasWildcard } from './wildcard.ts';

/**
 * Reads an AWS DMS table-mapping document. Every rule is either understood or refused: a
 * malformed rule is MAPPING_INVALID (one problem line per bad field: field, value, expected), a
 * well-formed rule the kit cannot execute with DMS semantics is MAPPING_UNSUPPORTED. Both name
 * the rule id.
 */
export function parseTableMappings(json: unknown, file?: string): TableMappingDocument {
  const where = file ? ` in ${file}` : '';
  if (!isObject(json) || !Array.isArray(json.rules)) {
    throw new CutoverError('MAPPING_INVALID', `table mappings${where} must be an object with a "rules" array`, {
      received: shorten(json),
      allowed: '{ "rules": [ { "rule-type": "selection", ... } ] }',
      fix: 'write the file in the AWS DMS table-mapping JSON format',
    });
  }
  const invalid: string[] = [];
  const unsupported: string[] = [];
  const unsupportedIds: string[] = [];
  const parsed: MappingRule[] = [];
  const seenIds = new Map<string, number>();

  json.rules.forEach((raw: unknown, index: number) => {
    const ctx = new RuleContext(raw, index);
    const rule = parseRule(ctx);
    if (ctx.id !== undefined) {
      const prev = seenIds.get(ctx.id);
      if (prev !== undefined) ctx.invalid('rule-id', ctx.id, `a rule-id used once (rule #${prev + 1} has it too)`);
      else seenIds.set(ctx.id, index);
    }
    invalid.push(...ctx.invalidProblems);
    unsupported.push(...ctx.unsupportedProblems);
    if (ctx.unsupportedProblems.length > 0) unsupportedIds.push(ctx.label);
    if (rule && ctx.invalidProblems.length === 0 && ctx.unsupportedProblems.length === 0) parsed.push(rule);
  });

  if (invalid.length === 0 && json.rules.length > 0 && !parsed.some((r) => r.type === 'selection') && unsupported.length === 0) {
    invalid.push('rules: no selection rule — expected at least one rule with "rule-type": "selection" (DMS migrates nothing without one)');
  }
  if (invalid.length > 0) {
    throw new CutoverError('MAPPING_INVALID', `table mappings${where} have ${invalid.length + unsupported.length} problem(s)`, {
      problems: [...invalid, ...unsupported],
      fix: 'correct the rules listed above; see the AWS DMS user guide, "Specifying table selection and transformations rules using JSON"',
    });
  }
  if (unsupported.length > 0) {
    throw new CutoverError(
      'MAPPING_UNSUPPORTED',
      `table mappings${where}: ${unsupportedIds.join(', ')} cannot be executed by the kit with DMS semantics`,
      {
        problems: unsupported,
        fix: 'remove or rewrite these rules; the kit refuses a rule rather than ignoring it',
      },
    );
  }
  return {
    file,
    raw: json,
    rules: json.rules,
    selectionRules: parsed.filter((r): r is SelectionRule => r.type === 'selection'),
    transformationRules: parsed.filter((r): r is TransformationRule => r.type === 'transformation'),
    tableSettingsRules: parsed.filter((r): r is TableSettingsRule => r.type === 'table-settings'),
  };
}

export async function loadTableMappings(file: string): Promise<TableMappingDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CutoverError('MAPPING_INVALID', `cannot read table mappings ${file}: ${(err as Error).message}`, {
      received: file,
      fix: 'check the path (mapping paths in the config are relative to the config file)',
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CutoverError('MAPPING_INVALID', `table mappings ${file} are not valid JSON: ${(err as Error).message}`, {
      received: file,
      fix: 'fix the JSON syntax (a DMS table-mapping file is plain JSON, no comments)',
      cause: err,
    });
  }
  return parseTableMappings(json, file);
}

// ---------------------------------------------------------------------------------------------

class RuleContext {
  readonly invalidProblems: string[] = [];
  readonly unsupportedProblems: string[] = [];
  readonly id: string | undefined;
  readonly label: string;
  readonly obj: Record<string, unknown>;
  /** False when the rule is not a JSON object at all: nothing of it can be checked. */
  readonly isRuleObject: boolean;

  constructor(
    raw: unknown,
    readonly index: number,
  ) {
    this.isRuleObject = isObject(raw);
    this.obj = isObject(raw) ? raw : {};
    const rawId = this.obj['rule-id'];
    this.id = typeof rawId === 'string' && rawId.trim() !== '' ? rawId : typeof rawId === 'number' ? String(rawId) : undefined;
    const name = typeof this.obj['rule-name'] === 'string' ? ` ("${this.obj['rule-name'] as string}")` : '';
    this.label = this.id !== undefined ? `rule ${this.id}${name}` : `rule #${index + 1}${name}`;
    if (!isObject(raw)) this.invalid('', raw, 'a rule object');
    else if (this.id === undefined) this.invalid('rule-id', rawId, 'a non-empty string or number');
  }

  invalid(field: string, value: unknown, expected: string): void {
    this.invalidProblems.push(`${this.label}: ${field || 'rule'} ${formatReceived(value)} — expected ${expected}`);
  }

  unsupported(what: string, fix?: string): void {
    this.unsupportedProblems.push(`${this.label}: ${what} is not supported${fix ? ` — ${fix}` : ''}`);
  }

  get(field: string): unknown {
    return this.obj[field];
  }

  /** Optional string; DMS consoles write `null` for absent values, which we accept as absent. */
  optString(field: string): string | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.invalid(field, v, 'a string');
      return undefined;
    }
    return v;
  }

  checkKeys(allowed: readonly string[]): void {
    for (const key of Object.keys(this.obj)) {
      if (!allowed.includes(key)) this.unsupported(`field "${key}"`, `allowed fields for this rule type: ${allowed.join(', ')}`);
    }
  }
}

const COMMON_KEYS = ['rule-type', 'rule-id', 'rule-name', 'object-locator', 'rule-action', 'description'];

/**
 * One rule, every problem of it reported (not only the first): a missing rule-id, rule-type or
 * rule-action does not stop the other fields from being checked, as far as they can be without it.
 */
function parseRule(ctx: RuleContext): MappingRule | undefined {
  if (!ctx.isRuleObject) return undefined;
  const type = ctx.get('rule-type');
  switch (type) {
    case 'selection':
      return parseSelection(ctx);
    case 'transformation':
      return parseTransformation(ctx);
    case 'table-settings':
      return parseTableSettings(ctx);
    default:
      if (typeof type === 'string' && type.length > 0) {
        ctx.unsupported(`rule-type "${type}"`, 'the kit executes selection, transformation and table-settings rules');
      } else {
        ctx.invalid('rule-type', type, '"selection", "transformation" or "table-settings"');
        // every rule type needs an object-locator naming at least a schema
        parseLocator(ctx, { table: false, column: 'optional' });
      }
      return undefined;
  }
}

function base(ctx: RuleContext): { id: string; name: string; index: number; raw: Record<string, unknown> } {
  const name = ctx.get('rule-name');
  if (name !== undefined && typeof name !== 'string' && typeof name !== 'number') ctx.invalid('rule-name', name, 'a string');
  return { id: ctx.id ?? '', name: name === undefined ? (ctx.id ?? '') : String(name), index: ctx.index, raw: ctx.obj };
}

function parseLocator(ctx: RuleContext, need: { table: boolean; column: 'required' | 'optional' | 'forbidden' }): ObjectLocator | undefined {
  const loc = ctx.get('object-locator');
  if (!isObject(loc)) {
    ctx.invalid('object-locator', loc, 'an object with "schema-name"' + (need.table ? ' and "table-name"' : ''));
    return undefined;
  }
  const allowed = ['schema-name', 'table-name', 'column-name', 'table-type'];
  for (const key of Object.keys(loc)) {
    if (key === 'table-tablespace-name' || key === 'index-tablespace-name') {
      ctx.unsupported(`object-locator.${key}`, 'tablespaces are an Oracle target feature; the kit targets PostgreSQL');
    } else if (key === 'data-type') {
      ctx.unsupported('object-locator.data-type (selecting columns by data type)', 'name the columns with column-name instead');
    } else if (!allowed.includes(key)) ctx.unsupported(`object-locator.${key}`);
  }
  const str = (field: string): string | undefined => {
    const v = loc[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') {
      ctx.invalid(`object-locator.${field}`, v, 'a non-empty name or DMS pattern (% _ [ab] [a-d])');
      return undefined;
    }
    return v;
  };
  const schemaName = str('schema-name');
  const tableName = str('table-name');
  const columnName = str('column-name');
  if (schemaName === undefined && loc['schema-name'] === undefined) ctx.invalid('object-locator.schema-name', undefined, 'a schema name or pattern');
  if (need.table && tableName === undefined && loc['table-name'] === undefined) ctx.invalid('object-locator.table-name', undefined, 'a table name or pattern');
  if (need.column === 'required' && columnName === undefined && loc['column-name'] === undefined) {
    ctx.invalid('object-locator.column-name', undefined, 'a column name or pattern');
  }
  if (need.column === 'forbidden' && columnName !== undefined) {
    ctx.invalid('object-locator.column-name', columnName, 'no column-name for this rule-target');
  }
  const tableType = loc['table-type'];
  if (tableType !== undefined && tableType !== null) {
    if (tableType === 'table') {
      /* the default */
    } else if (tableType === 'view' || tableType === 'all') {
      ctx.unsupported(`object-locator.table-type "${tableType}"`, 'the local replicator copies tables only (logical decoding carries no view changes); use "table"');
    } else ctx.invalid('object-locator.table-type', tableType, '"table", "view" or "all"');
  }
  if (schemaName === undefined) return undefined;
  return { schemaName, tableName, columnName };
}

// --- selection ---------------------------------------------------------------------------------

function parseSelection(ctx: RuleContext): SelectionRule | undefined {
  ctx.checkKeys([...COMMON_KEYS, 'filters', 'load-order']);
  const b = base(ctx);
  const locator = parseLocator(ctx, { table: true, column: 'forbidden' });
  const action = ctx.get('rule-action');
  if (action !== 'include' && action !== 'exclude' && action !== 'explicit') {
    ctx.invalid('rule-action', action, '"include", "exclude" or "explicit" for a selection rule');
  }
  if (action === 'explicit' && locator && (locator.schemaName.includes('%') || locator.tableName?.includes('%'))) {
    ctx.invalid('object-locator', ctx.get('object-locator'), 'exact schema and table names for rule-action "explicit" (no % wildcard)');
  }
  let loadOrder = 0;
  const lo = ctx.get('load-order');
  if (lo !== undefined && lo !== null) {
    const n = typeof lo === 'number' ? lo : typeof lo === 'string' && /^-?\d+$/.test(lo.trim()) ? Number(lo) : NaN;
    if (!Number.isInteger(n)) ctx.invalid('load-order', lo, 'an integer (higher loads first)');
    else loadOrder = n;
  }
  const filters = parseFilters(ctx);
  if (filters.length > 0 && action !== 'include') {
    ctx.invalid('filters', `${filters.length} filter(s) with rule-action "${String(action)}"`, 'filters only on rule-action "include" (DMS applies them only there)');
  }
  if (filters.length > 0 && locator && (locator.schemaName.includes('%') || locator.tableName?.includes('%'))) {
    ctx.invalid('object-locator', ctx.get('object-locator'), 'an exact schema and table name when the rule has filters (DMS filters do not support wildcards)');
  }
  if (!locator || ctx.invalidProblems.length > 0) return undefined;
  return { ...b, type: 'selection', action: action as SelectionRule['action'], locator, filters, loadOrder };
}

const OPERATORS = ['eq', 'noteq', 'lte', 'ste', 'gte', 'between', 'notbetween', 'null', 'notnull'] as const;

function parseFilters(ctx: RuleContext): ColumnFilter[] {
  const raw = ctx.get('filters');
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.invalid('filters', raw, 'an array of { "filter-type": "source", "column-name", "filter-conditions" }');
    return [];
  }
  const out: ColumnFilter[] = [];
  raw.forEach((f: unknown, i: number) => {
    const at = `filters[${i}]`;
    if (!isObject(f)) {
      ctx.invalid(at, f, 'an object');
      return;
    }
    for (const key of Object.keys(f)) {
      if (!['filter-type', 'column-name', 'filter-conditions'].includes(key)) ctx.unsupported(`${at}.${key}`);
    }
    const ft = f['filter-type'];
    if (ft !== 'source') {
      if (typeof ft === 'string') ctx.unsupported(`${at}.filter-type "${ft}"`, 'only "source" filters exist for a selection rule');
      else ctx.invalid(`${at}.filter-type`, ft, '"source"');
    }
    const column = f['column-name'];
    if (typeof column !== 'string' || column === '') ctx.invalid(`${at}.column-name`, column, 'a source column name');
    else if (hasWildcard(column) && column.includes('%')) ctx.invalid(`${at}.column-name`, column, 'an exact column name (no wildcard)');
    const conds = f['filter-conditions'];
    if (!Array.isArray(conds) || conds.length === 0) {
      ctx.invalid(`${at}.filter-conditions`, conds, 'a non-empty array of { "filter-operator", "value" | "start-value"/"end-value" }');
      return;
    }
    const conditions: FilterCondition[] = [];
    conds.forEach((c: unknown, j: number) => {
      const cat = `${at}.filter-conditions[${j}]`;
      if (!isObject(c)) {
        ctx.invalid(cat, c, 'an object');
        return;
      }
      const op = c['filter-operator'];
      if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
        if (typeof op === 'string' && op.length > 0) ctx.unsupported(`${cat}.filter-operator "${op}"`, `supported: ${OPERATORS.join(', ')}`);
        else ctx.invalid(`${cat}.filter-operator`, op, OPERATORS.join(', '));
        return;
      }
      for (const key of Object.keys(c)) {
        if (!['filter-operator', 'value', 'start-value', 'end-value'].includes(key)) ctx.unsupported(`${cat}.${key}`);
      }
      const operator = (op === 'lte' ? 'ste' : op) as FilterCondition['operator'];
      const val = (k: string): string | undefined => {
        const v = c[k];
        if (typeof v === 'string') return v;
        if (typeof v === 'number' && Number.isFinite(v)) return String(v);
        ctx.invalid(`${cat}.${k}`, v, `a value (string) for filter-operator "${op}"`);
        return undefined;
      };
      const noExtra = (keys: string[]): void => {
        for (const k of keys) if (c[k] !== undefined && c[k] !== null) ctx.invalid(`${cat}.${k}`, c[k], `nothing for filter-operator "${op}"`);
      };
      if (operator === 'between' || operator === 'notbetween') {
        noExtra(['value']);
        const start = val('start-value');
        const end = val('end-value');
        if (start !== undefined && end !== undefined) conditions.push({ operator, start, end });
      } else if (operator === 'null' || operator === 'notnull') {
        noExtra(['value', 'start-value', 'end-value']);
        conditions.push({ operator });
      } else {
        noExtra(['start-value', 'end-value']);
        const value = val('value');
        if (value !== undefined) conditions.push({ operator, value });
      }
    });
    const negative = conditions.filter((c) => c.operator === 'noteq' || c.operator === 'notbetween' || c.operator === 'notnull');
    if (negative.length > 0 && conditions.length > 1) {
      ctx.invalid(`${at}.filter-conditions`, conditions.map((c) => c.operator), 'a single condition when it is negative (noteq, notbetween, notnull); use separate filters to AND them');
    }
    if (typeof column === 'string' && column !== '') out.push({ column, conditions });
  });
  return out;
}

// --- transformation ------------------------------------------------------------------------------

const UNSUPPORTED_ACTIONS: Record<string, string> = {
  'add-before-image-columns': 'before-image columns need the change stream of DMS targets such as Kinesis/Kafka',
  'data-masking-digits-mask': 'data masking is not executed by the local replicator',
  'data-masking-digits-randomize': 'data masking is not executed by the local replicator',
  'data-masking-hash-mask': 'data masking is not executed by the local replicator',
};

function parseTransformation(ctx: RuleContext): TransformationRule | undefined {
  ctx.checkKeys([...COMMON_KEYS, 'rule-target', 'value', 'old-value', 'expression', 'data-type', 'primary-key-def', 'before-image-def']);
  const b = base(ctx);
  const action = ctx.get('rule-action');
  const actionKnown = typeof action === 'string' && (TRANSFORMATION_ACTIONS as readonly string[]).includes(action);
  if (!actionKnown) {
    if (typeof action === 'string' && action.length > 0) {
      ctx.unsupported(`rule-action "${action}"`, UNSUPPORTED_ACTIONS[action] ?? `supported: ${TRANSFORMATION_ACTIONS.join(', ')}`);
    } else ctx.invalid('rule-action', action, TRANSFORMATION_ACTIONS.join(', '));
  }
  const target = ctx.get('rule-target');
  const targetKnown = target === 'schema' || target === 'table' || target === 'column';
  if (target === 'table-tablespace' || target === 'index-tablespace') {
    ctx.unsupported(`rule-target "${target}"`, 'tablespaces are an Oracle target feature');
  } else if (!targetKnown) ctx.invalid('rule-target', target, '"schema", "table" or "column"');
  if (!actionKnown || !targetKnown) {
    // without the action or the target, what the locator needs is unknown: check what every one needs
    parseLocator(ctx, { table: target === 'table' || target === 'column', column: target === 'column' ? 'optional' : targetKnown ? 'forbidden' : 'optional' });
    return undefined;
  }
  const act = action as TransformationAction;
  const allowedTargets: Record<TransformationAction, RuleTarget[]> = {
    rename: ['schema', 'table', 'column'],
    'convert-lowercase': ['schema', 'table', 'column'],
    'convert-uppercase': ['schema', 'table', 'column'],
    'add-prefix': ['schema', 'table', 'column'],
    'remove-prefix': ['schema', 'table', 'column'],
    'replace-prefix': ['schema', 'table', 'column'],
    'add-suffix': ['schema', 'table', 'column'],
    'remove-suffix': ['schema', 'table', 'column'],
    'replace-suffix': ['schema', 'table', 'column'],
    'remove-column': ['column'],
    'include-column': ['column'],
    'add-column': ['column'],
    'change-data-type': ['column'],
    'define-primary-key': ['table'],
  };
  if (!allowedTargets[act].includes(target)) {
    ctx.invalid('rule-target', target, `${allowedTargets[act].map((t) => `"${t}"`).join(' or ')} for rule-action "${act}"`);
    return undefined;
  }
  const columnNeed: 'required' | 'optional' | 'forbidden' =
    target !== 'column' ? 'forbidden' : act === 'add-column' ? 'optional' : 'required';
  const locator = parseLocator(ctx, { table: target !== 'schema', column: columnNeed });
  if (target === 'schema' && locator?.tableName !== undefined) {
    ctx.invalid('object-locator.table-name', locator.tableName, 'no table-name for rule-target "schema"');
  }

  const value = ctx.optString('value');
  const oldValue = ctx.optString('old-value');
  const expression = ctx.optString('expression');
  const needsValue = ['rename', 'add-prefix', 'remove-prefix', 'replace-prefix', 'add-suffix', 'remove-suffix', 'replace-suffix', 'add-column'];
  if (needsValue.includes(act) && (value === undefined || value === '')) {
    ctx.invalid('value', ctx.get('value'), act === 'add-column' ? 'the new column name' : `the ${act.includes('prefix') ? 'prefix' : act.includes('suffix') ? 'suffix' : 'new name'} (non-empty)`);
  }
  if ((act === 'replace-prefix' || act === 'replace-suffix') && (oldValue === undefined || oldValue === '')) {
    ctx.invalid('old-value', ctx.get('old-value'), `the ${act === 'replace-prefix' ? 'prefix' : 'suffix'} to replace (non-empty)`);
  }
  if (!needsValue.includes(act) && value !== undefined && value !== '') ctx.invalid('value', value, `no value for rule-action "${act}"`);
  if (act !== 'replace-prefix' && act !== 'replace-suffix' && oldValue !== undefined && oldValue !== '') {
    ctx.invalid('old-value', oldValue, `no old-value for rule-action "${act}"`);
  }
  if (expression !== undefined && act !== 'add-column') {
    ctx.invalid('expression', expression, 'an expression only with rule-action "add-column" (a new column, or an existing column named by column-name)');
  }
  if (expression !== undefined) checkExpressionSupported(ctx, expression);
  if (ctx.get('before-image-def') !== undefined) ctx.unsupported('before-image-def');

  let dataType: DmsDataType | undefined;
  let postgresType: string | undefined;
  const dtRaw = ctx.get('data-type');
  if (dtRaw !== undefined && dtRaw !== null) {
    if (act !== 'add-column' && act !== 'change-data-type') ctx.invalid('data-type', dtRaw, `no data-type for rule-action "${act}"`);
    dataType = parseDataType(ctx, dtRaw);
    if (dataType) {
      const pgType = postgresTypeFor(dataType);
      if ('problem' in pgType) ctx.unsupported(pgType.problem);
      else postgresType = pgType.type;
    }
  } else if (act === 'change-data-type') ctx.invalid('data-type', dtRaw, 'a { "type": ..., "length"/"precision"/"scale" } block');
  else if (act === 'add-column' && !(locator?.columnName !== undefined)) {
    ctx.invalid('data-type', dtRaw, 'the new column\'s { "type": ... } block (DMS requires it for add-column)');
  }

  let primaryKeyDef: PrimaryKeyDefinition | undefined;
  const pk = ctx.get('primary-key-def');
  if (act === 'define-primary-key') primaryKeyDef = parsePrimaryKeyDef(ctx, pk);
  else if (pk !== undefined && pk !== null) ctx.invalid('primary-key-def', pk, 'primary-key-def only with rule-action "define-primary-key"');

  if (!locator || ctx.invalidProblems.length > 0 || ctx.unsupportedProblems.length > 0) return undefined;
  return {
    ...b,
    type: 'transformation',
    action: act,
    target,
    locator,
    ...(value !== undefined && value !== '' ? { value } : {}),
    ...(oldValue !== undefined && oldValue !== '' ? { oldValue } : {}),
    ...(expression !== undefined ? { expression } : {}),
    ...(dataType ? { dataType } : {}),
    ...(postgresType ? { postgresType } : {}),
    ...(primaryKeyDef ? { primaryKeyDef } : {}),
  };
}

/** DMS header columns and change-stream functions have no meaning outside a DMS task. */
function checkExpressionSupported(ctx: RuleContext, expression: string): void {
  if (expression.trim() === '') {
    ctx.invalid('expression', expression, 'a SQLite expression');
    return;
  }
  const header = /\$AR_[HM]_[A-Z_]+/i.exec(expression);
  if (header) ctx.unsupported(`expression header column ${header[0]}`, 'DMS change-header values exist only inside a DMS task');
  if (/\boperation_indicator\s*\(/i.test(expression)) {
    ctx.unsupported('expression function operation_indicator()', 'it turns deletes into flagged rows, which the local replicator does not do');
  }
}

function parseDataType(ctx: RuleContext, raw: unknown): DmsDataType | undefined {
  if (!isObject(raw) || typeof raw.type !== 'string' || raw.type === '') {
    ctx.invalid('data-type', raw, 'an object { "type": "string" | "int4" | "numeric" | ..., "length"?, "precision"?, "scale"? }');
    return undefined;
  }
  const num = (k: string): number | undefined => {
    const v = raw[k];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0) {
      ctx.invalid(`data-type.${k}`, v, 'a non-negative integer');
      return undefined;
    }
    return n;
  };
  for (const key of Object.keys(raw)) {
    if (!['type', 'length', 'precision', 'scale'].includes(key)) ctx.unsupported(`data-type.${key}`);
  }
  const length = num('length');
  const precision = num('precision');
  const scale = num('scale');
  return {
    type: raw.type,
    ...(length !== undefined ? { length } : {}),
    ...(precision !== undefined ? { precision } : {}),
    ...(scale !== undefined ? { scale } : {}),
  };
}

function parsePrimaryKeyDef(ctx: RuleContext, raw: unknown): PrimaryKeyDefinition | undefined {
  if (!isObject(raw)) {
    ctx.invalid('primary-key-def', raw, 'an object { "name", "columns": [...], "origin"? }');
    return undefined;
  }
  const cols = raw.columns;
  if (!Array.isArray(cols) || cols.length === 0 || !cols.every((c) => typeof c === 'string' && c !== '')) {
    ctx.invalid('primary-key-def.columns', cols, 'a non-empty array of column names');
    return undefined;
  }
  if (new Set(cols).size !== cols.length) ctx.invalid('primary-key-def.columns', cols, 'each column once');
  const origin = raw.origin ?? 'primary-key';
  if (origin !== 'primary-key' && origin !== 'unique-index') {
    ctx.invalid('primary-key-def.origin', origin, '"primary-key" or "unique-index"');
    return undefined;
  }
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : `${ctx.id ?? 'rule'}_pkey`;
  return { name, origin, columns: cols as string[] };
}

// --- table-settings ------------------------------------------------------------------------------

const KNOWN_TABLE_SETTINGS = ['parallel-load', 'lob-settings'];

function parseTableSettings(ctx: RuleContext): TableSettingsRule | undefined {
  const b = base(ctx);
  const locator = parseLocator(ctx, { table: true, column: 'forbidden' });
  const settings: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(ctx.obj)) {
    if (['rule-type', 'rule-id', 'rule-name', 'object-locator', 'description'].includes(key)) continue;
    if (KNOWN_TABLE_SETTINGS.includes(key)) settings[key] = v;
    else ctx.unsupported(`table-settings "${key}"`, `the kit records ${KNOWN_TABLE_SETTINGS.join(' and ')} (DMS-side tuning) and refuses others`);
  }
  if (Object.keys(settings).length === 0 && ctx.unsupportedProblems.length === 0) {
    ctx.invalid('table-settings', undefined, `at least one of ${KNOWN_TABLE_SETTINGS.join(', ')}`);
  }
  if (!locator || ctx.invalidProblems.length > 0 || ctx.unsupportedProblems.length > 0) return undefined;
  return { ...b, type: 'table-settings', locator, settings };
}

// ---------------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatReceived(v: unknown): string {
  if (v === undefined) return '(missing)';
  return shorten(v);
}

function shorten(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
