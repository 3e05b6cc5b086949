import type pg from 'pg';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import type { SourceChange, SourceTransaction, WireRow } from './change-stream.ts';
import { toPgText } from './copy-text.ts';
import { writeAppliedLsn } from './control-schema.ts';
import { compareLsn } from './lsn.ts';
import { sourceName, targetName } from './mapping-engine.ts';
import { qualified, quoteIdent } from './sql-names.ts';

export interface ApplyTable {
  readonly table: MappedTable;
  readonly transformer: RowTransformer;
}

type Row = Record<string, unknown>;

/** One write on the apply side, in target terms, with the source change it came from (for dead letters). */
type Op =
  | { kind: 'upsert'; t: ApplyTable; row: Row; key: Row; change: SourceChange; lsn: string }
  | { kind: 'delete'; t: ApplyTable; key: Row; change: SourceChange; lsn: string }
  /** An UPDATE that left TOAST values unchanged: only the columns sent are written. */
  | { kind: 'patch'; t: ApplyTable; key: Row; row: Row; change: SourceChange; lsn: string; replay: boolean }
  | { kind: 'truncate'; t: ApplyTable; change: SourceChange; lsn: string };

export interface BatchResult {
  readonly changes: number;
  readonly deadLetters: number;
  /** Applied changes per source table. */
  readonly perTable: ReadonlyMap<string, number>;
}

const MAX_PARAMS = 30_000;
/** Groups at least this large use one array parameter per column. */
const UNNEST_FROM = 20;

/**
 * Applies whole source transactions, in commit order, as one target transaction per batch, with
 * the batch's last commit position written in that same transaction. Writes are idempotent by
 * key (upsert / delete), so replaying a batch after a crash changes nothing.
 *
 * Fast path: the batch's last write per key, as one multi-row statement per table and kind. If the
 * target rejects anything, the batch is rolled back and replayed one change at a time under
 * savepoints; a rejected change goes to `_cutover.dead_letter` and the rest still applies.
 */
export class ChangeApplier {
  private readonly bySource = new Map<string, ApplyTable>();
  private readonly columnTypes = new Map<string, Map<string, string>>();

  constructor(
    private readonly client: pg.ClientBase,
    private readonly slot: string,
    private readonly direction: string,
    tables: readonly ApplyTable[],
  ) {
    for (const t of tables) this.bySource.set(sourceName(t.table), t);
  }

  async applyBatch(txns: readonly SourceTransaction[], replayUntil: string | null): Promise<BatchResult> {
    const ops: Op[] = [];
    for (const txn of txns) {
      const replay = replayUntil !== null && compareLsn(txn.commitLsn, replayUntil) < 0;
      for (const change of txn.changes) ops.push(...this.toOps(change, txn.commitLsn, replay));
    }
    const last = txns[txns.length - 1]!;
    const perTable = new Map<string, number>();
    for (const op of ops) perTable.set(sourceName(op.t.table), (perTable.get(sourceName(op.t.table)) ?? 0) + 1);
    await this.client.query('begin');
    try {
      for (const group of groupOps(ops)) await this.execGroup(group);
      await writeAppliedLsn(this.client, this.slot, this.direction, last.endLsn, last.commitTime);
      await this.client.query('commit');
      return { changes: ops.length, deadLetters: 0, perTable };
    } catch {
      await this.client.query('rollback').catch(() => {});
    }
    return this.applyOneByOne(ops, last, perTable);
  }

  private async applyOneByOne(ops: readonly Op[], last: SourceTransaction, perTable: Map<string, number>): Promise<BatchResult> {
    let deadLetters = 0;
    await this.client.query('begin');
    try {
      for (const op of ops) {
        await this.client.query('savepoint cutover_change');
        try {
          await this.execGroup([op]);
          await this.client.query('release savepoint cutover_change');
        } catch (err) {
          await this.client.query('rollback to savepoint cutover_change');
          await this.deadLetter(op, err as Error);
          deadLetters++;
          const name = sourceName(op.t.table);
          perTable.set(name, (perTable.get(name) ?? 1) - 1);
        }
      }
      await writeAppliedLsn(this.client, this.slot, this.direction, last.endLsn, last.commitTime);
      await this.client.query('commit');
    } catch (err) {
      await this.client.query('rollback').catch(() => {});
      throw err;
    }
    return { changes: ops.length - deadLetters, deadLetters, perTable };
  }

