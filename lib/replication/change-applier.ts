import type pg from 'pg';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import type { SourceChange, SourceTransaction, WireRow } from './change-stream.ts';
import { encodeCopyField, toPgText } from './copy-text.ts';
import { CopyTextBuffer } from './copy-text-buffer.ts';
import { PgoutputInsert } from './pgoutput-rows.ts';
import { runScriptWithCopy, type StatementResult } from './script-with-copy.ts';
import { writeAppliedLsnSql } from './control-schema.ts';
import { compareLsn } from './lsn.ts';
import { sourceName, targetName } from '../mappings/mapped-tables.ts';
import { arrayText, qualified, quoteIdent, quoteLiteral, textArrayLiteral } from './sql-names.ts';

export interface ApplyTable {
  readonly table: MappedTable;
  readonly transformer: RowTransformer;
}

type Row = Record<string, unknown>;

/** One write on the apply side, in target terms, with the source change it came from (for dead letters). */
type Op =
  /**
   * A row inserted at the source after the newest load snapshot: a plain INSERT (cheaper than an upsert).
   * `row` null: the source row as sent, still bytes (a pgoutput insert into a pass-through table:
   * COPY takes the bytes, anything else parses them, see rowOf).
   */
  | { kind: 'insert'; t: ApplyTable; row: Row | null; change: SourceChange; lsn: string }
  | { kind: 'upsert'; t: ApplyTable; row: Row | null; change: SourceChange; lsn: string }
  | { kind: 'delete'; t: ApplyTable; key: Row; change: SourceChange; lsn: string }
  /** An UPDATE that left TOAST values unchanged: only the columns sent are written. */
  | { kind: 'patch'; t: ApplyTable; key: Row; row: Row; change: SourceChange; lsn: string; replay: boolean }
  | { kind: 'truncate'; t: ApplyTable; change: SourceChange; lsn: string }
  /** A change the kit cannot apply correctly from what the source sent: straight to a dead letter. */
  | { kind: 'reject'; t: ApplyTable; change: SourceChange; lsn: string; reason: string };

export interface BatchResult {
  readonly changes: number;
  readonly deadLetters: number;
  /** Applied changes per source table. */
  readonly perTable: ReadonlyMap<string, number>;
  /** Target WAL position just after the batch's commit (acknowledge the source once it is flushed). */
  readonly targetLsn: string | null;
  /** Target WAL flush position just after the batch committed (commits before it are durable). */
  readonly targetFlushed: string | null;
}

/** A batch submitted to the apply session; `done` never rejects: a failed fast path resolves to its error. */
export interface SubmittedBatch {
  readonly txns: readonly SourceTransaction[];
  readonly endLsn: string;
  readonly done: Promise<BatchResult | Error>;
}

/** A part of an open transaction, built (ChangeApplier.applyOpenPart). */
interface OpenPartPlan {
  readonly txn: SourceTransaction;
  readonly part: number;
  readonly ops: Op[];
  readonly perTable: Map<string, number>;
  readonly keysSql: string | null;
  readonly statements: string[];
  readonly copies: Buffer[];
  /** Indexes in `statements` of those that may write dead letters. */
  readonly deadLetterAt: number[];
  readonly upsertOnly: number;
}

/** Rows per statement: bounds the SQL text of one statement (a few MB at most). */
const MAX_GROUP_ROWS = 10_000;
/**
 * Fewer new rows than this go inline as one INSERT: the whole batch is then one round trip,
 * where COPY takes two more (its own, and the statements after it). Many rows go as COPY,
 * which the target parses faster than any INSERT.
 */
const COPY_MIN_ROWS = 100;

/** The source keys a batch changed in one table, in change order: one `_cutover.changed_key_batch` row. */
interface ChangedKeys {
  readonly table: string;
  /** Each key's values as PostgreSQL array text; '{}' for a TRUNCATE. */
  readonly keys: string[];
  /** Per key, as `varbit` text: '1' where its change left a row. */
  present: string;
  /** The commit position of each source transaction with keys here, in commit order. */
  readonly txnLsns: string[];
  /** Per transaction in `txnLsns`: the number (from 1) of its first key in `keys`. */
  readonly txnStarts: number[];
  /** The newest of `txnLsns` (transactions come in commit order: the last). */
  last: string;
}

/** How long ChangeApplier.warmSession waits for a target table's lock at most (milliseconds). */
export const WARM_UP_LOCK_TIMEOUT_MS = 100;

/** A table whose target row is the source row as sent: no filter, every column copied under its own name. */
export function isPassThrough(table: MappedTable): boolean {
  return !table.filters.length && table.columns.every((c) => c.kind === 'copy' && c.source === c.target);
}

/**
 * Applies whole source transactions, in commit order, as one target transaction per batch, with
 * the batch's last commit position written in that same transaction. Writes are idempotent by
 * key (upsert / delete), so replaying a batch after a crash changes nothing.
 *
 * Fast path: the batch's last write per key, as one multi-row statement per table and kind, each
 * column one array literal (many new rows as COPY), one round trip per batch without COPY. Batches may be
 * pipelined: `submit` builds a batch while the one before it runs and sends it the moment that
 * one committed (never if it failed). If the target rejects anything, the batch is rolled back and replayed one
 * change at a time under savepoints; a rejected change goes to `_cutover.dead_letter` and the
 * rest still applies.
 */
export class ChangeApplier {
  /** schema -> table -> mapped table (two levels: no key string built per change). */
  private readonly bySource = new Map<string, Map<string, ApplyTable>>();
  private readonly columnTypes = new Map<string, Map<string, string>>();
  /** Tables whose target row is the source row as sent (no filter, every column copied under its own name). */
  private readonly passThrough = new Set<ApplyTable>();
  /** Settles with whether every batch submitted so far committed (a batch is sent only then). */
  private tail: Promise<boolean> = Promise.resolve(true);
  /** Key column places per source relation (keyPositions): a source table's key is the same for every mapping of it. */
  private readonly keyPositionCache = new WeakMap<object, number[] | null>();
  /** Target tables where a plain INSERT met an existing key: upserts only from then on. */
  private readonly upsertOnly = new Set<ApplyTable>();
  /** The table the last lookup found (see lookup). */
  private last: { schema: string; table: string; t: ApplyTable | undefined } = { schema: '', table: '', t: undefined };
  /** Prepared statement names on this session, by statement text. */
  private readonly statementNames = new Map<string, string>();
  /** Whether this pg client can switch to pipeline mode (node-postgres 8.22+); else batches go as SQL text. */
  private readonly pipelineSwitch: boolean;
  /** The next part of an open transaction, built while the one before it ran (applyOpenPart). */
  private nextPart: OpenPartPlan | null = null;
  /** Per pgoutput relation (a new one after each ALTER): how its inserts' bytes become COPY lines (copyLayout). */
  private readonly copyLayouts = new WeakMap<PgoutputInsert['relation'], { relation: PgoutputInsert['relation']; include: boolean[]; columns: string[] } | null>();

