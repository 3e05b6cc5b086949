import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CHANGED_KEYS_UNNESTED } from '../postgres/changed-key-record.ts';
import { holdChangedKeys as hold, keepChangedKeysFrom, prunedAbove, releaseChangedKeys as release } from '../postgres/changed-key-retention.ts';
import { streamNames } from '../postgres/stream-names.ts';
import type { Replicator } from '../platform/roles.ts';
import { queryText } from './comparison-pool.ts';
import type { TextQuery } from './dead-letters.ts';
import { sourceShape, type KeyRange } from './side-query.ts';
import type { TablePlan } from './table-plan.ts';

/**
 * The write switch's frozen validation compares only the rows changed since the last passing full
 * validation (the full one runs outside the write hold, where its minutes cost nothing). What makes
 * that sound:
 * - the baseline is the source position read BEFORE the full validation read any row: a change
 *   committed after it has a commit position at or above it;
 * - the forward worker records the source key of every change it applies in `_cutover.changed_key_batch`,
 *   in the same target transaction as the change (control-schema.ts), so at the freeze, once the
 *   target applied blue's final position, the keys at or above the baseline are every row changed
 *   since (a TRUNCATE marks its whole table);
 * - the baseline is refused (a full frozen validation instead) when anything else could have
 *   changed the target: another mapping or chunking (fingerprint), a stream re-created since
 *   (its slot's consistent position), a load not complete at the baseline;
 * - two guards against a record that misses something: every recorded key whose last change left a
 *   row must be found on the source by key, and a table the replicator applied changes to since
 *   the baseline with no key recorded is compared in full.
 */
export interface ValidationBaseline {
  readonly version: 1;
  /** Source position read before the full validation read a row. */
  readonly position: string;
  readonly fingerprint: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Forward streams and the position their slot was created at (a re-created stream has another). */
  readonly streams: readonly { readonly slot: string; readonly consistentLsn: string }[];
  /** The forward worker's per-table CDC change counters just after the baseline (same pid only). */
  readonly applied: { readonly pid: number | null; readonly changes: Readonly<Record<string, number>> } | null;
}

const FILE = 'validation-baseline.json';

export function baselineFile(stateDir: string): string {
  return path.join(stateDir, FILE);
}

export function readBaseline(stateDir: string): ValidationBaseline | null {
  const file = baselineFile(stateDir);
  if (!existsSync(file)) return null;
  try {
    const b = JSON.parse(readFileSync(file, 'utf8')) as ValidationBaseline;
    return b.version === 1 && typeof b.position === 'string' ? b : null;
  } catch {
    return null;
  }
}

export function writeBaseline(stateDir: string, baseline: ValidationBaseline): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(baselineFile(stateDir), JSON.stringify(baseline, null, 2) + '\n');
}

/** A full validation that found differences: no frozen check may build on an older one. */
export function dropBaseline(stateDir: string): void {
  rmSync(baselineFile(stateDir), { force: true });
}

/** The forward streams' slots, as the kit's worker names them (one per wave, or one). */
export function forwardSlots(env: ResolvedPostgresEnvironment): string[] {
  const waves = env.replication.waves ?? [];
  return waves.length ? waves.map((w) => streamNames(env, 'forward', w.name).slot) : [streamNames(env, 'forward').slot];
}

/**
 * The target (PostgreSQL, where the kit's worker keeps its record): a pool, or a function that
 * runs a statement and returns its rows as text (the cross-engine validator's DiffSide.rows).
 */
export type TargetQuery = pg.Pool | TextQuery;

function textQuery(db: TargetQuery): TextQuery {
  return typeof db === 'function' ? db : (sql, params = []) => queryText(db, sql, [...params]);
}

/** Per forward slot: where its stream began and whether its full load is complete; null when the kit's worker keeps no record there. */
export async function readStreams(targetDb: TargetQuery, slots: readonly string[]): Promise<{ slot: string; consistentLsn: string; complete: boolean }[] | null> {
  const query = textQuery(targetDb);
  const [exists] = await query("select to_regclass('_cutover.changed_key_batch') is not null and to_regclass('_cutover.changed_key_retention') is not null and to_regclass('_cutover.load_state') is not null");
  if (exists?.[0] !== 't') return null;
  const rows = await query('select slot, consistent_lsn::text, complete::text from _cutover.load_state where slot = any($1::text[])', [slots]);
  if (rows.length !== slots.length) return null;
  return rows.map(([slot, lsn, complete]) => ({ slot: slot!, consistentLsn: lsn!, complete: complete === 'true' }));
}

