import type mysql from 'mysql2/promise';
import { CutoverError } from '../../errors.ts';
import type { MappedTable } from '../../mappings/types.ts';
import { toMysqlValue, readMysqlTargetColumns, ValueRejected, type MysqlTargetColumn } from './mysql-apply-values.ts';
import { connectMysql, mysqlRows } from './mysql-connection.ts';
import { ensureMysqlKitSchema, mysqlAppliedStatement } from './mysql-kit-schema.ts';

type Row = Record<string, unknown>;

/** Where an op came from, for its dead letter. */
export interface OpOrigin {
  /** Source key (source column names), when the change has one. */
  readonly sourceKey: Row | null;
  /** The change as the stream gave it (stored as JSON). */
  readonly change: unknown;
  /** Commit position of its source transaction. */
  readonly lsn: string;
}

/**
 * One write on blue in target terms (the reverse mapping already executed): values are green's
 * text output, converted to blue's column types here.
 */
export type MysqlApplyOp =
  | { readonly kind: 'upsert'; readonly table: MappedTable; readonly row: Row; readonly origin: OpOrigin }
  | { readonly kind: 'delete'; readonly table: MappedTable; readonly key: Row; readonly origin: OpOrigin }
  /** An UPDATE that left large values unsent: only the columns sent are written; no row there -> a dead letter. */
  | { readonly kind: 'patch'; readonly table: MappedTable; readonly key: Row; readonly row: Row; readonly origin: OpOrigin; readonly missingReason: string }
  | { readonly kind: 'truncate'; readonly table: MappedTable; readonly origin: OpOrigin }
  | { readonly kind: 'reject'; readonly table: MappedTable; readonly reason: string; readonly origin: OpOrigin };

export interface MysqlBatchPosition {
  /** End of the batch's last source commit (`0/16B3748`): stored with the changes. */
  readonly lsn: string;
  readonly lsnNumber: bigint;
  readonly commitTime: Date | null;
}

export interface MysqlBatchResult {
  readonly changes: number;
  readonly deadLetters: number;
  /** Applied changes per source table (`schema.table`). */
  readonly perTable: ReadonlyMap<string, number>;
}

/** A statement ready to send, with the ops it carries. */
interface Statement {
  readonly sql: string;
  readonly params: unknown[];
  readonly ops: readonly MysqlApplyOp[];
  /** A patch: zero rows matched means its dead letter. */
  readonly patch?: Extract<MysqlApplyOp, { kind: 'patch' }>;
  /** An upsert as UPDATE by key: zero rows matched means this INSERT runs. */
  readonly insertIfMissing?: { readonly sql: string; readonly params: unknown[] };
}