  constructor(
    private readonly client: pg.ClientBase,
    private readonly slot: string,
    private readonly direction: string,
    tables: readonly ApplyTable[],
    /**
     * More bookkeeping SQL committed in each batch's transaction, after its position (the binlog
     * replicator's file, offset and GTID in `_cutover.binlog_state`). @default - none
     */
    private readonly positionSql?: (last: SourceTransaction) => string,
  ) {
    this.pipelineSwitch = typeof (client as unknown as { pipeline?: unknown }).pipeline === 'boolean';
    for (const t of tables) {
      let schema = this.bySource.get(t.table.source.schema);
      if (!schema) this.bySource.set(t.table.source.schema, (schema = new Map()));
      schema.set(t.table.source.table, t);
      if (isPassThrough(t.table)) this.passThrough.add(t);
    }
  }

  private mapped(): ApplyTable[] {
    return [...this.bySource.values()].flatMap((tables) => [...tables.values()]);
  }

  private lookup(schema: string, table: string): ApplyTable | undefined {
    // a stream's changes come in runs of one table: the same strings as the change before
    if (schema === this.last.schema && table === this.last.table) return this.last.t;
    const t = this.bySource.get(schema)?.get(table);
    this.last = { schema, table, t };
    return t;
  }

  /** The mapping's target row (target column names), or null when the filters leave the row out. */
  private targetRow(t: ApplyTable, sourceRow: WireRow): Row | null {
    return this.passThrough.has(t) ? sourceRow : t.transformer.transform(sourceRow);
  }

  /** Reads the target column types (as `format_type` prints them) of every mapped table, once. */
  async init(): Promise<void> {
    const targets = this.mapped().map((t) => qualified(t.table.target.schema, t.table.target.table));
    const { rows } = await this.client.query<{ target: string; name: string; type: string }>(
      `select t.name as target, a.attname as name, format_type(a.atttypid, a.atttypmod) as type
         from unnest($1::text[]) as t(name) join pg_attribute a on a.attrelid = to_regclass(t.name)
        where a.attnum > 0 and not a.attisdropped`,
      [targets],
    );
    for (const r of rows) {
      let types = this.columnTypes.get(r.target);
      if (!types) this.columnTypes.set(r.target, (types = new Map()));
      types.set(r.name, r.type);
    }
  }

  /**
   * Readies the session's server side for the first batch: a COPY of no rows into each target
   * table (the tables' and their indexes' catalog entries, the columns' input functions), in a
   * transaction rolled back — nothing is written. In a new session the first batch paid for that
   * itself: 1,000 rows in ~20 ms against ~8 ms in the batches after it (PostgreSQL 17, scratch
   * harness); after this (3–5 ms, run while the stream opens) it took 8–11 ms. It never waits
   * for a table another session holds locked (WARM_UP_LOCK_TIMEOUT_MS: the worker's start must
   * not hang on it; the first batch then waits as it always did). On failure (a missing privilege
   * shows at the first batch anyway) the transaction is rolled back and the error thrown: the
   * session stays usable.
   */
  async warmSession(): Promise<void> {
    const copies = this.mapped().map((t) => `copy ${qualified(t.table.target.schema, t.table.target.table)} (${t.table.columns.map((c) => quoteIdent(c.target)).join(', ')}) from stdin`);
    if (!copies.length) return;
    try {
      await runScriptWithCopy(this.client, ['begin', `set local lock_timeout = ${WARM_UP_LOCK_TIMEOUT_MS}`, ...copies, 'rollback'].join(';\n'), copies.map(() => Buffer.alloc(0)));
    } catch (err) {
      await this.client.query('rollback');
      throw err;
    }
  }

  /**
   * Sends a batch's fast path. `after` is the end position of a batch still in flight on this
   * session (this one must not commit unless that one did), or null.
   */
  submit(txns: readonly SourceTransaction[], replayUntil: string | null): SubmittedBatch {
    const { ops, perTable } = this.toBatchOps(txns, replayUntil);
    const groups = groupOps(ops, this.upsertOnly);
    const changedKeys = this.changedKeys(txns);
    if (this.canPipeline(groups, changedKeys)) return this.submitPrepared(txns, groups, changedKeys, ops.length, perTable);
    const { script, copies, deadLetterAt } = this.script(txns, groups, changedKeys);
    const send = async (): Promise<BatchResult | Error> => {
      let results: StatementResult[];
      try {
        results = await runScriptWithCopy(this.client, script, copies);
      } catch (err) {
        return this.failed(err as Error, ops);
      }
      let deadLetters = 0;
      for (const index of deadLetterAt) deadLetters += results[index]?.rowCount ?? 0;
      const after = results[results.length - 1]?.rows[0];
      return { changes: ops.length - deadLetters, deadLetters, perTable, targetLsn: after?.lsn ?? null, targetFlushed: after?.flushed ?? null };
    };
    return this.chain(txns, send);
  }

  /**
   * A batch as submit sends it when it goes as one script (SQL text and COPY data), built and not
   * sent. The worker's warm-up runs synthetic batches through it (apply-warm-up.ts).
   */
  build(txns: readonly SourceTransaction[], replayUntil: string | null): { script: string; copies: Buffer[] } {
    const { ops } = this.toBatchOps(txns, replayUntil);
    return this.script(txns, groupOps(ops, this.upsertOnly), this.changedKeys(txns));
  }

  /**
   * One script, one round trip: SQL text, except plain inserts, which go as COPY (cheaper for the
   * target than any INSERT) with their data right behind the script (runScriptWithCopy).
   * `deadLetterAt`: the statements that may write dead letters (their row counts are summed).
   */
  private script(txns: readonly SourceTransaction[], groups: readonly Op[][], changedKeys: readonly ChangedKeys[]): { script: string; copies: Buffer[]; deadLetterAt: number[] } {
    const last = txns[txns.length - 1]!;
    const statements = ['begin'];
    const copies: Buffer[] = [];
    const deadLetterAt: number[] = [];
    this.groupStatements(groups, statements, copies, deadLetterAt);
    if (changedKeys.length) statements.push(this.changedKeysSql(changedKeys));
    statements.push(writeAppliedLsnSql(this.slot, this.direction, last.endLsn, last.commitTime));
    if (this.positionSql) statements.push(this.positionSql(last));
    statements.push('commit', AFTER_COMMIT);
    return { script: statements.join(';\n'), copies, deadLetterAt };
  }