/** The forward worker's counters, when it reports them. */
export async function appliedCounters(replicator: Replicator | undefined): Promise<ValidationBaseline['applied']> {
  if (!replicator) return null;
  const status = await replicator.status().catch(() => null);
  if (!status || !status.worker) return null;
  const changes: Record<string, number> = {};
  for (const t of status.tables) changes[t.source] = t.cdcChanges ?? 0;
  return { pid: status.worker.pid, changes };
}

/**
 * Why the baseline cannot serve a changed-rows frozen check, or null when it can. `positionLsn`:
 * the baseline's position in `pg_lsn` form (a binlog position converted), by default as recorded.
 */
export async function baselineRefusal(baseline: ValidationBaseline | null, fingerprint: string, targetDb: TargetQuery, positionLsn = baseline?.position): Promise<string | null> {
  if (!baseline) return 'no passing full validation recorded since the last difference (run `cutover validate`)';
  if (baseline.fingerprint !== fingerprint) return 'the mapping, chunking or comparison settings changed since the last full validation';
  const slots = baseline.streams.map((s) => s.slot);
  const streams = slots.length ? await readStreams(targetDb, slots) : null;
  if (!streams) return 'the forward worker keeps no record of changed keys on the target';
  for (const s of baseline.streams) {
    const now = streams.find((x) => x.slot === s.slot);
    if (!now || now.consistentLsn !== s.consistentLsn) return `forward stream ${s.slot} was re-created since the last full validation`;
  }
  // the worker prunes the record (lib/postgres/changed-key-retention.ts): one pruned past the baseline has lost keys
  const pruned = await prunedAbove(textQuery(targetDb), slots, positionLsn!);
  if (pruned.length) {
    return `the record of changed keys of ${pruned[0]!.slot} was pruned up to ${pruned[0]!.prunedBelow}, after the last full validation's position ${baseline.position} (run \`cutover validate\` again)`;
  }
  return null;
}

/** One table's recorded changes since the baseline. */
export interface TableChanges {
  /** Source key texts, in the plan's key order; `present`: the last change left a row. */
  readonly keys: { readonly key: readonly (string | null)[]; readonly present: boolean }[];
  /** A TRUNCATE since the baseline: the whole table changed. */
  readonly truncated: boolean;
}

/** Keys recorded at or after `position` (`pg_lsn` text) on the given slots, per source table (`schema.table`). */
export async function readChangedKeys(targetDb: TargetQuery, slots: readonly string[], position: string): Promise<Map<string, TableChanges>> {
  const rows = await textQuery(targetDb)(
    // a key is there once per change: the latest one says whether a row is left (within one
    // transaction, the later part, then the later element). A batch row whose newest change is before the position has
    // no key after it (the index on lsn); in a newer one, only the keys at or after it count.
    // Keys compared as text[], not as the worker wrote them: one canonical text per key
    `select source_table, key::text, present::text from (
       select distinct on (b.source_table, u.key::text[]) b.source_table, u.key::text[] as key, u.present
         from ${CHANGED_KEYS_UNNESTED}
        where b.slot = any($1::text[]) and b.lsn >= $2::pg_lsn and u.lsn >= $2::pg_lsn
        order by b.source_table, u.key::text[], u.lsn desc, b.part desc, u.n desc) latest`,
    [slots, position],
  );
  const out = new Map<string, { keys: { key: (string | null)[]; present: boolean }[]; truncated: boolean }>();
  // one key may be recorded by two waves' streams: keep one
  const seen = new Set<string>();
  for (const [table, keyText, present] of rows) {
    let t = out.get(table!);
    if (!t) out.set(table!, (t = { keys: [], truncated: false }));
    if (keyText === '{}') {
      t.truncated = true;
      continue;
    }
    if (seen.has(`${table}\u0000${keyText}`)) continue;
    seen.add(`${table}\u0000${keyText}`);
    t.keys.push({ key: parseArrayText(keyText!), present: present === 'true' });
  }
  return out;
}

/**
 * A full validation of every table begins (before it reads its baseline position): the forward
 * workers' pruning keeps the record of changed keys from the streams' applied positions on.
 */
export async function holdChangedKeys(targetDb: TargetQuery, slots: readonly string[]): Promise<void> {
  await hold(textQuery(targetDb), slots);
}

/**
 * A full validation ended without a baseline of its own: the record is held for the baseline
 * still on file (`previous`, `pg_lsn` text), or no longer held.
 */
