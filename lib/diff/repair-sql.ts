import { ident, typedLiteral } from './sql-text.ts';

/**
 * Statements in TARGET terms that make one target row match the source. Values are the exact
 * normalized texts, which the target type's input function reads back unchanged. Both validators
 * use them: a TablePlan (postgres-validator.ts) and a cross-engine plan both have this shape.
 */
export interface RepairShape {
  readonly targetRelation: string;
  readonly keys: readonly { readonly target: string; readonly targetType: string }[];
  readonly columns: readonly { readonly target: string; readonly targetType: string }[];
}

function keyCondition(plan: RepairShape, keyValues: readonly (string | null)[]): string {
  return plan.keys.map((k, i) => `${ident(k.target)} = ${typedLiteral(keyValues[i] ?? null, k.targetType)}`).join(' AND ');
}

export function insertStatement(plan: RepairShape, values: readonly (string | null)[]): string {
  const cols = plan.columns.map((c) => ident(c.target)).join(', ');
  const vals = plan.columns.map((c, i) => typedLiteral(values[i] ?? null, c.targetType)).join(', ');
  return `INSERT INTO ${plan.targetRelation} (${cols}) VALUES (${vals});`;
}

export function updateStatement(
  plan: RepairShape,
  keyValues: readonly (string | null)[],
  changed: readonly { column: number; value: string | null }[],
): string {
  const sets = changed.map(({ column, value }) => `${ident(plan.columns[column]!.target)} = ${typedLiteral(value, plan.columns[column]!.targetType)}`);
  return `UPDATE ${plan.targetRelation} SET ${sets.join(', ')} WHERE ${keyCondition(plan, keyValues)};`;
}

export function deleteStatement(plan: RepairShape, keyValues: readonly (string | null)[]): string {
  return `DELETE FROM ${plan.targetRelation} WHERE ${keyCondition(plan, keyValues)};`;
}

/**
 * The whole repair script: one transaction, replication triggers and FK checks off like an apply,
 * read-write on a green a rollback left fenced (`default_transaction_read_only` on its database),
 * and the values read as the validator printed them (UTC, ISO): a timestamptz is written as its UTC
 * wall clock, which a psql session in the server's own zone would read hours off.
 */
export function repairScript(statements: readonly string[]): string {
  return [
    '-- cutover validate: statements that make the target match the source (target terms)',
    'BEGIN READ WRITE;',
    'SET LOCAL session_replication_role = replica;',
    "SET LOCAL TimeZone = 'UTC';",
    "SET LOCAL DateStyle = 'ISO';",
    ...statements,
    'COMMIT;',
    '',
  ].join('\n');
}