  /** The statements of `groups`, appended to `statements` (COPY data to `copies`; see {@link script}). */
  private groupStatements(groups: readonly Op[][], statements: string[], copies: Buffer[], deadLetterAt: number[]): void {
    for (const group of groups) {
      if (group[0]!.kind === 'insert' && group.length >= COPY_MIN_ROWS) {
        const copy = this.copyRows(group as Extract<Op, { kind: 'insert' }>[]);
        statements.push(copy.statement);
        copies.push(copy.data);
        continue;
      }
      if (writesDeadLetters(group[0]!)) deadLetterAt.push(statements.length);
      statements.push(this.groupSql(group));
    }
  }

  /**
   * One part of a large source transaction, applied while the rest of it still arrives
   * (open-transaction-apply.ts), in the one target transaction every part of it shares: part 0
   * begins it, the last part (`commit`) writes the position and commits it — so a crash before
   * then leaves nothing of it on the target, and the position never passes it. Each part runs
   * under a savepoint: if the target rejects anything, that part alone is rolled back and applied
   * again (upserts only, if a plain insert met an existing row), else one change at a time with
   * dead letters, as a failed batch is (recover); the parts before it stay.
   *
   * `upcoming`: the part after it, if it has arrived: its statements are built while the target
   * runs this one (the next call with it sends them).
   */
  async applyOpenPart(txn: SourceTransaction, part: number, replayUntil: string | null, commit: boolean, upcoming?: SourceTransaction): Promise<BatchResult> {
    const plan = this.nextPart?.txn === txn && this.nextPart.part === part ? this.nextPart : this.planPart(txn, part, replayUntil);
    this.nextPart = null;
    const { ops, perTable, keysSql } = plan;
    let begin = part === 0;
    const fastPath = async (): Promise<number> => {
      // built again if a failed part made a table take upserts only since
      const { statements, copies, deadLetterAt } = plan.upsertOnly === this.upsertOnly.size ? plan : this.planPart(txn, part, replayUntil);
      const script = `${begin ? 'begin;\n' : ''}savepoint cutover_part;\n${statements.join(';\n')}${statements.length ? ';\n' : ''}release savepoint cutover_part`;
      // statement i of the part is result i + offset (after begin and savepoint)
      const offset = begin ? 2 : 1;
      begin = false;
      const sent = runScriptWithCopy(this.client, script, copies);
      if (upcoming) {
        this.nextPart = this.planPart(upcoming, part + 1, replayUntil);
        upcoming = undefined;
      }
      const results = await sent;
      let n = 0;
      for (const index of deadLetterAt) n += results[index + offset]?.rowCount ?? 0;
      return n;
    };
    let deadLetters: number;
    try {
      deadLetters = await fastPath();
    } catch (err) {
      await this.client.query('rollback to savepoint cutover_part');
      this.failed(err as Error, ops);
      let again: number | null = null;
      if ((err as { code?: string }).code === '23505') {
        again = await fastPath().catch(async () => {
          await this.client.query('rollback to savepoint cutover_part');
          return null;
        });
      }
      if (again === null) {
        again = await this.applyOpsOneByOne(ops, perTable);
        if (keysSql) await this.client.query(keysSql);
      }
      deadLetters = again;
    }
    if (!commit) return { changes: ops.length - deadLetters, deadLetters, perTable, targetLsn: null, targetFlushed: null };
    const results = await this.client.query(
      `${writeAppliedLsnSql(this.slot, this.direction, txn.endLsn, txn.commitTime)};\n${this.positionSql ? `${this.positionSql(txn)};\n` : ''}commit;\n${AFTER_COMMIT}`,
    );
    const after = lastRow(results);
    return { changes: ops.length - deadLetters, deadLetters, perTable, targetLsn: after.lsn, targetFlushed: after.flushed };
  }

  /** A part's writes and statements (see applyOpenPart); `upsertOnly`: the size of that set they were built with. */
  private planPart(txn: SourceTransaction, part: number, replayUntil: string | null): OpenPartPlan {
    const { ops, perTable } = this.toBatchOps([txn], replayUntil);
    const keys = this.changedKeys([txn]);
    const keysSql = keys.length ? this.changedKeysSql(keys, part) : null;
    const statements: string[] = [];
    const copies: Buffer[] = [];
    const deadLetterAt: number[] = [];
    this.groupStatements(groupOps(ops, this.upsertOnly), statements, copies, deadLetterAt);
    if (keysSql) statements.push(keysSql);
    return { txn, part, ops, perTable, keysSql, statements, copies, deadLetterAt, upsertOnly: this.upsertOnly.size };
  }

  /** A batch's fast path failed: a plain INSERT that met an existing row makes its table take upserts from now on. */
  private failed(err: Error, ops: readonly Op[]): Error {
    const e = err as Error & { code?: string; table?: string; schema?: string };
    if (e.code === '23505' && e.table) {
      for (const op of ops) {
        if (op.kind === 'insert' && op.t.table.target.table === e.table && (!e.schema || op.t.table.target.schema === e.schema)) this.upsertOnly.add(op.t);
      }
    }
    return e;
  }

  /** Built now, sent the moment the batch before it has committed — never if it failed. */
  private chain(txns: readonly SourceTransaction[], send: () => Promise<BatchResult | Error>): SubmittedBatch {
    const done = this.tail.then((previousCommitted) => (previousCommitted ? send() : new Error('not sent: the batch before it failed')));
    this.tail = done.then((r) => !(r instanceof Error));
    return { txns, endLsn: txns[txns.length - 1]!.endLsn, done };
  }

  /**
   * A small batch (what a steady trickle of single-row transactions makes: the lag of a live
   * stream) goes as named prepared statements, one per table and kind, sent back to back in
   * pipeline mode: one round trip, and the target parses and plans each statement once per
   * session instead of once per batch. Larger batches keep SQL text and COPY (COPY cannot be
   * pipelined, and their parse cost is spread over thousands of rows); so do the rare patches,
   * truncates and rejects, whose statements write dead letters.
   */
  private canPipeline(groups: readonly Op[][], changedKeys: readonly ChangedKeys[]): boolean {
    if (!this.pipelineSwitch || changedKeys.reduce((n, k) => n + k.keys.length, 0) >= COPY_MIN_ROWS) return false;
    for (const g of groups) {
      const kind = g[0]!.kind;
      if ((kind !== 'insert' && kind !== 'upsert' && kind !== 'delete') || (kind === 'insert' && g.length >= COPY_MIN_ROWS)) return false;
    }
    return true;
  }