export async function releaseChangedKeys(targetDb: TargetQuery, slots: readonly string[], previous: string | null): Promise<void> {
  await (previous ? keepChangedKeysFrom(textQuery(targetDb), slots, previous) : release(textQuery(targetDb), slots));
}

/**
 * After a passing full validation recorded its baseline (`position`, `pg_lsn` text): the record
 * is held from there, and what is before it goes — no frozen check reads it again.
 */
export async function pruneChangedKeys(targetDb: TargetQuery, slots: readonly string[], position: string): Promise<number> {
  return keepChangedKeysFrom(textQuery(targetDb), slots, position);
}

/**
 * The end of a whole, non-frozen validation. It passed untouched (`kept`: equal, not resumed,
 * nothing repaired): its start becomes the frozen check's baseline and the record before it goes.
 * Otherwise: a failing one drops the baseline on file, and the record is held for the baseline
 * still on file, or no longer held. `lsnOf` turns the engine's source position into `pg_lsn` text.
 */
export async function settleBaseline(s: {
  readonly stateDir: string;
  readonly targetDb: TargetQuery;
  readonly baselineStart: Pick<ValidationBaseline, 'position' | 'streams' | 'applied'> | null;
  readonly equal: boolean;
  readonly kept: boolean;
  readonly fingerprint: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly lsnOf: (position: string) => string;
  readonly warn: (message: string) => void;
}): Promise<void> {
  if (!s.equal) dropBaseline(s.stateDir);
  if (!s.baselineStart) return;
  const slots = s.baselineStart.streams.map((x) => x.slot);
  if (!s.kept) {
    const previous = readBaseline(s.stateDir);
    await releaseChangedKeys(s.targetDb, slots, previous ? s.lsnOf(previous.position) : null).catch(() => {});
    return;
  }
  writeBaseline(s.stateDir, { version: 1, ...s.baselineStart, fingerprint: s.fingerprint, startedAt: s.startedAt, finishedAt: s.finishedAt });
  // the record before this baseline is never read again; failing to drop it only costs space
  await pruneChangedKeys(s.targetDb, slots, s.lsnOf(s.baselineStart.position)).catch((err: Error) =>
    s.warn(`the record of changed keys before ${s.baselineStart!.position} was not pruned: ${err.message}`),
  );
}

/** Keys per statement when comparing changed rows. */
export const KEYS_PER_STATEMENT = 2000;

/** The changed keys as key ranges of at most KEYS_PER_STATEMENT keys each. */
export function keyRanges(keys: readonly { key: readonly (string | null)[] }[]): KeyRange[] {
  const out: KeyRange[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
    out.push({ lower: null, upper: null, sourceKeys: keys.slice(i, i + KEYS_PER_STATEMENT).map((k) => k.key) });
  }
  return out;
}

/**
 * How many of the keys are rows of the source table now, the mapping's filter left aside: every
 * key whose last change left a row must be there, or the keys do not reach the rows they name.
 */
export async function countOnSource(sourceDb: pg.Pool, plan: TablePlan, keys: readonly { key: readonly (string | null)[] }[]): Promise<number> {
  const shape = { ...sourceShape(plan), filter: null, collateC: false };
  let n = 0;
  for (const range of keyRanges(keys)) {
    const values = plan.keys.map((_, i) => range.sourceKeys!.map((k) => k[i] ?? null));
    const arrays = values.map((_, i) => `$${i + 1}::${shape.keyTypes[i]}[]`);
    const predicate =
      shape.keyColumns.length === 1
        ? `${shape.keyColumns[0]} = any(${arrays[0]})`
        : `(${shape.keyColumns.join(', ')}) in (select * from unnest(${arrays.join(', ')}))`;
    const [row] = await queryText(sourceDb, `select count(*) from ${shape.relation} where ${predicate}`, values);
    n += Number(row?.[0] ?? 0);
  }
  return n;
}

/** Parses a one-dimensional `text[]` as PostgreSQL prints it. */
export function parseArrayText(text: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 1; // after '{'
  while (i < text.length - 1) {
    if (text[i] === '"') {
      let v = '';
      i++;
      while (text[i] !== '"') {
        if (text[i] === '\\') i++;
        v += text[i];
        i++;
      }
      out.push(v);
      i++; // closing quote
    } else {
      let j = i;
      while (j < text.length - 1 && text[j] !== ',') j++;
      const raw = text.slice(i, j);
      out.push(raw === 'NULL' ? null : raw);
      i = j;
    }
    if (text[i] === ',') i++;
  }
  return out;
}
