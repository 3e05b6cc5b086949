import type { ColumnFilter } from './types.ts';

/**
 * Typed views of the rules of an AWS DMS table-mapping file, after parsing. The raw rule object
 * stays beside each view so messages can quote it.
 */

/** `object-locator` names; each may hold DMS wildcards (`%`, `_`, `[ab]`, `[a-d]`). */
export interface ObjectLocator {
  readonly schemaName: string;
  readonly tableName?: string;
  readonly columnName?: string;
}

interface RuleBase {
  readonly id: string;
  readonly name: string;
  /** Position in the file's `rules` array (0-based). */
  readonly index: number;
  readonly locator: ObjectLocator;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface SelectionRule extends RuleBase {
  readonly type: 'selection';
  readonly action: 'include' | 'exclude' | 'explicit';
  readonly filters: readonly ColumnFilter[];
  /** DMS `load-order`; higher loads first. 0 when absent. */
  readonly loadOrder: number;
}

/** Actions that compute a new name for a schema, table or column. */
export const NAME_ACTIONS = [
  'rename',
  'convert-lowercase',
  'convert-uppercase',
  'add-prefix',
  'remove-prefix',
  'replace-prefix',
  'add-suffix',
  'remove-suffix',
  'replace-suffix',
] as const;
export type NameAction = (typeof NAME_ACTIONS)[number];

export const TRANSFORMATION_ACTIONS = [
  ...NAME_ACTIONS,
  'remove-column',
  'include-column',
  'add-column',
  'change-data-type',
  'define-primary-key',
] as const;
export type TransformationAction = (typeof TRANSFORMATION_ACTIONS)[number];

export type RuleTarget = 'schema' | 'table' | 'column';

/** DMS `data-type` block. */
export interface DmsDataType {
  readonly type: string;
  readonly length?: number;
  readonly precision?: number;
  readonly scale?: number;
}

export interface PrimaryKeyDefinition {
  readonly name: string;
  readonly origin: 'primary-key' | 'unique-index';
  readonly columns: readonly string[];
}

export interface TransformationRule extends RuleBase {
  readonly type: 'transformation';
  readonly action: TransformationAction;
  readonly target: RuleTarget;
  readonly value?: string;
  readonly oldValue?: string;
  readonly expression?: string;
  readonly dataType?: DmsDataType;
  /** PostgreSQL type the `data-type` block maps to (see data-types.ts). */
  readonly postgresType?: string;
  readonly primaryKeyDef?: PrimaryKeyDefinition;
}

export interface TableSettingsRule extends RuleBase {
  readonly type: 'table-settings';
  /** Every key of the rule other than rule-type/id/name/object-locator. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export type MappingRule = SelectionRule | TransformationRule | TableSettingsRule;