  private submitPrepared(txns: readonly SourceTransaction[], groups: readonly Op[][], changedKeys: readonly ChangedKeys[], changes: number, perTable: Map<string, number>): SubmittedBatch {
    const last = txns[txns.length - 1]!;
    const queries: pg.QueryConfig[] = [{ text: 'begin' }];
    for (const g of groups) queries.push(this.preparedGroup(g));
    for (const k of changedKeys) {
      queries.push(
        this.prepared(
          `insert into _cutover.changed_key_batch (slot, source_table, lsn, keys, present_bits, txn_lsns, txn_starts) values ($1, $2, $3::pg_lsn, $4::text[], $5::varbit, $6::pg_lsn[], $7::integer[])`,
          [this.slot, k.table, k.last, arrayText(k.keys), k.present, `{${k.txnLsns.join(',')}}`, txnStartsText(k)],
        ),
      );
    }
    queries.push(this.prepared(WRITE_APPLIED_LSN, [this.slot, this.direction, last.endLsn, last.commitTime.toISOString()]));
    if (this.positionSql) queries.push({ text: this.positionSql(last) });
    queries.push({ text: 'commit' }, this.prepared(AFTER_COMMIT));
    const send = async (): Promise<BatchResult | Error> => {
      const settled = await this.pipelined(queries);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) return this.failed(failed.reason as Error, groups.flat());
      const results = settled.map((r) => (r as PromiseFulfilledResult<pg.QueryResult>).value);
      const after = lastRow(results[results.length - 1]!);
      return { changes, deadLetters: 0, perTable, targetLsn: after.lsn, targetFlushed: after.flushed };
    };
    return this.chain(txns, send);
  }

  /** A named statement for `text` (one name per distinct text on this session). */
  private prepared(text: string, values?: unknown[]): pg.QueryConfig {
    let name = this.statementNames.get(text);
    if (!name) this.statementNames.set(text, (name = `cutover_apply_${this.statementNames.size + 1}`));
    return { name, text, values };
  }

  /** {@link groupSql}'s insert, upsert or delete with one `text[]` parameter per column. */
  private preparedGroup(group: readonly Op[]): pg.QueryConfig {
    const first = group[0]!;
    const table = first.t.table;
    const target = qualified(table.target.schema, table.target.table);
    const types = this.typesOf(target);
    const cast = (c: string) => `::${types.get(c) ?? 'text'}`;
    const unnest = (cols: readonly string[]) => `select ${cols.map((c, i) => `u.c${i}${cast(c)}`).join(', ')} from unnest(${cols.map((_, i) => `$${i + 1}::text[]`).join(', ')}) as u(${cols.map((_, i) => `c${i}`).join(', ')})`;
    if (first.kind === 'delete') {
      const keyCols = table.targetPrimaryKey;
      const keys = group as Extract<Op, { kind: 'delete' }>[];
      return this.prepared(
        `delete from ${target} where (${keyCols.map(quoteIdent).join(', ')}) in (${unnest(keyCols)})`,
        keyCols.map((c) => arrayText(keys.map((op) => toPgText(op.key[c])))),
      );
    }
    const rows = group as Extract<Op, { kind: 'insert' | 'upsert' }>[];
    const cols = table.columns.map((c) => c.target);
    const insert = `insert into ${target} (${cols.map(quoteIdent).join(', ')}) overriding system value ${unnest(cols)}`;
    const values = rows.map(rowOf);
    return this.prepared(first.kind === 'insert' ? insert : `${insert} ${onConflict(cols, table.targetPrimaryKey)}`, cols.map((c) => arrayText(values.map((row) => toPgText(row[c])))));
  }

  /**
   * Sends the queries back to back (pipeline mode) and waits for every one to settle. The session
   * is in pipeline mode only meanwhile: COPY, which the larger batches use, cannot be pipelined.
   * After a failure the server skips to each query's sync: the rest fail too (the transaction is
   * aborted) and `commit` rolls back.
   */
  private async pipelined(queries: readonly pg.QueryConfig[]): Promise<PromiseSettledResult<pg.QueryResult>[]> {
    const session = this.client as unknown as { pipeline: boolean; connection?: { stream?: { cork?(): void; uncork?(): void } } };
    const socket = session.connection?.stream;
    session.pipeline = true;
    // corked: the queries leave in one write, not one per query
    socket?.cork?.();
    let sent: Promise<pg.QueryResult>[];
    try {
      sent = queries.map((q) => this.client.query(q));
    } finally {
      socket?.uncork?.();
    }
    try {
      return await Promise.allSettled(sent);
    } finally {
      session.pipeline = false;
    }
  }

  /**
   * Forward streams: the source keys the batch's changes touched, in the batch's own transaction:
   * one `_cutover.changed_key_batch` row per table: its keys as an array, whether each change left
   * a row as bits, and the commit position of each transaction with the number of its first key
   * (control-schema.ts: a row per key cost the target a tuple and an index entry per applied row;
   * a boolean and a position per key, parsing two more arrays). Taken from the changes themselves, not from the
   * writes they became, so a change the mapping filters out, a dead letter or a rejected change is
   * recorded too: the frozen validation compares every row changed since the last full validation.
   */
  private changedKeysSql(rows: readonly ChangedKeys[], part = 0): string {
    // `part`: the part of a transaction applied while it arrived (all of one commit position: the
    // reader takes the later part's change of a key, control-schema.ts)
    return `insert into _cutover.changed_key_batch (slot, source_table, lsn, keys, present_bits, txn_lsns, txn_starts${part ? ', part' : ''}) values ${rows
      .map((k) => `(${quoteLiteral(this.slot)}, ${quoteLiteral(k.table)}, '${k.last}'::pg_lsn, ${textArrayLiteral(k.keys)}::text[], B'${k.present}', '{${k.txnLsns.join(',')}}'::pg_lsn[], ${quoteNullable(txnStartsText(k))}::integer[]${part ? `, ${part}` : ''})`)
      .join(', ')}`;
  }

  /** The places of `t`'s key columns in `relation` (by name), or null if one is missing; cached per relation. */
  private keyPositions(t: ApplyTable, relation: PgoutputInsert['relation']): number[] | null {
    const cached = this.keyPositionCache.get(relation);
    if (cached !== undefined) return cached;
    const positions = t.table.primaryKey.map((k) => relation.columns.findIndex((c) => c.name === k));
    const result = positions.every((p) => p >= 0) ? positions : null;
    this.keyPositionCache.set(relation, result);
    return result;
  }

  /**
   * The keys the batch's changes touched, per table, in change order (see {@link changedKeysSql});
   * none for reverse streams (nothing reads them there). A key changed twice is there twice: the
   * reader takes each key's latest change (lib/diff/changed-rows.ts).
   */
  private changedKeys(txns: readonly SourceTransaction[]): ChangedKeys[] {
    if (this.direction !== 'forward') return [];
    const byTable = new Map<ApplyTable, ChangedKeys>();
    // `row`: the key's values, or its text already (PgoutputInsert.bareKeyText), or null (TRUNCATE)
    const touch = (t: ApplyTable, row: WireRow | string | null, present: boolean, lsn: string) => {
      let k = byTable.get(t);
      if (!k) byTable.set(t, (k = { table: sourceName(t.table), keys: [], present: '', txnLsns: [], txnStarts: [], last: '' }));
      k.keys.push(typeof row === 'string' ? row : row ? keyText(row, t.table.primaryKey) : '{}');
      k.present += present ? '1' : '0';
      if (lsn !== k.last) {
        k.txnLsns.push(lsn);
        k.txnStarts.push(k.keys.length);
        k.last = lsn;
      }
    };
    for (const txn of txns) {
      for (const c of txn.changes) {
        if (c.kind === 'truncate') {
          for (const r of c.relations) {
            const t = this.lookup(r.schema, r.table);
            if (t) touch(t, null, false, txn.commitLsn);
          }
          continue;
        }
        const t = this.lookup(c.schema, c.table);
        if (!t) continue;
        if (c.kind === 'delete') touch(t, c.oldKey, false, txn.commitLsn);
        else if (c instanceof PgoutputInsert) {
          // the key alone, from the bytes where it needs no quoting: the row stays bytes
          const positions = this.keyPositions(t, c.relation);
          touch(t, (positions && c.bareKeyText(positions)) ?? c.pick(t.table.primaryKey), true, txn.commitLsn);
        } else {
          if (c.kind === 'update' && c.oldKey && !sameKey(c.oldKey, c.newRow, t.table.primaryKey)) touch(t, c.oldKey, false, txn.commitLsn);
          touch(t, c.newRow, true, txn.commitLsn);
        }
      }
    }
    return [...byTable.values()];
  }

  /**
   * A group of new rows as `COPY … FROM STDIN` statement and text data. Rows still bytes (see
   * rowOf) are copied into the data as they came, when their relation lists the table's columns
   * in the group's order (the first such row's: a relation announced again mid-batch, after an
   * ALTER, may list others); every other row is encoded from its values.
   */
  private copyRows(group: readonly Extract<Op, { kind: 'insert' }>[]): { statement: string; data: Buffer } {
    const table = group[0]!.t.table;
    const first = group[0]!;
    const layout = first.row === null ? this.copyLayout(first.t, (first.change as PgoutputInsert).relation) : null;
    const cols = layout?.columns ?? table.columns.map((c) => c.target);
    const data = new CopyTextBuffer();
    for (const op of group) {
      if (layout && op.row === null && (op.change as PgoutputInsert).relation === layout.relation) {
        (op.change as PgoutputInsert).appendCopyLine(data, layout.include);
        continue;
      }
      const row = rowOf(op);
      let line = '';
      for (let i = 0; i < cols.length; i++) line += (i ? '\t' : '') + encodeCopyField(row[cols[i]!]);
      data.appendText(line + '\n');
    }
    return { statement: `copy ${qualified(table.target.schema, table.target.table)} (${cols.map(quoteIdent).join(', ')}) from stdin`, data: data.data() };
  }

  /**
   * Which of a relation's columns (by position) a pass-through table's COPY takes, and their names
   * in that order; null when the relation lacks one of the table's columns (such rows are encoded
   * from their values: a missing column is written NULL, as before).
   */
  private copyLayout(t: ApplyTable, relation: PgoutputInsert['relation']): { relation: PgoutputInsert['relation']; include: boolean[]; columns: string[] } | null {
    const known = this.copyLayouts.get(relation);
    if (known !== undefined) return known;
    const mapped = new Set(t.table.columns.map((c) => c.target));
    const include = relation.columns.map((c) => mapped.has(c.name));
    const columns = relation.columns.filter((c) => mapped.has(c.name)).map((c) => c.name);
    const layout = columns.length === mapped.size ? { relation, include, columns } : null;
    this.copyLayouts.set(relation, layout);
    return layout;
  }

  /**
   * After a failed `submit` (and once every batch sent behind it has settled): rolls back, tries
   * the fast path once more (upserts only, if a plain insert was the cause), then one change at a
   * time with dead letters.
   */
  async recover(txns: readonly SourceTransaction[], replayUntil: string | null, failure: Error): Promise<BatchResult> {
    await this.client.query('rollback').catch(() => {});
    // a target table created after init() was cast by guesswork: read the types again
    const staleTypes = this.mapped().some((t) => !this.columnTypes.has(qualified(t.table.target.schema, t.table.target.table)));
    if (staleTypes) await this.init();
    this.tail = Promise.resolve(true);
    if (staleTypes || (failure as { code?: string }).code === '23505') {
      const retry = await this.submit(txns, replayUntil).done;
      if (!(retry instanceof Error)) return retry;
      await this.client.query('rollback').catch(() => {});
      this.tail = Promise.resolve(true);
    }
    return this.applyOneByOne(txns, replayUntil);
  }

  /** Fast path, falling back to `recover` (no pipelining). */
  async applyBatch(txns: readonly SourceTransaction[], replayUntil: string | null): Promise<BatchResult> {
    const result = await this.submit(txns, replayUntil).done;
    return result instanceof Error ? this.recover(txns, replayUntil, result) : result;
  }

  private toBatchOps(txns: readonly SourceTransaction[], replayUntil: string | null): { ops: Op[]; perTable: Map<string, number> } {
    const ops: Op[] = [];
    for (const txn of txns) {
      const replay = replayUntil !== null && compareLsn(txn.commitLsn, replayUntil) < 0;
      for (const change of txn.changes) this.toOps(change, txn.commitLsn, replay, ops);
    }
    const counts = new Map<ApplyTable, number>();
    for (const op of ops) if (op.kind !== 'reject') counts.set(op.t, (counts.get(op.t) ?? 0) + 1);
    const perTable = new Map<string, number>();
    for (const [t, n] of counts) perTable.set(sourceName(t.table), (perTable.get(sourceName(t.table)) ?? 0) + n);
    return { ops, perTable };
  }

  private async applyOneByOne(txns: readonly SourceTransaction[], replayUntil: string | null): Promise<BatchResult> {
    const last = txns[txns.length - 1]!;
    const { ops, perTable } = this.toBatchOps(txns, replayUntil);
    let deadLetters = 0;
    let targetLsn: string | null = null;
    let flushed: string | null = null;
    await this.client.query('begin');
    try {
      deadLetters = await this.applyOpsOneByOne(ops, perTable);
      const keys = this.changedKeys(txns);
      const changedKeys = keys.length ? this.changedKeysSql(keys) : null;
      const results = await this.client.query(
        `${changedKeys ? `${changedKeys};\n` : ''}${writeAppliedLsnSql(this.slot, this.direction, last.endLsn, last.commitTime)};\n${this.positionSql ? `${this.positionSql(last)};\n` : ''}commit;\n${AFTER_COMMIT}`,
      );
      ({ lsn: targetLsn, flushed } = lastRow(results));
    } catch (err) {
      await this.client.query('rollback').catch(() => {});
      throw err;
    }
    return { changes: ops.length - deadLetters, deadLetters, perTable, targetLsn, targetFlushed: flushed };
  }

  /**
   * `ops` one at a time, in source order, each under a savepoint of the open target transaction: a
   * change the target rejects goes to `_cutover.dead_letter` with its reason and the rest still
   * applies. Returns the dead letters written; `perTable` loses the changes they took.
   */
  private async applyOpsOneByOne(ops: readonly Op[], perTable: Map<string, number>): Promise<number> {
    let deadLetters = 0;
    for (const op of ops) {
      // one change, source order; an insert may meet a row the target already has: upsert
      const single: Op = op.kind === 'insert' ? { ...op, kind: 'upsert' } : op;
      if (op.kind === 'reject') {
        await this.deadLetter(op, new Error(op.reason));
        deadLetters++;
        continue;
      }
      const nul = nulColumn(single);
      if (nul) {
        // never sent: a NUL inside SQL text breaks the statement before any savepoint exists
        await this.deadLetter(op, new Error(`column ${nul} holds a NUL character (0x00), which PostgreSQL text cannot store; fix the source value (e.g. REPLACE(col, CHAR(0), '')) and run cutover validate --repair-sql`));
        deadLetters++;
        const name = sourceName(op.t.table);
        perTable.set(name, (perTable.get(name) ?? 1) - 1);
        continue;
      }
      try {
        await this.client.query(`savepoint cutover_change;\n${this.groupSql([single])};\nrelease savepoint cutover_change`);
      } catch (err) {
        await this.client.query('rollback to savepoint cutover_change');
        await this.deadLetter(op, err as Error);
        deadLetters++;
        const name = sourceName(op.t.table);
        perTable.set(name, (perTable.get(name) ?? 1) - 1);
      }
    }
    return deadLetters;
  }

  /** The target's WAL flush position: commits before it survive a crash of the target. */
  async targetFlushed(): Promise<string> {
    return (await this.client.query<{ lsn: string }>('select pg_current_wal_flush_lsn()::text as lsn')).rows[0]!.lsn;
  }

  private async deadLetter(op: Op, err: Error): Promise<void> {
    await this.client.query(`insert into _cutover.dead_letter (${DEAD_LETTER_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8)`, this.deadLetterValues(op, err.message));
  }

  /** A dead letter's values, in DEAD_LETTER_COLUMNS order. */
  private deadLetterValues(op: Op, error: string): (string | null)[] {
    const c = op.change;
    const sourceKey =
      c.kind === 'insert' || (c.kind === 'update' && !c.oldKey)
        ? pickKey(c.newRow, op.t.table.primaryKey)
        : c.kind === 'update' || c.kind === 'delete'
          ? pickKey(c.oldKey ?? {}, op.t.table.primaryKey)
          : null;
    return [this.slot, this.direction, sourceName(op.t.table), targetName(op.t.table), sourceKey ? jsonbText(sourceKey) : null, jsonbText(c), error.replace(/\u0000/g, '\\0'), op.lsn];
  }

  /** `select <dead letter values>` as literals (inside a batch's SQL text). */
  private deadLetterSelect(op: Op, error: string): string {
    const types = ['text', 'text', 'text', 'text', 'jsonb', 'jsonb', 'text', 'pg_lsn'];
    return `select ${this.deadLetterValues(op, error)
      .map((v, i) => (v === null ? `null::${types[i]}` : `${quoteLiteral(v)}::${types[i]}`))
      .join(', ')}`;
  }

  private toOps(change: SourceChange, lsn: string, replay: boolean, ops: Op[]): void {
    if (change.kind === 'truncate') {
      for (const r of change.relations) {
        const t = this.lookup(r.schema, r.table);
        if (t) ops.push({ kind: 'truncate', t, change, lsn });
      }
      return;
    }
    const t = this.lookup(change.schema, change.table);
    if (!t) return; // not mapped (publication lists mapped tables only)
    const table = t.table;
    if (change.kind === 'delete') {
      ops.push({ kind: 'delete', t, key: targetKey(t, change.oldKey), change, lsn });
      return;
    }
    if (change.kind === 'insert') {
      // before the newest load snapshot the row may already be there (loaded in a later state)
      const kind = replay ? 'upsert' : 'insert';
      if (this.passThrough.has(t) && change instanceof PgoutputInsert) {
        // the source row as it came, still bytes, for its COPY (rowOf)
        ops.push({ kind, t, row: null, change, lsn });
        return;
      }
      const row = this.targetRow(t, change.newRow);
      if (row) ops.push({ kind, t, row, change, lsn });
      return;
    }
    const oldKey = change.oldKey && !sameKey(change.oldKey, change.newRow, table.primaryKey) ? change.oldKey : null;
    const unknown = hasUnchanged(change.newRow) ? unknownTargetValues(t, change.newRow) : null;
    if (unknown) {
      ops.push({ kind: 'reject', t, change, lsn, reason: unknown });
      return;
    }
    const row = this.targetRow(t, change.newRow);
    const fromKey = targetKey(t, oldKey ?? change.newRow);
    if (!row) {
      ops.push({ kind: 'delete', t, key: fromKey, change, lsn }); // left the selection filter
      return;
    }
    if (hasUnchanged(change.newRow)) {
      // keep the target's copy of unchanged TOAST values: write only columns computed from values sent
      const partial: Row = {};
      for (const c of table.columns) {
        const deps = c.kind === 'copy' ? [c.source] : c.dependsOn;
        if (deps.every((d) => change.newRow[d] !== undefined)) partial[c.target] = row[c.target];
      }
      ops.push({ kind: 'patch', t, key: fromKey, row: partial, change, lsn, replay });
      return;
    }
    if (oldKey) ops.push({ kind: 'delete', t, key: fromKey, change, lsn });
    ops.push({ kind: 'upsert', t, row, change, lsn });
  }

  private typesOf(target: string): Map<string, string> {
    return this.columnTypes.get(target) ?? new Map();
  }

  /**
   * One statement for a group of ops of one kind on one table. Many rows: one `text[]` literal
   * per column and `unnest`, each cast to the target column type (its text input, as COPY does)
   * — far cheaper to parse and plan than thousands of parameters or VALUES rows.
   */
  private groupSql(group: readonly Op[]): string {
    const first = group[0]!;
    const table = first.t.table;
    const target = qualified(table.target.schema, table.target.table);
    const types = this.typesOf(target);
    const keyCols = table.targetPrimaryKey;
    const cast = (c: string) => `::${types.get(c) ?? 'text'}`;
    const unnest = (cols: readonly string[], values: (c: string) => (string | null)[]) =>
      `select ${cols.map((c, i) => `u.c${i}${cast(c)}`).join(', ')} from unnest(${cols.map((c) => `${textArrayLiteral(values(c))}::text[]`).join(', ')}) as u(${cols.map((_, i) => `c${i}`).join(', ')})`;
    switch (first.kind) {
      case 'truncate':
        return `delete from ${target}`;
      case 'reject':
        return `insert into _cutover.dead_letter (${DEAD_LETTER_COLUMNS}) ${this.deadLetterSelect(first, first.reason)}`;
      case 'delete': {
        const keys = group as Extract<Op, { kind: 'delete' }>[];
        return `delete from ${target} where (${keyCols.map(quoteIdent).join(', ')}) in (${unnest(keyCols, (c) => keys.map((op) => toPgText(op.key[c])))})`;
      }
      case 'insert':
      case 'upsert': {
        const rows = group as Extract<Op, { kind: 'insert' | 'upsert' }>[];
        const cols = table.columns.map((c) => c.target);
        const values = rows.map(rowOf);
        const select = unnest(cols, (c) => values.map((row) => toPgText(row[c])));
        const insert = `insert into ${target} (${cols.map(quoteIdent).join(', ')}) overriding system value ${select}`;
        return first.kind === 'insert' ? insert : `${insert} ${onConflict(cols, keyCols)}`;
      }
      case 'patch': {
        const cols = Object.keys(first.row);
        if (!cols.length) return 'select 1';
        const literal = (c: string, v: unknown) => {
          const text = toPgText(v);
          return text === null ? `null${cast(c)}` : `${quoteLiteral(text)}${cast(c)}`;
        };
        const sets = cols.map((c) => `${quoteIdent(c)} = ${literal(c, first.row[c])}`).join(', ');
        const where = keyCols.map((c) => `${quoteIdent(c)} = ${literal(c, first.key[c])}`).join(' and ');
        const update = `update ${target} set ${sets} where ${where}`;
        // The row is not there. Before the newest load snapshot that is expected (it was loaded in
        // a later state, or deleted later). After it, the row cannot be built: the source did not
        // send its unchanged TOAST values — a dead letter, never a row with those columns empty.
        if (first.replay) return update;
        const reason = `the target has no row for this UPDATE and the source did not send the unchanged large values of ${unchangedColumns(first.change).join(', ')}; ${REPLICA_IDENTITY_FIX}`;
        return `with updated as (${update} returning 1) insert into _cutover.dead_letter (${DEAD_LETTER_COLUMNS}) ${this.deadLetterSelect(first, reason)} where not exists (select 1 from updated)`;
      }
    }
  }
}