const q = (name: string) => '`' + name.replace(/`/g, '``') + '`';
const tableOf = (t: MappedTable) => `${q(t.target.schema)}.${q(t.target.table)}`;
const sourceOf = (t: MappedTable) => `${t.source.schema}.${t.source.table}`;

/** Rows per INSERT / DELETE statement (bounds a statement's size well below max_allowed_packet). */
const MAX_GROUP_ROWS = 500;
/** A deadlock or lock wait timeout rolls the batch back: it is tried again this many times. */
const LOCK_RETRIES = 5;

/**
 * A session that writes replicated rows into a MySQL-family blue:
 * - `foreign_key_checks = 0`, as DMS does on a MySQL target (rows arrive in commit order, but a
 *   mapping may leave a parent table out); triggers cannot be switched off in MySQL and fire;
 * - strict `sql_mode` with NO_AUTO_VALUE_ON_ZERO: a value MySQL would truncate or coerce is an
 *   error (then a dead letter), and an id 0 stays 0;
 * - MariaDB `skip_replication = 1`: the binlog events it writes carry the skip-replication flag,
 *   so the kit's forward binlog reader can tell them from the application's (no ping-pong).
 * The account must be allowed to write into a fenced blue: MariaDB's READ_ONLY ADMIN, MySQL 8's
 * CONNECTION_ADMIN or SUPER (see MysqlWriteFence) — without it the first write fails with a
 * PRECONDITION_FAILED naming the GRANT, never a dead letter per row.
 */
export async function openMysqlApplySession(url: string): Promise<mysql.Connection> {
  const c = await connectMysql(url, 'source');
  try {
    await c.query("SET SESSION foreign_key_checks = 0, sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'");
    await c.query('SET SESSION skip_replication = 1').catch(() => {}); // MySQL has no such variable
    await ensureMysqlKitSchema(c);
  } catch (err) {
    await c.end().catch(() => {});
    throw fatalError(err) ?? err;
  }
  return c;
}

/**
 * Applies batches of ops as one blue transaction each, with the batch's end position written in
 * that same transaction (`_cutover.apply_state`): a killed worker resumes from it, so every
 * change is applied exactly once. Upserts by primary key (`INSERT … ON DUPLICATE KEY UPDATE`,
 * as the PostgreSQL applier's `ON CONFLICT (key) DO UPDATE`; on a table with another unique key an
 * UPDATE by key then an INSERT, see statements()), deletes by key; runs of the same
 * kind on one table go as one multi-row statement, in source order. If blue rejects anything the
 * batch rolls back and is replayed one op at a time under savepoints: a rejected op becomes a
 * row of `_cutover.dead_letter` with the reason, the rest applies.
 */
export class MysqlChangeApplier {
  private readonly columns = new Map<MappedTable, Map<string, MysqlTargetColumn>>();
  /** Target column -> green's type of the value (copy: the source column's; expression: its target type). */
  private readonly pgTypes = new Map<MappedTable, Map<string, string>>();
  /** Tables with a unique key besides the primary key: upserted by key one row at a time (see statements()). */
  private readonly otherUniqueKeys = new Set<MappedTable>();

  constructor(
    private readonly c: mysql.Connection,
    private readonly slot: string,
    private readonly direction: string,
    private readonly tables: readonly MappedTable[],
  ) {
    for (const t of tables) {
      const types = new Map<string, string>();
      for (const col of t.columns) {
        types.set(col.target, col.kind === 'copy' ? (t.sourceColumns.find((s) => s.name === col.source)?.type ?? col.sourceType) : col.targetType);
      }
      this.pgTypes.set(t, types);
    }
  }

  /** Reads blue's column types of every mapped table; a table missing on blue is refused now, not per row. */
  async init(): Promise<void> {
    const missing: string[] = [];
    for (const t of this.tables) {
      const cols = await readMysqlTargetColumns(this.c, t.target.schema, t.target.table);
      if (!cols.size) missing.push(`${t.target.schema}.${t.target.table}`);
      const unknown = t.columns.map((c) => c.target).filter((c) => cols.size && !cols.has(c));
      if (unknown.length) missing.push(`${t.target.schema}.${t.target.table} columns ${unknown.join(', ')}`);
      this.columns.set(t, cols);
      if (await hasOtherUniqueKey(this.c, t.target.schema, t.target.table)) this.otherUniqueKeys.add(t);
    }
    if (missing.length) {
      throw new CutoverError('PRECONDITION_FAILED', `the reverse mapping writes into tables or columns blue does not have: ${missing.join('; ')}`, {
        received: missing,
        fix: 'correct the reverse mapping (schema = the MySQL database name, names as blue spells them) and check it with `cutover mappings check`',
      });
    }
  }

  async apply(ops: readonly MysqlApplyOp[], position: MysqlBatchPosition): Promise<MysqlBatchResult> {
    const converted = ops.map((op) => this.convert(op));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.applyFast(converted, position);
      } catch (err) {
        await this.c.query('ROLLBACK').catch(() => {});
        const fatal = fatalError(err);
        if (fatal) throw fatal;
        if (isConnectionLoss(err)) throw err;
        if (isLockConflict(err) && attempt < LOCK_RETRIES) continue;
        return this.applyOneByOne(converted, position);
      }
    }
  }

  /** Values in blue's types, or the op as a reject with the reason. */
  private convert(op: MysqlApplyOp): MysqlApplyOp {
    if (op.kind === 'truncate' || op.kind === 'reject') return op;
    const cols = this.columns.get(op.table)!;
    const types = this.pgTypes.get(op.table)!;
    const one = (row: Row): Row => {
      const out: Row = {};
      for (const [k, v] of Object.entries(row)) {
        const col = cols.get(k);
        if (!col) throw new ValueRejected(`blue's ${op.table.target.schema}.${op.table.target.table} has no column ${k}`);
        try {
          out[k] = toMysqlValue(v, types.get(k) ?? 'text', col);
        } catch (err) {
          if (err instanceof ValueRejected) throw new ValueRejected(`column ${k}: ${err.message}`);
          throw err;
        }
      }
      return out;
    };
    try {
      if (op.kind === 'upsert') return { ...op, row: one(op.row) };
      if (op.kind === 'delete') return { ...op, key: one(op.key) };
      return { ...op, key: one(op.key), row: one(op.row) };
    } catch (err) {
      if (err instanceof ValueRejected) return { kind: 'reject', table: op.table, reason: err.message, origin: op.origin };
      throw err;
    }
  }

  private async applyFast(ops: readonly MysqlApplyOp[], position: MysqlBatchPosition): Promise<MysqlBatchResult> {
    let deadLetters = 0;
    const perTable = new Map<string, number>();
    await this.c.query('BEGIN');
    for (const s of statements(ops, this.otherUniqueKeys)) {
      if (s.ops[0]!.kind === 'reject') {
        await this.deadLetter(s.ops[0]!, (s.ops[0] as { reason: string }).reason);
        deadLetters++;
        continue;
      }
      const [result] = await this.c.query(s.sql, s.params);
      if (s.patch && (result as { affectedRows: number }).affectedRows === 0) {
        await this.deadLetter(s.patch, s.patch.missingReason);
        deadLetters++;
        continue;
      }
      if (s.insertIfMissing && (result as { affectedRows: number }).affectedRows === 0) await this.c.query(s.insertIfMissing.sql, s.insertIfMissing.params);
      for (const op of s.ops) perTable.set(sourceOf(op.table), (perTable.get(sourceOf(op.table)) ?? 0) + 1);
    }
    await this.c.query(...mysqlAppliedStatement(this.slot, this.direction, position.lsn, position.lsnNumber, position.commitTime));
    await this.c.query('COMMIT');
    return { changes: ops.length - deadLetters, deadLetters, perTable };
  }

  /** Source order, one op per savepoint; what blue refuses goes to a dead letter with blue's message. */
  private async applyOneByOne(ops: readonly MysqlApplyOp[], position: MysqlBatchPosition): Promise<MysqlBatchResult> {
    let deadLetters = 0;
    const perTable = new Map<string, number>();
    try {
      await this.c.query('BEGIN');
      for (const op of ops) {
        if (op.kind === 'reject') {
          await this.deadLetter(op, op.reason);
          deadLetters++;
          continue;
        }
        const [s] = statements([op], this.otherUniqueKeys);
        await this.c.query('SAVEPOINT cutover_change');
        try {
          const [result] = await this.c.query(s!.sql, s!.params);
          if (s!.patch && (result as { affectedRows: number }).affectedRows === 0) {
            await this.deadLetter(op, s!.patch.missingReason);
            deadLetters++;
            continue;
          }
          if (s!.insertIfMissing && (result as { affectedRows: number }).affectedRows === 0) await this.c.query(s!.insertIfMissing.sql, s!.insertIfMissing.params);
          perTable.set(sourceOf(op.table), (perTable.get(sourceOf(op.table)) ?? 0) + 1);
        } catch (err) {
          const fatal = fatalError(err);
          if (fatal) throw fatal;
          if (isConnectionLoss(err)) throw err;
          await this.c.query('ROLLBACK TO SAVEPOINT cutover_change');
          await this.deadLetter(op, `blue refused it: ${(err as Error).message}`);
          deadLetters++;
        }
      }
      await this.c.query(...mysqlAppliedStatement(this.slot, this.direction, position.lsn, position.lsnNumber, position.commitTime));
      await this.c.query('COMMIT');
    } catch (err) {
      await this.c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    return { changes: ops.length - deadLetters, deadLetters, perTable };
  }

  private async deadLetter(op: MysqlApplyOp, reason: string): Promise<void> {
    await this.c.query(
      'INSERT INTO `_cutover`.dead_letter (slot, direction, source_table, target_table, source_key, `change`, error, lsn) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        this.slot,
        this.direction,
        sourceOf(op.table),
        `${op.table.target.schema}.${op.table.target.table}`,
        op.origin.sourceKey ? JSON.stringify(op.origin.sourceKey) : null,
        JSON.stringify(op.origin.change),
        reason,
        op.origin.lsn,
      ],
    );
  }
}

