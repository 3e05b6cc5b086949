import { quoteIdent } from '../mappings/postgres-quote.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';
import { cannotHold, narrowingChange } from './type-findings.ts';

/**
 * What the target's table must be for the mapping to fill it, from its column types as
 * `format_type()` prints them (empty: the table does not exist), whatever the source engine:
 * - the table and every mapped column exist (`target-table-missing`, `target-column-missing`: blockers);
 * - each copied column's type holds every value the source column's type allows
 *   (`target-type-too-narrow`, blocker: see cannotHold), or else may change some
 *   (`lossy-type-change`, warning). `sourceType` is the source column's type in PostgreSQL's
 *   terms (for a MySQL source, the type DMS makes of it); `nativeType` names the source's own
 *   spelling in messages when it differs (`int unsigned`).
 */
export function targetColumnFindings(t: MappedTable, types: ReadonlyMap<string, string>, nativeType: (column: string) => string | undefined = () => undefined): Finding[] {
  const name = `${t.target.schema}.${t.target.table}`;
  const from = `${t.source.schema}.${t.source.table}`;
  if (!types.size) {
    return [
      {
        id: 'target-table-missing',
        severity: 'blocker',
        table: from,
        count: 1,
        sampleKeys: [],
        message: `${from} is mapped to ${name}, which does not exist on the target`,
        handling: `create ${name} on the target (schema migration) or correct rule(s) ${t.ruleIds.join(', ')}`,
      },
    ];
  }
  const findings: Finding[] = [];
  const missing = t.columns.filter((c) => !types.has(c.target)).map((c) => c.target);
  if (missing.length) {
    findings.push({
      id: 'target-column-missing',
      severity: 'blocker',
      table: from,
      count: missing.length,
      sampleKeys: missing.map((column) => ({ column })),
      message: `${name} lacks mapped column(s) ${missing.join(', ')}`,
      handling: `add the column(s) on the target or rename/remove them in rule(s) ${t.ruleIds.join(', ')}`,
    });
  }
  for (const c of t.columns) {
    const targetType = types.get(c.target);
    if (c.kind !== 'copy' || !targetType) continue;
    const native = nativeType(c.source);
    const sourceSide = `${from}.${c.source} ${native && native !== c.sourceType ? `${native} (${c.sourceType})` : c.sourceType}`;
    const why = cannotHold(c.sourceType, targetType);
    if (why && native && unsignedIntoSignedWidth(native, targetType)) {
      // an UNSIGNED key into the signed type of its width is the usual schema (ids never reach
      // 2^31 / 2^63): the values decide, not the types (BIGINT UNSIGNED: mysql-unsigned-bigint counts them)
      findings.push(lossyChange(from, `${sourceSide} -> ${name}.${c.target} ${targetType}: ${why}`, `a value above ${targetType}'s maximum is refused (the full load stops; written during replication, it goes to the dead letters): widen the target column if the source can hold such values`));
      continue;
    }
    if (why) {
      findings.push({
        id: 'target-type-too-narrow',
        severity: 'blocker',
        table: from,
        count: 1,
        sampleKeys: [{ column: c.source, sourceType: native ?? c.sourceType, targetColumn: c.target, targetType }],
        message: `${sourceSide} -> ${name}.${c.target} ${targetType}: ${why}`,
        handling: `widen the target column: ALTER TABLE ${quoteIdent(t.target.schema)}.${quoteIdent(t.target.table)} ALTER COLUMN ${quoteIdent(c.target)} TYPE ${c.sourceType}; (or narrow the source column first, if its values allow it)`,
      });
      continue;
    }
    if (!narrowingChange(c.sourceType, targetType)) continue;
    findings.push(lossyChange(from, `${sourceSide} -> ${name}.${c.target} ${targetType} may lose precision or length`, 'validate compares in the target type; widen the target column if values must survive unchanged'));
  }
  return findings;
}

/** A type change some values may not survive: a warning (the values decide). */
function lossyChange(table: string, message: string, handling: string): Finding {
  return { id: 'lossy-type-change', severity: 'warning', table, count: 1, sampleKeys: [], message, handling };
}

/** The largest value of a MySQL signed integer type, by the width of an UNSIGNED one. */
const SIGNED_MAX: Record<string, bigint> = { tinyint: 127n, smallint: 32767n, mediumint: 8388607n, int: 2147483647n, integer: 2147483647n, bigint: 9223372036854775807n };
const POSTGRES_MAX: Record<string, bigint> = { smallint: 32767n, integer: 2147483647n, bigint: 9223372036854775807n };

/** `int unsigned` into `integer`, `bigint unsigned` into `bigint`: the same width, signed. */
function unsignedIntoSignedWidth(native: string, targetType: string): boolean {
  const m = /^(tinyint|smallint|mediumint|int|integer|bigint)\b.*\bunsigned\b/i.exec(native.trim());
  const width = m ? SIGNED_MAX[m[1]!.toLowerCase()] : undefined;
  const target = POSTGRES_MAX[targetType];
  return width !== undefined && target !== undefined && target >= width;
}
