import type mysql from 'mysql2/promise';
import type { CatalogTable, SourceCatalog } from '../../mappings/types.ts';
import { mysqlRows } from './mysql-connection.ts';

/** The databases of a MySQL server that are never a migration's source. */
export const SYSTEM_DATABASES: readonly string[] = ['mysql', 'information_schema', 'performance_schema', 'sys', '_cutover'];

/**
 * The PostgreSQL type AWS DMS gives a MySQL column (its documented MySQL-source → DMS type →
 * PostgreSQL-target chain), as `format_type()` would print it. The mapping engine and the diff
 * work in these types; the diff reads values in the real target column's type.
 */
export function postgresTypeOfMysql(columnType: string): string {
  const t = columnType.toLowerCase().trim();
  const unsigned = /\bunsigned\b/.test(t);
  const base = t.replace(/\s+(unsigned|signed|zerofill)\b/g, '');
  const m = /^([a-z]+)(?:\((.*)\))?/.exec(base);
  const name = m?.[1] ?? base;
  const args = m?.[2];
  switch (name) {
    case 'tinyint':
      return args === '1' && !unsigned ? 'boolean' : 'smallint';
    case 'bool':
    case 'boolean':
      return 'boolean';
    case 'smallint':
      return unsigned ? 'integer' : 'smallint';
    case 'mediumint':
      return 'integer';
    case 'int':
    case 'integer':
      return unsigned ? 'bigint' : 'integer';
    case 'bigint':
      return unsigned ? 'numeric(20,0)' : 'bigint';
    case 'decimal':
    case 'numeric':
    case 'dec':
    case 'fixed': {
      const [p = '10', s = '0'] = (args ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      return `numeric(${p},${s})`;
    }
    case 'float':
      return 'real';
    case 'double':
    case 'real':
      return 'double precision';
    case 'bit':
      return args === undefined || args === '1' ? 'boolean' : 'bytea';
    case 'date':
      return 'date';
    case 'datetime':
    case 'timestamp':
      return args ? `timestamp(${args}) without time zone` : 'timestamp(0) without time zone';
    case 'time':
      return args ? `time(${args}) without time zone` : 'time(0) without time zone';
    case 'year':
      return 'integer';
    case 'char':
    case 'varchar':
      return args ? `character varying(${args})` : 'character varying';
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'set':
      return 'text';
    case 'enum': {
      const labels = (args ?? '').match(/'((?:[^']|'')*)'/g) ?? [];
      const longest = Math.max(1, ...labels.map((l) => l.length - 2));
      return `character varying(${longest})`;
    }
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return 'bytea';
    case 'json':
      return 'json';
    default:
      return 'text';
  }
}

export interface MysqlCatalog extends SourceCatalog {
  /** `schema.table` -> column -> the MySQL column type (`tinyint(1)`, `datetime(6)`, `int(10) unsigned`). */
  readonly nativeTypes: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/**
 * The base tables of `databases` (every user database when empty) in the mapping engine's terms:
 * a MySQL database is the DMS schema, column types are the PostgreSQL types DMS maps them to.
 */
export async function readMysqlCatalog(db: mysql.Pool | mysql.Connection, databases: readonly string[]): Promise<MysqlCatalog> {
  const all = databases.length === 0;
  const where = all ? `t.TABLE_SCHEMA NOT IN (${SYSTEM_DATABASES.map(() => '?').join(', ')})` : `t.TABLE_SCHEMA IN (${databases.map(() => '?').join(', ')})`;
  const params = all ? [...SYSTEM_DATABASES] : [...databases];
  const [tables, columns, keys] = await Promise.all([
    mysqlRows<{ s: string; t: string; n: string | number | null }>(
      db,
      `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t, t.TABLE_ROWS AS n FROM information_schema.TABLES t WHERE t.TABLE_TYPE = 'BASE TABLE' AND ${where} ORDER BY 1, 2`,
      params,
    ),
    mysqlRows<{ s: string; t: string; c: string; type: string; nullable: string; ord: number }>(
      db,
      `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t, t.COLUMN_NAME AS c, t.COLUMN_TYPE AS type, t.IS_NULLABLE AS nullable, t.ORDINAL_POSITION AS ord
         FROM information_schema.COLUMNS t WHERE ${where} ORDER BY 1, 2, t.ORDINAL_POSITION`,
      params,
    ),
    mysqlRows<{ s: string; t: string; c: string }>(
      db,
      `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t, t.COLUMN_NAME AS c FROM information_schema.STATISTICS t
        WHERE t.INDEX_NAME = 'PRIMARY' AND ${where} ORDER BY 1, 2, t.SEQ_IN_INDEX`,
      params,
    ),
  ]);
  const nativeTypes = new Map<string, Map<string, string>>();
  const byTable = new Map<string, { name: string; type: string; nullable: boolean; ordinal: number }[]>();
  for (const c of columns) {
    const k = `${c.s}.${c.t}`;
    if (!byTable.has(k)) byTable.set(k, []);
    byTable.get(k)!.push({ name: c.c, type: postgresTypeOfMysql(c.type), nullable: c.nullable === 'YES', ordinal: Number(c.ord) });
    if (!nativeTypes.has(k)) nativeTypes.set(k, new Map());
    nativeTypes.get(k)!.set(c.c, c.type);
  }
  const pk = new Map<string, string[]>();
  for (const k of keys) {
    const id = `${k.s}.${k.t}`;
    if (!pk.has(id)) pk.set(id, []);
    pk.get(id)!.push(k.c);
  }
  const out: CatalogTable[] = tables.map((t) => ({
    schema: t.s,
    table: t.t,
    columns: byTable.get(`${t.s}.${t.t}`) ?? [],
    primaryKey: pk.get(`${t.s}.${t.t}`) ?? [],
    estimatedRows: Number(t.n ?? 0),
  }));
  return { tables: out, nativeTypes };
}