/**
 * Runs of upserts / deletes on one table become one statement each, in order; the rest one by one.
 * On a table with another unique key, `ON DUPLICATE KEY UPDATE` would update whichever row holds
 * a clashing value of that key — the PostgreSQL applier's `ON CONFLICT (primary key)` refuses
 * instead — so there an upsert is an UPDATE by primary key, then an INSERT if it matched nothing,
 * and a clash is an error (a dead letter), as on PostgreSQL.
 */
function statements(ops: readonly MysqlApplyOp[], otherUniqueKeys: ReadonlySet<MappedTable>): Statement[] {
  const out: Statement[] = [];
  let run: MysqlApplyOp[] = [];
  const flush = () => {
    if (run.length) out.push(groupStatement(run));
    run = [];
  };
  for (const op of ops) {
    if (op.kind === 'upsert' && otherUniqueKeys.has(op.table)) {
      flush();
      out.push(updateThenInsert(op));
      continue;
    }
    const groupable = op.kind === 'upsert' || op.kind === 'delete';
    if (!groupable || (run.length && (run[0]!.kind !== op.kind || run[0]!.table !== op.table || run.length >= MAX_GROUP_ROWS))) flush();
    if (groupable) run.push(op);
    else out.push(singleStatement(op));
  }
  flush();
  return out;
}

