import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { QualifiedName } from '../platform/roles.ts';
import { isCollatableType, isFloatType, isIntegerType } from './column-types.ts';
import { asTargetType } from './normalized-form.ts';
import { ident, qualified } from './sql-text.ts';
import { readCollations, readColumnTypes } from './table-catalog.ts';

/** One primary-key column on both sides (same position in the key). */
export interface KeyColumn {
  readonly source: string;
  readonly target: string;
  readonly sourceType: string;
  readonly targetType: string;
}

/** One compared target column and how each side produces it. */
export interface ComparedColumn {
  readonly target: string;
  /** The real target column type (what every value is normalized to). */
  readonly targetType: string;
  /**
   * Source-side SQL giving the value in the target type, over the source table; null when the
   * mapping's expression has no PostgreSQL form (the table is then compared through the row
   * transformer, see chunk-rows.ts).
   */
  readonly sourceSql: string | null;
  readonly float: boolean;
}

/** Everything the engine needs to compare one mapped table pair. */
export interface TablePlan {
  readonly mapped: MappedTable;
  readonly source: QualifiedName;
  readonly target: QualifiedName;
  readonly sourceRelation: string;
  readonly targetRelation: string;
  readonly keys: readonly KeyColumn[];
  readonly columns: readonly ComparedColumn[];
  /** Source column names in order (the transformer reads whole rows). */
  readonly sourceColumns: readonly string[];
  readonly filterSql: string | null;
  /** Some expression column has no PostgreSQL form: source rows go through the row transformer. */
  readonly viaTransformer: boolean;
  /** The two sides order text keys differently: compare key ranges byte-wise (`COLLATE "C"`). */
  readonly collateC: boolean;
  /** Single integer key: chunk boundaries come from min/max instead of a key scan. */
  readonly integerKey: boolean;
}

export async function buildTablePlan(
  mapped: MappedTable,
  sourceDb: pg.Pool,
  targetDb: pg.Pool,
): Promise<TablePlan> {
  const source = `${mapped.source.schema}.${mapped.source.table}`;
  const target = `${mapped.target.schema}.${mapped.target.table}`;
  const [sourceTypes, targetTypes] = await Promise.all([
    readColumnTypes(sourceDb, mapped.source.schema, mapped.source.table),
    readColumnTypes(targetDb, mapped.target.schema, mapped.target.table),
  ]);
  const fix = `create the target table (schema migration) or correct the mapping, then run \`cutover mappings check\``;
  if (!sourceTypes.size) throw new CutoverError('MAPPING_INVALID', `source table ${source} does not exist`, { received: source, fix });
  if (!targetTypes.size) {
    throw new CutoverError('MAPPING_INVALID', `target table ${target} (mapped from ${source}) does not exist`, { received: target, fix });
  }
  if (!mapped.primaryKey.length) {
    throw new CutoverError('MAPPING_INVALID', `${source} has no primary key: it cannot be compared by key range`, {
      received: source,
      fix: 'add a primary key to the source table, or a define-primary-key rule in the mapping',
    });
  }
  const problems: string[] = [];
  const columns: ComparedColumn[] = [];
  for (const col of mapped.columns) {
    const targetType = targetTypes.get(col.target);
    if (!targetType) {
      problems.push(`${target}.${col.target} (from ${col.kind === 'copy' ? `${source}.${col.source}` : 'an expression'}) is missing on the target`);
      continue;
    }
    let sourceSql: string | null;
    if (col.kind === 'copy') {
      const sourceType = sourceTypes.get(col.source) ?? col.sourceType;
      sourceSql = asTargetType(ident(col.source), sourceType, targetType);
    } else {
      sourceSql = col.postgresSql === null ? null : asTargetType(`(${col.postgresSql})`, null, targetType);
    }
    columns.push({ target: col.target, targetType, sourceSql, float: isFloatType(targetType) });
  }
  const keys: KeyColumn[] = mapped.primaryKey.map((name, i) => {
    const targetName = mapped.targetPrimaryKey[i] ?? name;
    const targetType = targetTypes.get(targetName);
    if (!targetType) problems.push(`key column ${target}.${targetName} is missing on the target`);
    return { source: name, target: targetName, sourceType: sourceTypes.get(name) ?? 'text', targetType: targetType ?? 'text' };
  });
  if (problems.length) {
    throw new CutoverError('MAPPING_INVALID', `${source} -> ${target}: the mapping names target columns that do not exist`, {
      problems,
      fix: 'add the columns to the target schema or correct the mapping (`cutover assess` lists every such problem)',
    });
  }
  let collateC = false;
  const textKeys = keys.filter((k) => isCollatableType(k.sourceType) || isCollatableType(k.targetType));
  if (textKeys.length) {
    const [sc, tc] = await Promise.all([
      readCollations(sourceDb, mapped.source.schema, mapped.source.table, textKeys.map((k) => k.source)),
      readCollations(targetDb, mapped.target.schema, mapped.target.table, textKeys.map((k) => k.target)),
    ]);
    collateC = textKeys.some((k) => sc.get(k.source) !== tc.get(k.target));
  }
  return {
    mapped,
    source,
    target,
    sourceRelation: qualified(mapped.source.schema, mapped.source.table),
    targetRelation: qualified(mapped.target.schema, mapped.target.table),
    keys,
    columns,
    sourceColumns: [...sourceTypes.keys()],
    filterSql: mapped.filterSql,
    viaTransformer: columns.some((c) => c.sourceSql === null) || (mapped.filters.length > 0 && mapped.filterSql === null),
    collateC,
    integerKey: keys.length === 1 && isIntegerType(keys[0]!.sourceType) && isIntegerType(keys[0]!.targetType),
  };
}
