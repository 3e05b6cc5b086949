import { createRequire } from 'node:module';

/**
 * The slice of sql.js (SQLite compiled to WebAssembly) the mapping engine uses. DMS evaluates
 * transformation expressions with SQLite, so the kit runs them in real SQLite too. sql.js ships
 * no type declarations; these describe the calls we make.
 */
export type SqliteValue = number | string | Uint8Array | null;
export type SqliteBindValue = SqliteValue | bigint;

export interface SqliteStatement {
  bind(values: Record<string, SqliteBindValue> | SqliteBindValue[]): boolean;
  step(): boolean;
  get(params?: null, config?: { useBigInt?: boolean }): (SqliteValue | bigint)[];
  reset(): void;
  free(): boolean;
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): { columns: string[]; values: SqliteValue[][] }[];
  close(): void;
}

interface SqlJsModule {
  Database: new () => SqliteDatabase;
}

const require = createRequire(import.meta.url);
let modulePromise: Promise<SqlJsModule> | undefined;

/** sql.js is initialised once per process; every caller shares the compiled module. */
export function loadSqlite(): Promise<SqlJsModule> {
  if (!modulePromise) {
    const init = require('sql.js') as (config?: object) => Promise<SqlJsModule>;
    modulePromise = init().catch((err: unknown) => {
      modulePromise = undefined;
      throw err;
    });
  }
  return modulePromise;
}

/**
 * Loads and compiles sql.js and runs one statement, without waiting for it: the first statement
 * of a process costs 0.05-0.15 s (WebAssembly compiled and tiered up on first use). A replication
 * worker calls this as it starts, so that happens while it connects instead of after. A failure
 * here is left to the first real use to report.
 */
export function warmSqlite(): void {
  void openSqlite().then(
    (db) => {
      db.exec('select 1');
      db.close();
    },
    () => {},
  );
}

export async function openSqlite(): Promise<SqliteDatabase> {
  const mod = await loadSqlite();
  return new mod.Database();
}