function onConflict(cols: readonly string[], keyCols: readonly string[]): string {
  const nonKey = cols.filter((c) => !keyCols.includes(c));
  const action = nonKey.length ? `do update set ${nonKey.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ')}` : 'do nothing';
  return `on conflict (${keyCols.map(quoteIdent).join(', ')}) ${action}`;
}

/**
 * The last statement of a batch, after its commit: the position just after the commit, and how far
 * the target's WAL is flushed (commits before it survive a crash of the target). Read after the
 * commit, not before the batch: one statement fewer per batch, and a flush position that is newer.
 */
const AFTER_COMMIT = 'select pg_current_wal_insert_lsn()::text as lsn, pg_current_wal_flush_lsn()::text as flushed';

function lastRow(results: pg.QueryResult | pg.QueryResult[]): { lsn: string | null; flushed: string | null } {
  const list = Array.isArray(results) ? results : [results];
  const row = list[list.length - 1]?.rows[0] as { lsn?: string; flushed?: string } | undefined;
  return { lsn: row?.lsn ?? null, flushed: row?.flushed ?? null };
}

/**
 * Statements for the fast path. Between barriers (a patch or a truncate, which depend on the
 * previous state), only the last write per key matters: the batch commits atomically and every
 * upsert/delete is a full row state. So per table, all deletes run as one statement, then all
 * inserts, then all upserts. A plain insert whose key was written earlier in the batch becomes
 * an upsert (the earlier write may have been dropped). A constraint that this reordering trips
 * (a unique value moving between rows) sends the batch to the one-by-one path, which keeps the
 * source order.
 */
