import { typeFamily } from '../../mappings/column-types.ts';
import type { CatalogColumn, ColumnFilter, FilterCondition } from '../../mappings/types.ts';

/**
 * DMS selection filters as a MySQL WHERE fragment, with the meaning lib/mappings/filters.ts gives
 * them on PostgreSQL: numbers numerically, text by code point (bytes of UTF-8, never the column's
 * case-insensitive collation), dates and times by time. Conditions on one column are OR-ed,
 * filters are AND-ed; a NULL fails every condition except `null`.
 */
export function mysqlFilterSql(filters: readonly ColumnFilter[], columns: readonly CatalogColumn[]): string | null {
  if (!filters.length) return null;
  return filters
    .map((f) => {
      const column = columns.find((c) => c.name === f.column);
      const family = typeFamily(column?.type ?? 'text');
      const col = '`' + f.column.replace(/`/g, '``') + '`';
      const conds = f.conditions.map((c) => condition(col, family, c));
      return conds.length === 1 ? conds[0]! : `(${conds.join(' OR ')})`;
    })
    .join(' AND ');
}

function literal(v: string): string {
  return "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

function condition(col: string, family: string, c: FilterCondition): string {
  if (c.operator === 'null') return `${col} IS NULL`;
  if (c.operator === 'notnull') return `${col} IS NOT NULL`;
  const text = family === 'text' || family === 'bpchar' || family === 'uuid' || family === 'other';
  const lhs = text ? `CAST(CONVERT(${col} USING utf8mb4) AS BINARY)` : col;
  const val = (v: string) =>
    text ? `CAST(CONVERT(${literal(v)} USING utf8mb4) AS BINARY)` : family === 'integer' || family === 'numeric' || family === 'float' ? `CAST(${literal(v)} AS DECIMAL(65, 30))` : literal(v);
  switch (c.operator) {
    case 'eq':
      return `${lhs} = ${val(c.value!)}`;
    case 'noteq':
      return `${lhs} <> ${val(c.value!)}`;
    case 'ste':
      return `${lhs} <= ${val(c.value!)}`;
    case 'gte':
      return `${lhs} >= ${val(c.value!)}`;
    case 'between':
      return `${lhs} BETWEEN ${val(c.start!)} AND ${val(c.end!)}`;
    case 'notbetween':
      return `${lhs} NOT BETWEEN ${val(c.start!)} AND ${val(c.end!)}`;
  }
}
