import type { ColumnFilter, FilterCondition, ResolvedMappings } from './types.ts';

/**
 * A human summary of resolved mappings, one block per selected table, as `mappings check`
 * prints it:
 *
 *   public.customers -> crm.customer  (load-order 2; rules 1, 4)
 *     renamed:  cust_name -> name
 *     removed:  legacy_flag
 *     added:    full_name text = $first||' '||$last
 *     filter:   country = 'CN'
 */
export function describeMappings(resolved: ResolvedMappings): string {
  const lines: string[] = [];
  lines.push(`${resolved.tables.length} table(s) selected, ${resolved.excluded.length} excluded`);
  for (const t of resolved.tables) {
    const src = `${t.source.schema}.${t.source.table}`;
    const tgt = `${t.target.schema}.${t.target.table}`;
    const head = [`load-order ${t.loadOrder}`, `rules ${t.ruleIds.join(', ') || '-'}`];
    lines.push(`${src} -> ${tgt}  (${head.join('; ')})`);
    const renamed: string[] = [];
    const retyped: string[] = [];
    const added: string[] = [];
    for (const c of t.columns) {
      if (c.kind === 'copy') {
        if (c.source !== c.target) renamed.push(`${c.source} -> ${c.target}`);
        if (c.sourceType !== c.targetType) retyped.push(`${c.target}: ${c.sourceType} -> ${c.targetType}`);
      } else {
        const sql = c.postgresSql === null ? ' [not translatable to PostgreSQL: validated row by row]' : '';
        added.push(`${c.target} ${c.targetType} = ${c.expression}${c.replaces !== undefined ? ` (replaces ${c.replaces})` : ''}${sql}`);
      }
    }
    if (renamed.length) lines.push(`  renamed:  ${renamed.join(', ')}`);
    if (t.removedColumns.length) lines.push(`  removed:  ${t.removedColumns.join(', ')}`);
    if (retyped.length) lines.push(`  retyped:  ${retyped.join(', ')}`);
    for (const a of added) lines.push(`  added:    ${a}`);
    if (t.filters.length) lines.push(`  filter:   ${t.filters.map(describeFilter).join(' AND ')}`);
    const key = t.primaryKey.length ? t.primaryKey.join(', ') : 'NONE (replication refuses tables without a key)';
    const keyFrom = t.primaryKeyDefinition ? ` (define-primary-key ${t.primaryKeyDefinition.name}, rule ${t.primaryKeyDefinition.ruleId})` : '';
    lines.push(`  key:      ${key}${keyFrom}`);
    for (const s of t.tableSettings) lines.push(`  settings: rule ${s.ruleId} ${Object.keys(s.settings).join(', ')} (DMS-side tuning, recorded)`);
  }
  if (resolved.excluded.length) {
    lines.push('excluded:');
    for (const e of resolved.excluded) lines.push(`  ${e.schema}.${e.table} (rule ${e.ruleId})`);
  }
  if (resolved.withoutPrimaryKey.length) lines.push(`without primary key: ${resolved.withoutPrimaryKey.join(', ')}`);
  for (const n of resolved.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

function describeFilter(f: ColumnFilter): string {
  const parts = f.conditions.map((c) => describeCondition(f.column, c));
  return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
}

function describeCondition(col: string, c: FilterCondition): string {
  switch (c.operator) {
    case 'eq':
      return `${col} = '${c.value}'`;
    case 'noteq':
      return `${col} <> '${c.value}'`;
    case 'ste':
      return `${col} <= '${c.value}'`;
    case 'gte':
      return `${col} >= '${c.value}'`;
    case 'between':
      return `${col} BETWEEN '${c.start}' AND '${c.end}'`;
    case 'notbetween':
      return `${col} NOT BETWEEN '${c.start}' AND '${c.end}'`;
    case 'null':
      return `${col} IS NULL`;
    case 'notnull':
      return `${col} IS NOT NULL`;
  }
}