function groupOps(ops: readonly Op[], upsertOnly: ReadonlySet<ApplyTable>): Op[][] {
  const groups: Op[][] = [];
  const push = (list: Op[]) => {
    for (let i = 0; i < list.length; i += MAX_GROUP_ROWS) groups.push(list.slice(i, i + MAX_GROUP_ROWS));
  };
  // Tables that only took inserts between two barriers need no last-write-per-key pass: a source
  // key is inserted once unless something else touched it in between.
  let pending: Op[] = [];
  const flush = () => {
    // the common stream, nothing but new rows of one table: as they are
    const only = pending[0]?.t;
    if (only && pending.every((op) => op.kind === 'insert' && op.t === only)) {
      const inserts = pending as Extract<Op, { kind: 'insert' }>[];
      push(upsertOnly.has(only) ? inserts.map((op) => ({ ...op, kind: 'upsert' as const })) : inserts);
      pending = [];
      return;
    }
    const byTable = new Map<ApplyTable, Op[]>();
    for (const op of pending) {
      let list = byTable.get(op.t);
      if (!list) byTable.set(op.t, (list = []));
      list.push(op);
    }
    pending = [];
    for (const [t, list] of byTable) {
      if (list.every((op) => op.kind === 'insert')) {
        push(upsertOnly.has(t) ? list.map((op) => ({ ...op, kind: 'upsert' as const })) : list);
        continue;
      }
      const keyCols = t.table.targetPrimaryKey;
      const byKey = new Map<string, Op>();
      for (let op of list) {
        const key = keyString(op.kind === 'delete' ? op.key : rowOf(op as Extract<Op, { kind: 'insert' | 'upsert' }>), keyCols);
        if (op.kind === 'insert' && (byKey.has(key) || upsertOnly.has(t))) op = { ...op, kind: 'upsert' };
        byKey.delete(key); // the last write of a key takes the last place
        byKey.set(key, op);
      }
      const byKind: Record<'delete' | 'insert' | 'upsert', Op[]> = { delete: [], insert: [], upsert: [] };
      for (const op of byKey.values()) byKind[op.kind as 'delete' | 'insert' | 'upsert'].push(op);
      push(byKind.delete);
      push(byKind.insert);
      push(byKind.upsert);
    }
  };
  for (const op of ops) {
    if (op.kind === 'patch' || op.kind === 'truncate' || op.kind === 'reject') {
      flush();
      groups.push([op]);
    } else pending.push(op);
  }
  flush();
  return groups;
}