function groupStatement(run: readonly MysqlApplyOp[]): Statement {
  const t = run[0]!.table;
  const keyCols = t.targetPrimaryKey;
  if (run[0]!.kind === 'delete') {
    const keys = run as Extract<MysqlApplyOp, { kind: 'delete' }>[];
    const tuple = `(${keyCols.map(() => '?').join(', ')})`;
    return {
      sql: `DELETE FROM ${tableOf(t)} WHERE (${keyCols.map(q).join(', ')}) IN (${keys.map(() => tuple).join(', ')})`,
      params: keys.flatMap((op) => keyCols.map((c) => op.key[c])),
      ops: run,
    };
  }
  const rows = run as Extract<MysqlApplyOp, { kind: 'upsert' }>[];
  const cols = t.columns.map((c) => c.target);
  const nonKey = cols.filter((c) => !keyCols.includes(c));
  const update = (nonKey.length ? nonKey : keyCols.slice(0, 1)).map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ');
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  return {
    sql: `INSERT INTO ${tableOf(t)} (${cols.map(q).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')} ON DUPLICATE KEY UPDATE ${update}`,
    params: rows.flatMap((op) => cols.map((c) => op.row[c] ?? null)),
    ops: run,
  };
}

function updateThenInsert(op: Extract<MysqlApplyOp, { kind: 'upsert' }>): Statement {
  const t = op.table;
  const keyCols = t.targetPrimaryKey;
  const cols = t.columns.map((c) => c.target);
  const nonKey = cols.filter((c) => !keyCols.includes(c));
  const sets = (nonKey.length ? nonKey : keyCols.slice(0, 1)).map((c) => `${q(c)} = ?`).join(', ');
  return {
    sql: `UPDATE ${tableOf(t)} SET ${sets} WHERE ${keyCols.map((c) => `${q(c)} = ?`).join(' AND ')}`,
    params: [...(nonKey.length ? nonKey : keyCols.slice(0, 1)).map((c) => op.row[c] ?? null), ...keyCols.map((c) => op.row[c])],
    ops: [op],
    insertIfMissing: { sql: `INSERT INTO ${tableOf(t)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, params: cols.map((c) => op.row[c] ?? null) },
  };
}

/** A unique index other than the primary key (see statements()). */
async function hasOtherUniqueKey(c: mysql.Connection, database: string, table: string): Promise<boolean> {
  const [row] = await mysqlRows<{ n: number | string }>(
    c,
    "SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'",
    [database, table],
  );
  return Number(row?.n ?? 0) > 0;
}

function singleStatement(op: MysqlApplyOp): Statement {
  const t = op.table;
  switch (op.kind) {
    case 'upsert':
    case 'delete':
      return groupStatement([op]);
    case 'truncate':
      return { sql: `DELETE FROM ${tableOf(t)}`, params: [], ops: [op] };
    case 'patch': {
      const cols = Object.keys(op.row);
      const keyCols = t.targetPrimaryKey;
      const sets = cols.length ? cols.map((c) => `${q(c)} = ?`).join(', ') : `${q(keyCols[0]!)} = ${q(keyCols[0]!)}`;
      return {
        sql: `UPDATE ${tableOf(t)} SET ${sets} WHERE ${keyCols.map((c) => `${q(c)} = ?`).join(' AND ')}`,
        params: [...cols.map((c) => op.row[c]), ...keyCols.map((c) => op.key[c])],
        ops: [op],
        patch: op,
      };
    }
    case 'reject':
      return { sql: 'SELECT 1', params: [], ops: [op] };
  }
}

/** A refusal no row can get past (blue is read-only for this account, or it lacks a privilege): stop, do not dead-letter every row. */
export function fatalError(err: unknown): CutoverError | null {
  if (err instanceof CutoverError) return err;
  const e = err as { code?: string; errno?: number; message?: string };
  if (e.code === 'ER_OPTION_PREVENTS_STATEMENT' || e.errno === 1290) {
    return new CutoverError('PRECONDITION_FAILED', `blue refuses the reverse replication's writes: ${e.message}`, {
      fix: "blue is fenced (read_only = ON) and the account in source.url may not write through it: GRANT READ_ONLY ADMIN ON *.* TO that account (MariaDB 10.11; MySQL 8: CONNECTION_ADMIN), and ALL ON `_cutover`.* — never to the application's account",
      cause: err,
    });
  }
  if (e.code === 'ER_TABLEACCESS_DENIED_ERROR' || e.code === 'ER_DBACCESS_DENIED_ERROR' || e.code === 'ER_COLUMNACCESS_DENIED_ERROR' || e.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
    return new CutoverError('PRECONDITION_FAILED', `blue refuses the reverse replication's account: ${e.message}`, {
      fix: 'GRANT SELECT, INSERT, UPDATE, DELETE on the mapped tables and ALL ON `_cutover`.* to the account in source.url',
      cause: err,
    });
  }
  return null;
}

const CONNECTION_LOSS = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR']);

/** The server went away (restart, network): the worker reconnects and resumes from the stored position. */
export function isConnectionLoss(err: unknown): boolean {
  const e = err as { code?: string; fatal?: boolean } | null;
  return !!e && (e.fatal === true || (e.code !== undefined && CONNECTION_LOSS.has(e.code)));
}

function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}
