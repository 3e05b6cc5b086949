import { CutoverError } from '../errors.ts';
import { typeFamily } from './column-types.ts';
import { tokenize } from './expression/tokenize.ts';
import { compileFilters } from './filters.ts';
import { openSqlite, type SqliteBindValue, type SqliteDatabase, type SqliteStatement, type SqliteValue } from './sqlite.ts';
import { fromSqliteValue, toSqliteValueOf } from './sqlite-values.ts';
import type { CatalogColumn, MappedTable, RowTransformer } from './types.ts';

/**
 * Turns source rows into target rows for one mapped table: selection filters, renamed and
 * removed columns, and expression columns evaluated by real SQLite (sql.js) with the row's
 * values bound to the `$column` parameters. All expressions of the table run as one prepared
 * statement, prepared once.
 */
export async function createRowTransformer(table: MappedTable): Promise<RowTransformer> {
  const filters = compileFilters(table.filters, table.sourceColumns);
  const expressionColumns = table.columns.filter((c) => c.kind === 'expression');
  let db: SqliteDatabase | undefined;
  let stmt: SqliteStatement | undefined;
  /** `$name` as written in the expressions -> source column. */
  const params = new Map<string, CatalogColumn>();

  if (expressionColumns.length > 0) {
    db = await openSqlite();
    const parts: string[] = [];
    for (const c of expressionColumns) {
      const sql = rewriteParameters(c.expression, table.sourceColumns, params);
      try {
        db.prepare(`SELECT (${sql})`).free();
      } catch (err) {
        db.close();
        throw new CutoverError('MAPPING_INVALID', `expression for column ${table.target.schema}.${table.target.table}.${c.target} is not valid SQLite: ${(err as Error).message}`, {
          received: c.expression,
          fix: `fix the expression in rule ${table.ruleIds.join('/')} (DMS evaluates expressions as SQLite)`,
        });
      }
      parts.push(`(${sql}) AS c${parts.length}`);
    }
    // Integers beyond 2^53 come back as digit text: a JavaScript number would round them.
    const outer = parts.map(
      (_, i) => `CASE WHEN typeof(c${i}) = 'integer' AND (c${i} > 9007199254740991 OR c${i} < -9007199254740991) THEN CAST(c${i} AS TEXT) ELSE c${i} END`,
    );
    stmt = db.prepare(`SELECT ${outer.join(', ')} FROM (SELECT ${parts.join(', ')})`);
  }

  // SQLite numbers named parameters in order of first appearance, which `params` preserves:
  // binding by position avoids a name lookup per value.
  const bindList = [...params].map(([, col]) => ({ column: col.name, family: typeFamily(col.type) }));
  const binding: SqliteBindValue[] = new Array(bindList.length);
  const pk = table.primaryKey;
  const targetPk = table.targetPrimaryKey;
  const columns = table.columns;

  const evaluate = (row: Readonly<Record<string, unknown>>): (SqliteValue | bigint)[] => {
    if (!stmt) return [];
    for (let i = 0; i < bindList.length; i++) binding[i] = toSqliteValueOf(row[bindList[i]!.column], bindList[i]!.family);
    try {
      stmt.bind(binding);
      stmt.step();
      return stmt.get();
    } catch (err) {
      throw new CutoverError('INTERNAL', `SQLite failed to evaluate the expressions of ${table.target.schema}.${table.target.table}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      stmt.reset();
    }
  };

  return {
    table,
    matches: (row) => filters.test(row),
    transform(row) {
      if (!filters.test(row)) return null;
      const values = evaluate(row);
      const out: Record<string, unknown> = {};
      let k = 0;
      for (const c of columns) {
        if (c.kind === 'copy') out[c.target] = row[c.source];
        else out[c.target] = fromSqliteValue(values[k++]!);
      }
      return out;
    },
    targetKey(sourceKey) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < pk.length; i++) out[targetPk[i]!] = sourceKey[pk[i]!];
      return out;
    },
    close() {
      stmt?.free();
      db?.close();
      stmt = undefined;
      db = undefined;
    },
  };
}

/**
 * Rewrites `$name` parameters of integer columns as `CAST($name AS INTEGER)` (their values are
 * bound as digit text so 64-bit integers stay exact) and of real columns as `CAST($name AS
 * REAL)` (sql.js binds an integral JavaScript number as INTEGER, which would make 3.0 / 4 an
 * integer division).
 */
function rewriteParameters(expression: string, columns: readonly CatalogColumn[], params: Map<string, CatalogColumn>): string {
  let out = '';
  for (const t of tokenize(expression)) {
    if (t.kind === 'param' && t.text.startsWith('$')) {
      const name = t.text.slice(1);
      const col = columns.find((c) => c.name === name) ?? uniqueCaseInsensitive(columns, name);
      if (!col) throw new CutoverError('MAPPING_INVALID', `expression references $${name}, which is not a source column`, { received: expression });
      params.set(name, col);
      const family = typeFamily(col.type);
      out += family === 'integer' ? `CAST(${t.text} AS INTEGER)` : family === 'float' ? `CAST(${t.text} AS REAL)` : t.text;
    } else out += t.text;
  }
  return out;
}

function uniqueCaseInsensitive(cols: readonly CatalogColumn[], name: string): CatalogColumn | undefined {
  const found = cols.filter((c) => c.name.toLowerCase() === name.toLowerCase());
  return found.length === 1 ? found[0] : undefined;
}