/** An insert's or upsert's target row; one still bytes (a pass-through table's pgoutput insert) is the source row, parsed now. */
function rowOf(op: Extract<Op, { kind: 'insert' | 'upsert' }>): Row {
  return op.row ?? (op.change as Extract<SourceChange, { kind: 'insert' }>).newRow;
}

function keyString(key: Row, cols: readonly string[]): string {
  if (cols.length === 1) return toPgText(key[cols[0]!]) ?? '\u0000null';
  let out = '';
  for (const c of cols) out += (toPgText(key[c]) ?? '\u0000null') + '\u0000';
  return out;
}

function targetKey(t: ApplyTable, sourceRow: WireRow): Row {
  return t.transformer.targetKey(pickKey(sourceRow, t.table.primaryKey));
}

function hasUnchanged(row: WireRow): boolean {
  for (const k in row) if (row[k] === undefined) return true;
  return false;
}

function pickKey(row: Readonly<Record<string, unknown>>, keys: readonly string[]): Row {
  const out: Row = {};
  for (const k of keys) out[k] = row[k];
  return out;
}

/** A key value an array literal may hold unquoted (never empty, never the word NULL, no whitespace or punctuation the array syntax uses). */
const BARE_ARRAY_ELEMENT = /^[0-9A-Za-z_.:+-]+$/;