  private async deadLetter(op: Op, err: Error): Promise<void> {
    const c = op.change;
    const sourceKey =
      c.kind === 'insert' || (c.kind === 'update' && !c.oldKey)
        ? pickKey(c.newRow, op.t.table.primaryKey)
        : c.kind === 'update' || c.kind === 'delete'
          ? pickKey(c.oldKey ?? {}, op.t.table.primaryKey)
          : null;
    await this.client.query(
      `insert into _cutover.dead_letter (slot, direction, source_table, target_table, source_key, change, error, lsn)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [this.slot, this.direction, sourceName(op.t.table), targetName(op.t.table), sourceKey ? JSON.stringify(sourceKey) : null, JSON.stringify(c), err.message, op.lsn],
    );
  }

  private toOps(change: SourceChange, lsn: string, replay: boolean): Op[] {
    if (change.kind === 'truncate') {
      return change.relations
        .map((r) => this.bySource.get(`${r.schema}.${r.table}`))
        .filter((t): t is ApplyTable => !!t)
        .map((t) => ({ kind: 'truncate' as const, t, change, lsn }));
    }
    const t = this.bySource.get(`${change.schema}.${change.table}`);
    if (!t) return []; // not mapped (publication lists mapped tables only)
    const { transformer, table } = t;
    const targetKeyOf = (sourceKey: WireRow) => transformer.targetKey(pickKey(sourceKey, table.primaryKey));
    if (change.kind === 'delete') return [{ kind: 'delete', t, key: targetKeyOf(change.oldKey), change, lsn }];
    if (change.kind === 'insert') {
      const row = transformer.transform(change.newRow);
      return row ? [{ kind: 'upsert', t, row, key: pickKey(row, table.targetPrimaryKey), change, lsn }] : [];
    }
    const oldKey = change.oldKey && !sameKey(change.oldKey, change.newRow, table.primaryKey) ? change.oldKey : null;
    const unchanged = Object.keys(change.newRow).filter((k) => change.newRow[k] === undefined);
    const row = transformer.transform(change.newRow);
    const fromKey = targetKeyOf(oldKey ?? change.newRow);
    if (!row) return [{ kind: 'delete', t, key: fromKey, change, lsn }]; // left the selection filter
    if (unchanged.length) {
      // keep the target's copy of unchanged TOAST values: write only columns computed from values sent
      const partial: Row = {};
      for (const c of table.columns) {
        const deps = c.kind === 'copy' ? [c.source] : c.dependsOn;
        if (deps.every((d) => change.newRow[d] !== undefined)) partial[c.target] = row[c.target];
      }
      return [{ kind: 'patch', t, key: fromKey, row: partial, change, lsn, replay }];
    }
    const key = pickKey(row, table.targetPrimaryKey);
    const ops: Op[] = [];
    if (oldKey) ops.push({ kind: 'delete', t, key: fromKey, change, lsn });
    ops.push({ kind: 'upsert', t, row, key, change, lsn });
    return ops;
  }

  /** Target column types (as `format_type` prints them), read once per table. */
  private async typesOf(target: string): Promise<Map<string, string>> {
    let types = this.columnTypes.get(target);
    if (!types) {
      const { rows } = await this.client.query<{ name: string; type: string }>(
        'select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped',
        [target],
      );
      this.columnTypes.set(target, (types = new Map(rows.map((r) => [r.name, r.type]))));
    }
    return types;
  }

  /**
   * Many rows: one text[] parameter per column and `unnest`, cast to the target column types
   * (their text input, as COPY does) — far cheaper to parse and plan than thousands of parameters.
   */
  private async execUnnest(target: string, kind: 'upsert' | 'delete', group: readonly (Op & { key: Row })[]): Promise<void> {
    const table = group[0]!.t.table;
    const types = await this.typesOf(target);
    const keyCols = table.targetPrimaryKey;
    const cols = kind === 'upsert' ? table.columns.map((c) => c.target) : [...keyCols];
    const arrays = cols.map((c) => group.map((op) => toPgText(kind === 'upsert' ? (op as { row: Row }).row[c] : op.key[c])));
    const aliases = cols.map((_, i) => `c${i}`);
    const select = `select ${cols.map((c, i) => `u.c${i}::${types.get(c) ?? 'text'}`).join(', ')} from unnest(${cols.map((_, i) => `$${i + 1}::text[]`).join(', ')}) as u(${aliases.join(', ')})`;
    if (kind === 'delete') {
      await this.client.query(`delete from ${target} where (${keyCols.map(quoteIdent).join(', ')}) in (${select})`, arrays);
      return;
    }
    const nonKey = cols.filter((c) => !keyCols.includes(c));
    const conflict = nonKey.length ? `do update set ${nonKey.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ')}` : 'do nothing';
    await this.client.query(
      `insert into ${target} (${cols.map(quoteIdent).join(', ')}) overriding system value ${select} on conflict (${keyCols.map(quoteIdent).join(', ')}) ${conflict}`,
      arrays,
    );
  }

  private async execGroup(group: readonly Op[]): Promise<void> {
    const first = group[0]!;
    const table = first.t.table;
    const target = qualified(table.target.schema, table.target.table);
    const keyCols = table.targetPrimaryKey;
    if (first.kind === 'truncate') {
      await this.client.query(`delete from ${target}`);
      return;
    }
    if (group.length >= UNNEST_FROM && (first.kind === 'delete' || first.kind === 'upsert')) {
      await this.execUnnest(target, first.kind, group as (Op & { key: Row })[]);
      return;
    }
    if (first.kind === 'delete') {
      const params: unknown[] = [];
      const tuples = group.map((op) => {
        const k = (op as { key: Row }).key;
        return '(' + keyCols.map((c) => `$${params.push(toPgText(k[c]))}`).join(', ') + ')';
      });
      const lhs = '(' + keyCols.map(quoteIdent).join(', ') + ')';
      await this.client.query(`delete from ${target} where ${lhs} in (${tuples.join(', ')})`, params);
      return;
    }
    if (first.kind === 'upsert') {
      const cols = table.columns.map((c) => c.target);
      const params: unknown[] = [];
      const values = group.map((op) => '(' + cols.map((c) => `$${params.push(toPgText((op as { row: Row }).row[c]))}`).join(', ') + ')');
      await this.client.query(upsertSql(target, cols, keyCols, values.join(', ')), params);
      return;
    }
    const op = first as Extract<Op, { kind: 'patch' }>;
    const cols = Object.keys(op.row);
    const params: unknown[] = [];
    const sets = cols.map((c) => `${quoteIdent(c)} = $${params.push(toPgText(op.row[c]))}`);
    const where = keyCols.map((c) => `${quoteIdent(c)} = $${params.push(toPgText(op.key[c]))}`);
    const res = sets.length ? await this.client.query(`update ${target} set ${sets.join(', ')} where ${where.join(' and ')}`, params) : { rowCount: 1 };
    if (res.rowCount) return;
    // The row is not there. Before the newest load snapshot that is expected (it was loaded in a
    // later state, or deleted later); after it, insert what we have and let the target judge.
    if (op.replay) return;
    const insertParams: unknown[] = [];
    const values = '(' + cols.map((c) => `$${insertParams.push(toPgText(op.row[c]))}`).join(', ') + ')';
    await this.client.query(upsertSql(target, cols, keyCols, values), insertParams);
  }
}

function upsertSql(target: string, cols: readonly string[], keyCols: readonly string[], values: string): string {
  const nonKey = cols.filter((c) => !keyCols.includes(c));
  const conflict = nonKey.length
    ? `do update set ${nonKey.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ')}`
    : 'do nothing';
  return `insert into ${target} (${cols.map(quoteIdent).join(', ')}) overriding system value values ${values} on conflict (${keyCols.map(quoteIdent).join(', ')}) ${conflict}`;
}

/**
 * Statements for the fast path. Between barriers (a patch or a truncate, which depend on the
 * previous state), only the last write per key matters: the batch commits atomically and every
 * upsert/delete is a full row state. So per table, all deletes run as one statement, then all
 * upserts as one. A constraint that this reordering trips (a unique value moving between rows)
 * sends the batch to the one-by-one path, which keeps the source order.
 */
function groupOps(ops: readonly Op[]): Op[][] {
  const groups: Op[][] = [];
  let latest = new Map<ApplyTable, Map<string, Op>>();
  const flush = () => {
    for (const byKey of latest.values()) {
      const finals = [...byKey.values()];
      for (const kind of ['delete', 'upsert'] as const) {
        let current: Op[] = [];
        let params = 0;
        for (const op of finals) {
          if (op.kind !== kind) continue;
          const width = kind === 'upsert' ? op.t.table.columns.length : op.t.table.targetPrimaryKey.length;
          if (current.length && params + width > MAX_PARAMS) {
            groups.push(current);
            current = [];
            params = 0;
          }
          current.push(op);
          params += width;
        }
        if (current.length) groups.push(current);
      }
    }
    latest = new Map();
  };
  for (const op of ops) {
    if (op.kind === 'patch' || op.kind === 'truncate') {
      flush();
      groups.push([op]);
      continue;
    }
    let byKey = latest.get(op.t);
    if (!byKey) latest.set(op.t, (byKey = new Map()));
    const key = JSON.stringify(op.t.table.targetPrimaryKey.map((c) => toPgText(op.key[c])));
    byKey.delete(key);
    byKey.set(key, op);
  }
  flush();
  return groups;
}

function pickKey(row: Readonly<Record<string, unknown>>, keys: readonly string[]): Row {
  const out: Row = {};
  for (const k of keys) out[k] = row[k];
  return out;
}

function sameKey(a: WireRow, b: WireRow, keys: readonly string[]): boolean {
  return keys.every((k) => a[k] === b[k]);
}
