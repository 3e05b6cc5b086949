import type mysql from 'mysql2/promise';
import { connectionError } from '../assess/connection-errors.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import { readMysqlCatalog } from '../engines/mysql/mysql-catalog.ts';
import { explainMysqlConnectionError, openMysqlPool } from '../engines/mysql/mysql-connection.ts';
import { mysqlFilterSql } from '../engines/mysql/mysql-filters.ts';
import { mariadbValueDialect, mysqlValueDialect } from '../engines/mysql/value-dialect.ts';
import type { MappedTable, SourceCatalog } from '../mappings/types.ts';
import { readCatalog } from '../postgres/catalog.ts';
import { postgresValueDialect } from '../postgres/value-dialect.ts';
import { openComparisonPool, queryText, warmPool } from './comparison-pool.ts';
import { applyRepairs, type RepairOutcome, type RepairStatement } from './repair-apply.ts';
import type { ValueDialect } from './value-dialect.ts';

/**
 * One side of a cross-engine comparison: its dialect, a pool of pinned sessions, its catalog in
 * the mapping engine's terms with each column's own type, and the mapping's filter in its SQL.
 * The only place that picks an engine by URL for the diff.
 */
export interface DiffSide {
  readonly dialect: ValueDialect;
  /** Rows as arrays of text (numbers and counts as their decimal text). */
  rows(sql: string, params?: readonly unknown[]): Promise<(string | null)[][]>;
  /** Catalog of `schemas` (empty: every user schema / database) plus `schema.table` -> column -> native type. */
  catalog(schemas: readonly string[]): Promise<{ catalog: SourceCatalog; nativeTypes: ReadonlyMap<string, ReadonlyMap<string, string>> }>;
  /** The mapping's selection filters in this engine's SQL over source column names, or null. */
  filterSql(table: MappedTable): string | null;
  /** Applies repair statements in one transaction (repair-apply.ts); a PostgreSQL side only. */
  applyRepairs?(statements: readonly RepairStatement[]): Promise<RepairOutcome>;
  /** Opens `n` sessions now (connection errors surface here, named); a MySQL-family side learns whether it is MariaDB. */
  warm(n: number): Promise<void>;
  close(): Promise<void>;
}

export function openDiffSide(url: string, size: number, side: 'source' | 'target'): DiffSide {
  return engineOfUrl(url) === 'mysql' ? mysqlSide(url, size, side) : postgresSide(url, size, side);
}

function postgresSide(url: string, size: number, side: 'source' | 'target'): DiffSide {
  const pool = openComparisonPool(url, size);
  return {
    dialect: postgresValueDialect,
    rows: (sql, params = []) => queryText(pool, sql, [...params]),
    async catalog(schemas) {
      const catalog = await readCatalog(pool as never, [...schemas]);
      const nativeTypes = new Map(catalog.tables.map((t) => [`${t.schema}.${t.table}`, new Map(t.columns.map((c) => [c.name, c.type]))]));
      return { catalog, nativeTypes };
    },
    filterSql: (t) => t.filterSql,
    applyRepairs: (statements) => applyRepairs(pool, statements, url),
    async warm(n) {
      await warmPool(pool, n).catch((err: unknown) => {
        throw connectionError(err, side, url);
      });
    },
    close: () => pool.end(),
  };
}

function mysqlSide(url: string, size: number, side: 'source' | 'target'): DiffSide {
  const pool = openMysqlPool(url, size);
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
  // MySQL's portable SQL until warm() has seen a MariaDB server (both print the same texts)
  let dialect: ValueDialect = mysqlValueDialect;
  return {
    get dialect() {
      return dialect;
    },
    async rows(sql, params = []) {
      const [rows] = await pool.query({ sql, values: [...params], rowsAsArray: true });
      return (rows as unknown[][]).map((r) => r.map(text));
    },
    async catalog(schemas) {
      // a MySQL database is the DMS schema; no schema named: every user database
      const catalog = await readMysqlCatalog(pool, schemas);
      return { catalog, nativeTypes: catalog.nativeTypes };
    },
    filterSql: (t) => mysqlFilterSql(t.filters, t.sourceColumns),
    async warm(n) {
      const conns: mysql.PoolConnection[] = [];
      try {
        for (let i = 0; i < Math.max(n, 1); i++) conns.push(await pool.getConnection());
        const [[row]] = (await conns[0]!.query({ sql: 'SELECT VERSION()', rowsAsArray: true })) as unknown as [[[string]]];
        if (/mariadb/i.test(String(row?.[0]))) dialect = mariadbValueDialect;
      } catch (err) {
        throw await explainMysqlConnectionError(err, side, url);
      } finally {
        for (const c of conns) c.release();
      }
    },
    close: () => pool.end(),
  };
}