/**
 * A row's key as `text[]` text (what `_cutover.changed_key_batch` keeps per key): quoted only
 * where a value needs it, so the common key (a number, a plain code) costs no escaping here nor in
 * the batch's array literal around it.
 */
function keyText(row: WireRow, keys: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const v = toPgText(row[keys[i]!]);
    if (i) out += ',';
    if (v === null) out += 'NULL';
    else if (BARE_ARRAY_ELEMENT.test(v) && v.toUpperCase() !== 'NULL') out += v;
    else out += '"' + v.replace(/["\\]/g, '\\$&') + '"';
  }
  return out + '}';
}

/**
 * `txn_starts` as array text, or null when each transaction has one key (single-row transactions:
 * the reader takes key n's position from `txn_lsns[n]`; 5,000 numbers 1…5,000 cost the target
 * more to parse than the booleans they replaced).
 */
function txnStartsText(k: ChangedKeys): string | null {
  return k.txnStarts.length === k.keys.length ? null : `{${k.txnStarts.join(',')}}`;
}

function quoteNullable(text: string | null): string {
  return text === null ? 'null' : `'${text}'`;
}

function sameKey(a: WireRow, b: WireRow, keys: readonly string[]): boolean {
  return keys.every((k) => a[k] === b[k]);
}

/** The first target column of a write whose text holds a NUL character (a MySQL source may have one), or null. */
function nulColumn(op: Op): string | null {
  const values = op.kind === 'delete' ? op.key : op.kind === 'insert' || op.kind === 'upsert' ? rowOf(op) : op.kind === 'patch' ? op.row : null;
  if (!values) return null;
  for (const [column, v] of Object.entries(values)) if (typeof v === 'string' && v.includes('\u0000')) return column;
  return null;
}

/**
 * JSON text jsonb accepts: a NUL character (which a MySQL source may hold in a string, and is the
 * very reason such a row cannot be applied) is kept visibly as the six characters `\u0000`.
 */
function jsonbText(value: unknown): string {
  // an escape `\u0000` is preceded by an even number of backslashes (an odd one escapes the backslash)
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\\\u0000');
}

const DEAD_LETTER_COLUMNS = 'slot, direction, source_table, target_table, source_key, change, error, lsn';

/** writeAppliedLsnSql as a statement with parameters (slot, direction, lsn, source commit time). */
const WRITE_APPLIED_LSN = `insert into _cutover.apply_state (slot, direction, applied_lsn, source_commit_at, applied_at) values ($1, $2, $3::pg_lsn, $4::timestamptz, now())
  on conflict (slot) do update set applied_lsn = greatest(_cutover.apply_state.applied_lsn, excluded.applied_lsn),
    source_commit_at = coalesce(excluded.source_commit_at, _cutover.apply_state.source_commit_at), applied_at = now()`;

const REPLICA_IDENTITY_FIX =
  'set `ALTER TABLE … REPLICA IDENTITY FULL` on the source table (the old row then carries every value), then `cutover validate --repair` for this row';

/** Ops whose statement may insert dead letters (its row count is how many). */
function writesDeadLetters(op: Op): boolean {
  return op.kind === 'reject' || (op.kind === 'patch' && !op.replay);
}

function unchangedColumns(change: SourceChange): string[] {
  return change.kind === 'update' ? Object.keys(change.newRow).filter((k) => change.newRow[k] === undefined) : [];
}

/**
 * Why an UPDATE that left large (TOAST) values unsent cannot be applied from what it carries, or
 * null when it can: a selection filter on such a column cannot be decided (pgoutput sends no value
 * for it; treating it as NULL would delete or skip the row), and an expression mixing such a column
 * with others may have changed without the kit knowing its new value. Copied columns and
 * expressions over unsent columns only are unchanged, so the target keeps them.
 */
function unknownTargetValues(t: ApplyTable, newRow: WireRow): string | null {
  const unsent = (c: string) => newRow[c] === undefined;
  const filtered = t.table.filters.map((f) => f.column).filter(unsent);
  if (filtered.length) {
    return `the selection filter on ${filtered.join(', ')} cannot be decided: the source did not send the unchanged large value; ${REPLICA_IDENTITY_FIX}`;
  }
  for (const c of t.table.columns) {
    if (c.kind !== 'expression' || !c.dependsOn.some(unsent) || c.dependsOn.every(unsent)) continue;
    return `expression column ${c.target} depends on ${c.dependsOn.filter(unsent).join(', ')}, whose unchanged large value the source did not send; ${REPLICA_IDENTITY_FIX}`;
  }
  return null;
}
