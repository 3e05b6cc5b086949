import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describeEndpoint } from '../assess/connection-errors.ts';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { createRowTransformer, loadTableMappings, onlyTables } from '../mappings/index.ts';
import { resolveSelected, schemasToRead, sideScope } from '../mappings/mapped-schemas.ts';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import type { Output } from '../output/output.ts';
import type { ColumnSample, PreparedFrozenCheck, Replicator, RowKey, TableDiff, ValidateOptions, ValidationReport, ValidationScope, Validator } from '../platform/roles.ts';
import { binlogPositionToLsn, parseBinlogPosition } from '../engines/mysql/binlog-position.ts';
import { appliedCounters, holdChangedKeys, baselineRefusal, settleBaseline, forwardSlots, keyRanges, pruneChangedKeys, readBaseline, readChangedKeys, readStreams, writeBaseline, type TableChanges, type TargetQuery, type ValidationBaseline } from './changed-rows.ts';
import { narrowMismatches, type Mismatch, type NarrowingSides } from './bucket-narrowing.ts';
import { readDeadLetterIds } from './dead-letters.ts';
import { openDiffSide, type DiffSide } from './diff-side.ts';
import { floatDigits, floatsAgree } from './normalized-form.ts';
import type { RepairStatement } from './repair-apply.ts';
import { deleteStatement, insertStatement, repairScript, updateStatement, type RepairShape } from './repair-sql.ts';
import { statements, type KeyHashFilter, type KeyRange, type NarrowingArm } from './side-query.ts';
import { qualified } from './sql-text.ts';
import { firstDifference } from '../platform/reconciliation-difference.ts';
import { tableEqual, tableLine } from './table-line.ts';
import { TaskLimiter } from './task-limiter.ts';
import { throwIfAborted, ValidationCheckpoint, type ChunkResult } from './validation-checkpoint.ts';
import { canonicalKeyText, durationOfCanonical, floatOfCanonical, formOfTargetType, isFixedPart, jsonCanonical, type FormMode, type RowPart, type ValueDialect, type ValueForm } from './value-dialect.ts';
import { refuseFilteredToNothing } from './filtered-to-nothing.ts';

/** Column-level samples kept per table in the report. */
const SAMPLES_PER_TABLE = 10;
/** Key-hash buckets one rows statement reads at most (tables whose rows are compared in the client). */
const BUCKETS_PER_STATEMENT = 64;

/** One compared target column and how each side produces its canonical text. */
interface CrossColumn {
  readonly target: string;
  readonly targetType: string;
  readonly targetNative: string;
  readonly form: ValueForm;
  /** A copied source column (null: an expression, computed by the row transformer). */
  readonly source: { readonly name: string; readonly native: string } | null;
  /** Compared in the client (JSON key order, expressions): excluded from the in-database hash. */
  readonly inClient: boolean;
}

interface CrossKey {
  readonly source: string;
  readonly target: string;
  readonly sourceNative: string;
  readonly targetNative: string;
  readonly form: ValueForm;
}

interface CrossPlan {
  readonly mapped: MappedTable;
  readonly source: string;
  readonly target: string;
  readonly keys: readonly CrossKey[];
  readonly columns: readonly CrossColumn[];
  /** Source columns the expressions read (shipped raw to the row transformer). */
  readonly expressionInputs: readonly { readonly name: string; readonly native: string; readonly form: ValueForm }[];
  readonly sourceFilter: string | null;
  /** A single integer key on both sides: chunks are key ranges; otherwise key-hash buckets. */
  readonly integerKey: boolean;
  /** Some column is compared in the client: every chunk ships its rows. */
  readonly rowsAlways: boolean;
  /** The target side of the repair statements (repair-sql.ts). */
  readonly repairShape: RepairShape;
  transformer?: RowTransformer;
  /** Key ids (row-diff.ts keyId) the target's `_cutover.dead_letter` holds: missing rows it explains. */
  deadLetterIds: ReadonlySet<string>;
}

/**
 * A unit of comparison: an integer key range [lower, upper) (open where null), optionally only the
 * rows whose key hash has one of `keyHash.values` in its low `keyHash.bits` bits; or, for any
 * other key, the whole table grouped into 2^bits key-hash buckets in one scan per side.
 */
type Unit =
  | {
      readonly kind: 'range';
      readonly lower: string | null;
      readonly upper: string | null;
      readonly keyHash?: KeyHashFilter;
      /** Only these keys (canonical key texts): the lag-aware re-check reads back just them. */
      readonly keys?: readonly (readonly (string | null)[])[];
    }
  | { readonly kind: 'buckets'; readonly bits: number };

type Row = readonly (string | null)[];

interface UnitResult {
  sourceRows: number;
  targetRows: number;
  mismatched: boolean;
  rowsFetched: number;
  missing: RowKey[];
  extra: RowKey[];
  different: RowKey[];
  /** Missing rows the target's dead-letter table explains (not repaired, not failing). */
  deadLetter: RowKey[];
  samples: ColumnSample[];
  repair: RepairStatement[];
}

export interface CrossEngineValidationReport extends ValidationReport {
  readonly figures: ValidationReport['figures'] & {
    /** Units taken from the run log of a killed validation instead of being compared again. */
    readonly resumedChunks: number;
  };
  /** Repair statements the target accepted (`repair: true`). */
  readonly repaired?: number;
  readonly repairSqlFile?: string;
}

const emptyResult = (): UnitResult => ({ sourceRows: 0, targetRows: 0, mismatched: false, rowsFetched: 0, missing: [], extra: [], different: [], deadLetter: [], samples: [], repair: [] });

/**
 * The diff engine between two different database engines — a MySQL-family source and a
 * PostgreSQL target through the same DMS mapping — with the PostgreSQL diff's outputs
 * (missing / extra / different keyed by the source's key column names, samples, repair SQL in
 * target terms). Each side computes the same canonical text per column in its own SQL
 * (value-dialect.ts) and an exact 60-bit md5 sum per unit; only units whose count or sum differ
 * ship rows.
 *
 * Units mean the same rows on both sides whatever the collations: a single integer key is cut
 * into numeric ranges (integer order is the same everywhere); any other key (text, composite) is
 * grouped into 2^k buckets by the low bits of the md5 of its canonical text — computed by both
 * engines from the same bytes, in one scan per side, never by either engine's ORDER BY (why not
 * byte-ordered key ranges, with figures: docs/architecture.md). Differing units are narrowed,
 * resumed, repaired and dead-lettered by the PostgreSQL diff's modules.
 */
export class CrossEngineValidator implements Validator {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    private readonly replicator?: Replicator,
    /** Reverse replication (green → blue): after the write switch it moves the rows, green holds the truth. @default - none */
    private readonly reverse?: Replicator,
  ) {}

  /**
   * The stream moving the compared rows, or null: forward (blue is the truth) while it loads or
   * streams, else reverse after the write switch (green is).
   */
  private async streaming(): Promise<{ readonly replicator: Replicator; readonly truth: 'source' | 'target' } | null> {
    const forward = (await this.replicator?.status().catch(() => null))?.phase;
    if (this.replicator && (forward === 'cdc' || forward === 'full-load')) return { replicator: this.replicator, truth: 'source' };
    if (this.reverse && (await this.reverse.status().catch(() => null))?.phase === 'cdc') return { replicator: this.reverse, truth: 'target' };
    return null;
  }

  async validate(options: ValidateOptions = {}): Promise<CrossEngineValidationReport> {
    // the first session per side is the probe; the others connect as the units need them
    const ready = await this.prepare(options.tables, 1);
    try {
      return await this.compare(ready.plans, ready.source, ready.target, options, true);
    } finally {
      await ready.close();
    }
  }

  /**
   * The frozen check's setup, before the write hold: `concurrency` sessions per side (opened,
   * authenticated, session settings applied), the mapping, both catalogs, the row transformers
   * and the dead letters. Inside the hold the check then reads the record of changed keys, the
   * changed rows and the reconciliation — per run that setup took most of the check's time.
   * Whether the baseline still serves (streams, pruning) is read inside the hold, as before.
   */
  async prepareFrozen(): Promise<PreparedFrozenCheck> {
    const ready = await this.prepare(undefined, this.env.validation.concurrency);
    return {
      validate: (signal) => this.compare(ready.plans, ready.source, ready.target, { frozen: true, signal }, true),
      close: ready.close,
    };
  }

  /**
   * Just before the write hold, while replication runs: the rows changed since the last passing
   * full validation, compared live (differences re-read once green caught up), and when all are
   * equal the frozen check's baseline moves to this check's start, so the check inside the hold
   * covers seconds of changes instead of everything since the full validation. As the PostgreSQL
   * validator's: the reconciliation and the source-row count are left to the frozen check.
   */
  async refreshBaseline(signal?: AbortSignal): Promise<CrossEngineValidationReport> {
    const startedAt = new Date().toISOString();
    const ready = await this.prepare(undefined, this.env.validation.concurrency);
    try {
      const { plans, source, target } = ready;
      const targetQuery = (sql: string, params?: readonly unknown[]) => target.rows(sql, params);
      const fingerprint = this.fingerprint(plans, this.mode);
      const baseline = readBaseline(this.env.stateDir);
      const streaming = (await this.replicator?.status().catch(() => null))?.phase === 'cdc';
      const refusal = !streaming
        ? 'replication is not streaming'
        : await baselineRefusal(baseline, fingerprint, targetQuery, baseline ? baselineLsn(baseline.position) : undefined).catch((err: Error) => `the record of changed keys could not be read: ${err.message}`);
      if (refusal) {
        this.out.info('validate', `the baseline of the frozen check stays where it is: ${refusal}`);
        return notRefreshed(startedAt, refusal);
      }
      // where the new baseline starts, read before any key or row; every change before it applied (its key recorded)
      const newStart = await this.baselineStart(targetQuery);
      if (!newStart) return notRefreshed(startedAt, 'the source position and the forward streams could not be read');
      const timeoutMs = Math.max(10_000, this.env.switch.catchUpTimeoutMs);
      if (!(await this.replicator!.waitForPosition(newStart.position, timeoutMs, signal))) {
        return notRefreshed(startedAt, `green did not apply the source position ${newStart.position} within ${timeoutMs} ms`);
      }
      const report = await this.validateChanged(baseline!, plans, source, target, { signal }, startedAt, true);
      const changed = report.scope?.kind === 'changed-rows' ? report.scope : null;
      if (changed?.fullTables.length) return notRefreshed(startedAt, `tables to compare in full: ${changed.fullTables.map((f) => `${f.table} (${f.reason})`).join(', ')}`);
      if (!report.equal) {
        this.out.warn('validate', `changed rows still differ after re-checks; the baseline stays at ${baseline!.position} and the frozen check compares them`);
        return { ...report, baselineRefreshed: false };
      }
      writeBaseline(this.env.stateDir, { version: 1, ...newStart, fingerprint, startedAt, finishedAt: new Date().toISOString() });
      await pruneChangedKeys(targetQuery, newStart.streams.map((s) => s.slot), baselineLsn(newStart.position)).catch((err: Error) =>
        this.out.warn('validate', `the record of changed keys before ${newStart.position} was not pruned: ${err.message}`),
      );
      this.out.ok('validate', `${changed?.changedRows ?? 0} changed row(s) equal on both sides: the frozen check now starts at ${newStart.position}`);
      return { ...report, baselineRefreshed: true };
    } finally {
      await ready.close();
    }
  }

  /** Sessions on both sides (`warm` of them opened now) and every selected table planned, dead letters read. */
  private async prepare(tables: readonly string[] | undefined, warm: number): Promise<{ plans: CrossPlan[]; source: DiffSide; target: DiffSide; close: () => Promise<void> }> {
    const { env } = this;
    const concurrency = env.validation.concurrency;
    const source = openDiffSide(env.source.url, concurrency, 'source');
    const target = openDiffSide(env.target.url, concurrency, 'target');
    const plans: CrossPlan[] = [];
    let closed: Promise<void> | null = null;
    const close = () =>
      (closed ??= (async () => {
        for (const p of plans) p.transformer?.close();
        await Promise.all([source.close().catch(() => {}), target.close().catch(() => {})]);
      })());
    try {
      await Promise.all([source.warm(warm), target.warm(warm)]);
      plans.push(...(await this.plans(source, target, tables)));
      const deadLetters = await readDeadLetterIds((sql, params) => target.rows(sql, params), plans);
      for (const p of plans) p.deadLetterIds = deadLetters.get(p.source)!;
      return { plans, source, target, close };
    } catch (err) {
      await close();
      throw err;
    }
  }

  private get mode(): FormMode {
    const tolerance = this.env.validation.floatTolerance;
    return { mode: 'hash', floatDigits: tolerance > 0 ? Math.min(15, floatDigits(tolerance)) : null };
  }

  /**
   * Compares the planned tables. A frozen check of every table (the write switch) compares only
   * the rows changed since the last passing full validation when one is recorded (changed-rows.ts);
   * a full validation of every table while the forward stream runs records that baseline.
   * `reconcileToo`: false for the whole tables a changed-rows check compares (it reconciles once).
   */
  private async compare(plans: readonly CrossPlan[], source: DiffSide, target: DiffSide, options: ValidateOptions, reconcileToo: boolean): Promise<CrossEngineValidationReport> {
    const startedAt = new Date().toISOString();
    const { env } = this;
    const concurrency = env.validation.concurrency;
    const mode = this.mode;
    const targetQuery = (sql: string, params?: readonly unknown[]) => target.rows(sql, params);
    const fingerprint = this.fingerprint(plans, mode);
    const whole = !options.tables?.length;
    let scope: ValidationScope | undefined;
    if (options.frozen && whole) {
      // inside the write hold: only the rows changed since the last passing full validation
      const baseline = readBaseline(env.stateDir);
      const refusal = await baselineRefusal(baseline, fingerprint, targetQuery, baseline ? baselineLsn(baseline.position) : undefined).catch((err: Error) => `the record of changed keys could not be read: ${err.message}`);
      if (!refusal) return await this.validateChanged(baseline!, plans, source, target, options, startedAt);
      scope = { kind: 'full', reason: refusal };
      this.out.info('validate', `the frozen validation compares every row: ${refusal}`);
    }
    // a full validation of every table records where it started (before any row is read), for the frozen check at the switch
    const baselineStart = !options.frozen && whole ? await this.baselineStart(targetQuery) : null;
    // a killed validation resumes from its run log (the same tables, forms, chunk size and endpoints)
    const checkpoint = new ValidationCheckpoint(env.stateDir, fingerprint);
    if (checkpoint.resumed) this.out.info('validate', `resuming the validation started ${checkpoint.startedAt} (${checkpoint.finishedChunks} unit(s) already compared)`);
    const limiter = new TaskLimiter(concurrency);
    const units = new Map<CrossPlan, Unit[]>();
    await Promise.all(
      plans.map((p) =>
        limiter.run(async () => {
          const recorded = checkpoint.boundariesOf(p.source);
          if (recorded) return units.set(p, decodeUnits(recorded));
          const found = await this.units(p, source, target);
          checkpoint.recordBoundaries(p.source, encodeUnits(found));
          units.set(p, found);
        }),
      ),
    );
    const total = [...units.values()].reduce((n, u) => n + u.length, 0);
    let done = 0;
    let resumedChunks = 0;
    const results = new Map<CrossPlan, { index: number; result: UnitResult }[]>(plans.map((p) => [p, []]));
    await Promise.all(
      plans.flatMap((plan) =>
        units.get(plan)!.map((unit, index) =>
          limiter.run(async () => {
            const finished = checkpoint.finishedChunk(plan.source, index);
            let result: UnitResult;
            if (finished) {
              resumedChunks++;
              result = fromChunkResult(plan, finished);
            } else {
              throwIfAborted(options.signal);
              result = await this.compareUnit(plan, unit, source, target, mode);
              checkpoint.recordChunk(toChunkResult(plan, index, result));
            }
            results.get(plan)!.push({ index, result });
            this.out.progress({ topic: 'validate', done: ++done, total, unit: 'chunks' });
          }),
        ),
      ),
    );
    this.out.done('validate');
    const byUnit = new Map(plans.map((p) => [p, results.get(p)!.sort((a, b) => a.index - b.index).map((r) => r.result)]));
    const stream = options.frozen ? null : await this.streaming();
    if (stream?.truth === 'target') this.out.info('validate', 'writes are on green and reverse replication carries them to blue: what differs is compared again once blue applied green\'s position (differences only in flight are not reported)');
    if (stream && byUnit.size) await this.recheck(byUnit, source, target, stream.replicator);
    const reconciliation = reconcileToo ? await this.reconcile(source, target, stream) : [];
    for (const r of reconciliation.filter((x) => x.inFlight)) {
      this.out.warn('validate', `reconciliation ${r.name}: still different after 3 aligned round(s) while replication runs (in flight, not failing this validation; the frozen validation at the write switch decides)`);
    }
    const tables = plans.map((p) => tableDiff(p, byUnit.get(p)!));
    if (!options.frozen) {
      await refuseFilteredToNothing(
        plans.map((plan, i) => ({
          table: tables[i]!,
          mapped: plan.mapped,
          filterSql: plan.sourceFilter,
          hasRows: async () => (await source.rows(`SELECT 1 FROM ${source.dialect.relation(plan.mapped.source.schema, plan.mapped.source.table)} LIMIT 1`)).length > 0,
        })),
      );
    }
    const all = [...byUnit.values()].flat();
    const repairs = all.flatMap((r) => r.repair);
    if (options.repairSqlFile) {
      writeFileSync(options.repairSqlFile, repairScript(repairs.map((r) => r.sql)));
      this.out.info('validate', `${repairs.length} repair statement(s) written to ${options.repairSqlFile}`);
    }
    let repaired: number | undefined;
    if (options.repair && repairs.length) {
      if (!target.applyRepairs) {
        throw new CutoverError('NOT_SUPPORTED', 'validate --repair applies statements to a PostgreSQL target only', {
          fix: 'write the statements with --repair-sql FILE, review them, and run them on the target',
        });
      }
      const outcome = await target.applyRepairs(repairs);
      repaired = outcome.applied;
      for (const d of outcome.deadLetters) this.out.warn('validate', `repair of ${d.table} ${JSON.stringify(d.key)} rejected by the target, recorded in _cutover.dead_letter: ${d.reason}`);
    }
    checkpoint.finish();
    const equal = tables.every(tableEqual) && reconciliation.every((r) => r.equal || r.inFlight);
    if (!options.frozen && whole) {
      await settleBaseline({
        stateDir: env.stateDir,
        targetDb: targetQuery,
        baselineStart,
        equal,
        kept: equal && !checkpoint.resumed && !repaired,
        fingerprint,
        startedAt,
        finishedAt: new Date().toISOString(),
        lsnOf: baselineLsn,
        warn: (message) => this.out.warn('validate', message),
      });
    }
    const report: CrossEngineValidationReport = {
      equal,
      tables,
      reconciliation,
      startedAt,
      finishedAt: new Date().toISOString(),
      figures: {
        rowsCompared: all.reduce((n, r) => n + r.sourceRows + r.targetRows, 0),
        rowsFetched: all.reduce((n, r) => n + r.rowsFetched, 0),
        chunks: all.length,
        mismatchedChunks: all.filter((r) => r.mismatched).length,
        resumedChunks,
      },
      ...(repaired !== undefined ? { repaired } : {}),
      ...(options.repairSqlFile ? { repairSqlFile: options.repairSqlFile } : {}),
      ...(scope ? { scope } : {}),
    };
    this.summarize(tables, reconciliation);
    return report;
  }

  private summarize(tables: readonly TableDiff[], reconciliation: ValidationReport['reconciliation'] = []): void {
    for (const t of tables) {
      const { differs, text } = tableLine(t);
      if (differs) this.out.warn('validate', text);
      else this.out.ok('validate', text);
    }
    // the in-flight ones are said as the re-checks end
    for (const r of reconciliation) if (!r.equal && !r.inFlight) this.out.warn('validate', `reconciliation ${r.name}: FAILED: ${firstDifference(r.source, r.target)}`);
  }

  /**
   * Where a full validation starts: the source's binlog position before any row is read, the
   * forward streams it relies on, and the worker's change counters once the target applied that
   * position. Null unless the kit's forward worker streams and keeps a record of changed keys
   * (the binlog worker writes `_cutover.changed_key_batch` through the shared ChangeApplier): the
   * frozen check is then full.
   */
  private async baselineStart(targetQuery: TargetQuery): Promise<Pick<ValidationBaseline, 'position' | 'streams' | 'applied'> | null> {
    const replicator = this.replicator;
    if (!replicator || replicator.direction !== 'forward') return null;
    try {
      const status = await replicator.status();
      if (status.phase !== 'cdc') return null;
      const streams = await readStreams(targetQuery, forwardSlots(this.env));
      if (!streams || streams.some((s) => !s.complete)) return null;
      // before the position is read: the binlog worker's pruning keeps the record of changed keys from here on
      await holdChangedKeys(targetQuery, streams.map((s) => s.slot));
      const position = await replicator.sourcePosition();
      baselineLsn(position); // a position this validator cannot order is no baseline
      const applied = (await replicator.waitForPosition(position, 5000)) ? await appliedCounters(replicator) : null;
      return { position, streams: streams.map(({ slot, consistentLsn }) => ({ slot, consistentLsn })), applied };
    } catch {
      return null;
    }
  }

  /**
   * The frozen check inside the write hold, as the PostgreSQL validator's: the rows changed since
   * the last passing full validation, read by key on both sides (the binlog worker records every
   * source key it applies, in the batch's own target transaction), and in full the tables it
   * cannot narrow (truncated, or changes applied with no key recorded); then the reconciliation.
   * A table whose recorded keys do not all name a source row (a key form the record and this
   * engine's canonical text disagree on) is compared in full too — never passed on keys that
   * reach nothing.
   */
  private async validateChanged(baseline: ValidationBaseline, plans: readonly CrossPlan[], source: DiffSide, target: DiffSide, options: ValidateOptions, startedAt: string, live = false): Promise<CrossEngineValidationReport> {
    const targetQuery = (sql: string, params?: readonly unknown[]) => target.rows(sql, params);
    const changes = canonicalChanges(await readChangedKeys(targetQuery, baseline.streams.map((s) => s.slot), baselineLsn(baseline.position)), plans);
    const appliedNow = baseline.applied ? await appliedCounters(this.replicator) : null;
    const fullTables: { table: string; reason: string }[] = [];
    for (const plan of plans) {
      const c = changes.get(plan.source);
      if (c?.truncated) fullTables.push({ table: plan.source, reason: 'truncated since the full validation' });
      else if (!c?.keys.length && baseline.applied && appliedNow && appliedNow.pid === baseline.applied.pid) {
        const applied = (appliedNow.changes[plan.source] ?? 0) - (baseline.applied.changes[plan.source] ?? 0);
        if (applied > 0) fullTables.push({ table: plan.source, reason: `the replicator applied ${applied} change(s) to it since the full validation, but no changed key was recorded` });
      }
    }
    const limiter = new TaskLimiter(this.env.validation.concurrency);
    // every recorded key whose last change left a row must name a source row (the mapping's filter aside)
    await Promise.all(
      plans.map((plan) =>
        limiter.run(async () => {
          const c = changes.get(plan.source);
          // live, a row deleted on the source may not be deleted on the target yet: the frozen check counts
          if (live || !c?.keys.length || fullTables.some((f) => f.table === plan.source)) return;
          const present = c.keys.filter((k) => k.present);
          const found = await countOnSource(plan, source, present);
          if (found < present.length) fullTables.push({ table: plan.source, reason: `${present.length - found} of ${present.length} recorded changed key(s) name no source row` });
        }),
      ),
    );
    const full = new Set(fullTables.map((f) => f.table));
    const narrowed = plans.filter((p) => !full.has(p.source) && changes.get(p.source)?.keys.length);
    const changedRows = narrowed.reduce((n, p) => n + changes.get(p.source)!.keys.length, 0);
    this.out.info(
      'validate',
      `${live ? 'changed rows before the write hold' : 'frozen validation'}: ${changedRows} row(s) changed in ${narrowed.length} table(s) since the full validation that started at ${baseline.position} (finished ${baseline.finishedAt})` +
        (fullTables.length ? `; compared in full: ${fullTables.map((f) => `${f.table} (${f.reason})`).join(', ')}` : ''),
    );
    const results = new Map<CrossPlan, UnitResult[]>(plans.filter((p) => !full.has(p.source)).map((p) => [p, []]));
    const batches = narrowed.flatMap((plan) => keyRanges(changes.get(plan.source)!.keys).map((range) => ({ plan, keys: range.sourceKeys! })));
    let done = 0;
    await Promise.all(
      batches.map(({ plan, keys }) =>
        limiter.run(async () => {
          if (options.signal?.aborted) throw new CutoverError('ABORTED', 'validation aborted', { fix: 'run `cutover switch` again' });
          const r = await this.diffRows(plan, { kind: 'range', lower: null, upper: null, keys }, source, target);
          results.get(plan)!.push(r);
          this.out.progress({ topic: 'validate', done: ++done, total: batches.length, unit: 'key batches' });
        }),
      ),
    );
    if (batches.length) this.out.done('validate');
    // live: rows that differ now are re-read once green caught up; only persisting ones count
    if (live) await this.recheck(results, source, target, this.replicator!);
    const wholeTables = fullTables.length && !live ? await this.compare(plans.filter((p) => full.has(p.source)), source, target, { frozen: true, tables: fullTables.map((f) => f.table), signal: options.signal }, false) : null;
    // live, the reconciliation is left to the frozen check (its aggregates differ while writes flow)
    const reconcileStarted = performance.now();
    const reconciliation = live ? [] : await this.reconcile(source, target, null);
    const reconciliationMs = Math.round(performance.now() - reconcileStarted);
    const tables = plans.map((plan) => wholeTables?.tables.find((t) => t.source === plan.source) ?? tableDiff(plan, results.get(plan) ?? []));
    const all = [...results.values()].flat();
    const equal = tables.every(tableEqual) && reconciliation.every((r) => r.equal);
    if (!live) this.summarize(tables);
    return {
      equal,
      tables,
      reconciliation,
      startedAt,
      finishedAt: new Date().toISOString(),
      figures: {
        rowsCompared: all.reduce((n, r) => n + r.sourceRows + r.targetRows, 0) + (wholeTables?.figures.rowsCompared ?? 0),
        rowsFetched: all.reduce((n, r) => n + r.rowsFetched, 0) + (wholeTables?.figures.rowsFetched ?? 0),
        chunks: all.length + (wholeTables?.figures.chunks ?? 0),
        mismatchedChunks: all.filter((r) => r.missing.length + r.extra.length + r.different.length > 0).length + (wholeTables?.figures.mismatchedChunks ?? 0),
        resumedChunks: 0,
        ...(live ? {} : { reconciliationMs }),
      },
      scope: { kind: 'changed-rows', since: baseline.position, baselineFinishedAt: baseline.finishedAt, changedRows, tablesWithChanges: narrowed.length, fullTables },
    };
  }

  /** Same tables, columns, forms, chunk size and endpoints = the same run (resumable). */
  private fingerprint(plans: readonly CrossPlan[], mode: FormMode): string {
    const shape = {
      engine: 'cross',
      source: describeEndpoint(this.env.source.url),
      target: describeEndpoint(this.env.target.url),
      chunkRows: this.env.validation.chunkRows,
      mode,
      tables: plans.map((p) => ({ s: p.source, t: p.target, k: p.keys, c: p.columns, f: p.sourceFilter })),
    };
    return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
  }

  /** The forward mapping resolved against the source catalog; every selected table planned. */
  private async plans(source: DiffSide, target: DiffSide, only?: readonly string[]): Promise<CrossPlan[]> {
    const doc = await loadTableMappings(this.env.mappingFiles.forward);
    const schemas = schemasToRead(doc, sideScope(this.env, 'source'));
    const { catalog, nativeTypes } = await source.catalog(schemas);
    const tables = onlyTables(resolveSelected(doc, catalog, schemas, 'source').tables, only);
    // the target schemas are the ones the mapping writes to
    const targetCat = await target.catalog([...new Set(tables.map((t) => t.target.schema))]);
    const plans: CrossPlan[] = [];
    for (const mapped of tables) {
      const plan = planTable(mapped, nativeTypes.get(`${mapped.source.schema}.${mapped.source.table}`) ?? new Map(), targetCat.nativeTypes, source.filterSql(mapped));
      // the source rows come filtered by the SQL (sourceFilter) and carry only the expressions'
      // inputs: the transformer must not filter again on columns it is not given (a NULL fails a filter)
      if (plan.columns.some((c) => c.source === null)) plan.transformer = await createRowTransformer({ ...mapped, filters: [] });
      if (plan.rowsAlways) this.out.info('validate', `${plan.source}: JSON or expression columns are compared in the client, so every chunk ships its rows`);
      plans.push(plan);
    }
    return plans;
  }

  /** Integer key: ranges of about chunkRows source rows; other keys: that many key-hash buckets. */
  private async units(plan: CrossPlan, source: DiffSide, target: DiffSide): Promise<Unit[]> {
    const s = source.dialect;
    const where = plan.sourceFilter ? ` WHERE ${plan.sourceFilter}` : '';
    const chunkRows = this.env.validation.chunkRows;
    if (plan.integerKey) {
      const k = s.ident(plan.keys[0]!.source);
      const t = target.dialect.ident(plan.keys[0]!.target);
      // integers come back as their decimal text from either driver
      const [[[min, max, count]], [[tmin, tmax]]] = (await Promise.all([
        source.rows(`SELECT MIN(${k}), MAX(${k}), COUNT(*) FROM ${s.relation(plan.mapped.source.schema, plan.mapped.source.table)}${where}`),
        target.rows(`SELECT MIN(${t}), MAX(${t}) FROM ${target.dialect.relation(plan.mapped.target.schema, plan.mapped.target.table)}`),
      ])) as [Row[], Row[]];
      const lo = [min, tmin].filter((v): v is string => v != null).map(BigInt);
      const hi = [max, tmax].filter((v): v is string => v != null).map(BigInt);
      if (!lo.length) return [{ kind: 'range', lower: null, upper: null }];
      const from = lo.reduce((a, b) => (a < b ? a : b));
      const to = hi.reduce((a, b) => (a > b ? a : b));
      const n = BigInt(Math.max(1, Math.ceil(Number(count ?? 0) / chunkRows)));
      const step = (to - from + n) / n;
      const units: Unit[] = [];
      for (let i = 0n; i < n; i++) {
        units.push({ kind: 'range', lower: i === 0n ? null : String(from + step * i), upper: i === n - 1n ? null : String(from + step * (i + 1n)) });
      }
      return units;
    }
    const [[count]] = (await source.rows(`SELECT COUNT(*) FROM ${s.relation(plan.mapped.source.schema, plan.mapped.source.table)}${where}`)) as Row[];
    // a power of two: a bucket is then the low bits of the key hash, which narrowing splits further
    const bits = Math.ceil(Math.log2(Math.max(1, Math.ceil(Number(count ?? 0) / chunkRows))));
    return [{ kind: 'buckets', bits }];
  }

  private async compareUnit(plan: CrossPlan, unit: Unit, source: DiffSide, target: DiffSide, mode: FormMode): Promise<UnitResult> {
    const result: UnitResult = emptyResult();
    if (unit.kind === 'buckets') {
      // one scan per side groups every bucket; then the differing buckets are narrowed and diffed
      const [sh, th] = await Promise.all([source.rows(...bucketHashQuery(plan, source, 'source', unit.bits, mode)), target.rows(...bucketHashQuery(plan, target, 'target', unit.bits, mode))]);
      const sm = new Map(sh.map((r) => [Number(r[0]), r]));
      const tm = new Map(th.map((r) => [Number(r[0]), r]));
      const differing: Mismatch[] = [];
      for (const b of [...new Set([...sm.keys(), ...tm.keys()])].sort((x, y) => x - y)) {
        const a = sm.get(b);
        const c = tm.get(b);
        result.sourceRows += Number(a?.[1] ?? 0);
        result.targetRows += Number(c?.[1] ?? 0);
        if (plan.rowsAlways || a?.[1] !== c?.[1] || a?.[2] !== c?.[2]) {
          differing.push({ range: { lower: null, upper: null, keyHash: { bits: unit.bits, values: [b] } }, rows: Math.max(Number(a?.[1] ?? 0), Number(c?.[1] ?? 0)) });
        }
      }
      result.mismatched = differing.length > 0;
      if (!plan.rowsAlways) {
        merge(result, await this.narrowAndDiff(plan, differing, source, target, mode));
        return result;
      }
      // JSON or expression columns are not in the hash: every bucket ships its rows
      for (let i = 0; i < differing.length; i += BUCKETS_PER_STATEMENT) {
        const values = differing.slice(i, i + BUCKETS_PER_STATEMENT).flatMap((m) => m.range.keyHash!.values);
        merge(result, await this.diffRows(plan, { kind: 'range', lower: null, upper: null, keyHash: { bits: unit.bits, values } }, source, target));
      }
      return result;
    }
    const [[[sc, ss]], [[tc, ts]]] = (await Promise.all([source.rows(...hashQuery(plan, source, 'source', unit, mode)), target.rows(...hashQuery(plan, target, 'target', unit, mode))])) as [Row[], Row[]];
    result.sourceRows = Number(sc ?? 0);
    result.targetRows = Number(tc ?? 0);
    if (!plan.rowsAlways && sc === tc && ss === ts) return result;
    result.mismatched = true;
    if (plan.rowsAlways) merge(result, await this.diffRows(plan, unit, source, target));
    else merge(result, await this.narrowAndDiff(plan, [{ range: await this.boundedRange(plan, unit, source, target), rows: Math.max(result.sourceRows, result.targetRows) }], source, target, mode));
    return result;
  }

  /**
   * An integer-key unit with an open end, closed by the keys both sides hold: narrowing then cuts
   * dense sub-ranges (a few clustered differences ship one short range) instead of hash groups.
   */
  private async boundedRange(plan: CrossPlan, unit: Unit & { kind: 'range' }, source: DiffSide, target: DiffSide): Promise<KeyRange> {
    if (!plan.integerKey || (unit.lower !== null && unit.upper !== null)) return keyRangeOf(unit);
    const [[[smin, smax]], [[tmin, tmax]]] = (await Promise.all([source.rows(...boundsQuery(plan, source, 'source', unit)), target.rows(...boundsQuery(plan, target, 'target', unit))])) as [Row[], Row[]];
    const lows = [smin, tmin].filter((v): v is string => v != null).map(BigInt);
    const highs = [smax, tmax].filter((v): v is string => v != null).map(BigInt);
    if (!lows.length) return keyRangeOf(unit);
    const lo = lows.reduce((a, b) => (a < b ? a : b));
    const hi = highs.reduce((a, b) => (a > b ? a : b));
    return keyRangeOf({ ...unit, lower: String(lo), upper: String(hi + 1n) });
  }

  /**
   * Differing units narrowed inside both databases by the PostgreSQL diff's narrowing
   * (bucket-narrowing.ts: integer sub-ranges where the keys are dense, else key-hash groups), each
   * engine hashing the groups in its own SQL; only the rows of the differing leaves are shipped.
   * A scattered difference then ships a few dozen rows per side instead of its chunk.
   */
  private async narrowAndDiff(plan: CrossPlan, mismatches: readonly Mismatch[], source: DiffSide, target: DiffSide, mode: FormMode): Promise<UnitResult> {
    const result = emptyResult();
    if (!mismatches.length) return result;
    const sides: NarrowingSides = {
      integerKey: plan.integerKey,
      viaTransformer: false,
      groupRows: (which, arms) => {
        const side = which === 'source' ? source : target;
        return side.rows(...groupsQuery(plan, side, which, arms, mode));
      },
    };
    const narrowed = await narrowMismatches(sides, mismatches);
    for (const n of narrowed.rowsFetched.values()) result.rowsFetched += n;
    // the leaves are disjoint: their rows come in one statement per side per MAX_ARMS leaves
    for (const leaves of statements(narrowed.leaves)) merge(result, await this.diffRows(plan, leaves.map((l) => unitOf(l.range)), source, target));
    return result;
  }

  /** Ships the unit's rows from both sides and diffs them to the row and column. */
  private async diffRows(plan: CrossPlan, unit: Unit | readonly Unit[], source: DiffSide, target: DiffSide): Promise<UnitResult> {
    const [srcRows, tgtRows] = await Promise.all([source.rows(...rowsQuery(plan, source, 'source', unit)), target.rows(...rowsQuery(plan, target, 'target', unit))]);
    const nk = plan.keys.length;
    const nc = plan.columns.length;
    const src = srcRows.map((r) => this.sourceRow(plan, r, nk, nc));
    // sourceRows/targetRows: what this read shipped (the changed-rows check counts by them; merge() ignores them)
    const result: UnitResult = { ...emptyResult(), sourceRows: srcRows.length, targetRows: tgtRows.length, rowsFetched: srcRows.length + tgtRows.length };
    const targetById = new Map<string, Row>();
    for (const r of tgtRows) targetById.set(JSON.stringify(r.slice(0, nk)), r);
    const seen = new Set<string>();
    for (const s of src) {
      const id = JSON.stringify(s.slice(0, nk));
      seen.add(id);
      const t = targetById.get(id);
      const key = rowKey(plan, s.slice(0, nk));
      if (!t) {
        // a row the replicator (or a repair) could not write is in the dead letters, with its reason
        if (plan.deadLetterIds.has(id)) result.deadLetter.push(key);
        else {
          result.missing.push(key);
          result.repair.push(repairOf(plan, key, insertStatement(plan.repairShape, insertValues(plan, s.slice(0, nk), s.slice(nk)))));
        }
        continue;
      }
      const changed: number[] = [];
      plan.columns.forEach((c, i) => {
        if (!sameValue(c.form, s[nk + i] ?? null, t[nk + i] ?? null, this.env.validation.floatTolerance)) changed.push(i);
      });
      if (changed.length) {
        result.different.push(key);
        for (const i of changed.slice(0, 3)) result.samples.push({ key, column: plan.columns[i]!.target, source: display(plan.columns[i]!, s[nk + i] ?? null), target: display(plan.columns[i]!, t[nk + i] ?? null) });
        const values = changed.map((i) => ({ column: i, value: inputText(plan.columns[i]!.form, s[nk + i] ?? null) }));
        result.repair.push(repairOf(plan, key, updateStatement(plan.repairShape, s.slice(0, nk), values)));
      }
    }
    for (const [id, t] of targetById) {
      if (seen.has(id)) continue;
      const key = rowKey(plan, t.slice(0, nk));
      result.extra.push(key);
      result.repair.push(repairOf(plan, key, deleteStatement(plan.repairShape, t.slice(0, nk))));
    }
    return result;
  }

  /** A source row as [keys..., columns...] with expression columns computed by the row transformer. */
  private sourceRow(plan: CrossPlan, r: Row, nk: number, nc: number): Row {
    if (!plan.transformer) return r.slice(0, nk + nc);
    const input: Record<string, unknown> = {};
    plan.expressionInputs.forEach((c, i) => (input[c.name] = inputValue(c.form, r[nk + nc + i] ?? null)));
    const out = plan.transformer.transform(input) ?? {};
    return [
      ...r.slice(0, nk),
      ...plan.columns.map((c, i) => (c.source ? (r[nk + i] ?? null) : clientCanonical(c.form, out[c.target]))),
    ];
  }

  /**
   * While replication runs, a difference may only be in flight: wait until the target has
   * applied the source's current position once, then diff the differing units again and keep
   * what still differs.
   */
  private async recheck(results: Map<CrossPlan, UnitResult[]>, source: DiffSide, target: DiffSide, replicator: Replicator): Promise<void> {
    const differing = [...results.values()].flat().some((r) => r.missing.length || r.extra.length || r.different.length);
    if (!differing) return;
    const position = await replicator.sourcePosition();
    const caughtUp = await replicator.waitForPosition(position, Math.max(30_000, this.env.switch.catchUpTimeoutMs));
    if (!caughtUp) this.out.warn('validate', `replication did not reach ${position} in time; reporting what differed`);
    for (const [plan, list] of results) {
      for (const r of list) {
        if (!r.missing.length && !r.extra.length && !r.different.length) continue;
        const keys = [...r.missing, ...r.extra, ...r.different];
        const again = await this.diffRows(plan, unitOfKeys(plan, keys), source, target);
        const still = (k: RowKey) => [...again.missing, ...again.extra, ...again.different].some((x) => JSON.stringify(x) === JSON.stringify(k));
        r.missing = r.missing.filter(still);
        r.extra = r.extra.filter(still);
        r.different = r.different.filter(still);
        r.samples = r.samples.filter((s) => still(s.key));
        r.repair = again.repair.filter((x) => still(x.row.key));
      }
    }
  }

  /**
   * Business invariants: the source query on the source, the target query on the target, every
   * row compared as text (numbers by value). While replication applies writes (not frozen, a
   * replicator given) the reads are aligned as the PostgreSQL validator aligns them: source, wait
   * until the target applied the source's position, target, source again; equal when the target
   * matches either source read, up to 3 rounds; a difference that survives them is `inFlight` —
   * reported, not failing this validation (the frozen validation at the write switch decides).
   */
  private async reconcile(source: DiffSide, target: DiffSide, stream: { readonly replicator: Replicator; readonly truth: 'source' | 'target' } | null): Promise<ValidationReport['reconciliation']> {
    const live = stream !== null;
    const out: ValidationReport['reconciliation'] = [];
    const norm = (rows: Row[]) => rows.map((row) => row.map((v) => (v !== null && /^-?\d+(\.\d+)?$/.test(v) ? String(Number(v)) : v)));
    const shown = (rows: (string | null)[][]) => (rows.length === 1 ? (rows[0]!.length === 1 ? rows[0]![0] : rows[0]) : rows);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    for (const r of this.env.validation.reconciliation) {
      if (!live) {
        const [s, t] = await Promise.all([source.rows(r.source), target.rows(r.target)]);
        out.push({ name: r.name, equal: same(norm(s), norm(t)), source: shown(norm(s)), target: shown(norm(t)) });
        continue;
      }
      let result: ValidationReport['reconciliation'][number] | null = null;
      let s: (string | null)[][] = [];
      let t: (string | null)[][] = [];
      // the side the stream copies from is read before and after the wait, the other once it applied
      const reverse = stream!.truth === 'target';
      const readTruth = async () => norm(reverse ? await target.rows(r.target) : await source.rows(r.source));
      const readCopy = async () => norm(reverse ? await source.rows(r.source) : await target.rows(r.target));
      for (let round = 1; round <= 3 && !result; round++) {
        const before = await readTruth();
        const position = await stream!.replicator.sourcePosition();
        const reached = await stream!.replicator.waitForPosition(position, Math.max(10_000, this.env.switch.catchUpTimeoutMs));
        const copy = await readCopy();
        const after = await readTruth();
        const truth = same(before, copy) ? before : after;
        [s, t] = reverse ? [copy, truth] : [truth, copy];
        if (same(before, copy) || same(after, copy)) result = { name: r.name, equal: true, source: shown(s), target: shown(t) };
        else if (!reached) break;
      }
      out.push(result ?? { name: r.name, equal: false, inFlight: true, source: shown(s), target: shown(t) });
    }
    return out;
  }
}

/** A baseline position as the `pg_lsn` text the changed-key record orders by (binlog file + offset, binlog-position.ts). */
function baselineLsn(position: string): string {
  return /^[0-9A-Fa-f]+\/[0-9A-Fa-f]+$/.test(position) ? position : binlogPositionToLsn(parseBinlogPosition(position));
}

/** How many of the recorded keys are rows of the source table now, its mapping filter left aside. */
/** A `refreshBaseline` run that compared nothing: never equal, and it says why. */
function notRefreshed(startedAt: string, reason: string): CrossEngineValidationReport {
  return {
    equal: false,
    tables: [],
    reconciliation: [],
    startedAt,
    finishedAt: new Date().toISOString(),
    figures: { rowsCompared: 0, rowsFetched: 0, chunks: 0, mismatchedChunks: 0, resumedChunks: 0 },
    scope: { kind: 'full', reason },
    baselineRefreshed: false,
  };
}

/** The recorded keys of each planned table in the canonical texts its key columns are compared by (canonicalKeyText). */
function canonicalChanges(changes: Map<string, TableChanges>, plans: readonly CrossPlan[]): Map<string, TableChanges> {
  for (const plan of plans) {
    const c = changes.get(plan.source);
    if (!c) continue;
    const keys = c.keys.map((k) => ({ ...k, key: k.key.map((v, i) => (v === null || !plan.keys[i] ? v : canonicalKeyText(v, plan.keys[i]!.form))) }));
    changes.set(plan.source, { ...c, keys });
  }
  return changes;
}

async function countOnSource(plan: CrossPlan, source: DiffSide, keys: TableChanges['keys']): Promise<number> {
  let n = 0;
  for (const range of keyRanges(keys)) {
    const params: unknown[] = [];
    const where = unitCondition(plan, source, 'source', { kind: 'range', lower: null, upper: null, keys: range.sourceKeys! }, params);
    const [[count]] = (await source.rows(`SELECT COUNT(*) FROM ${relationOf(plan, source.dialect, 'source')} WHERE ${where}`, params)) as Row[];
    n += Number(count ?? 0);
  }
  return n;
}

// ----------------------------------------------------------------------------- planning

function planTable(mapped: MappedTable, sourceNative: ReadonlyMap<string, string>, targetTypes: ReadonlyMap<string, ReadonlyMap<string, string>>, sourceFilter: string | null): CrossPlan {
  const source = `${mapped.source.schema}.${mapped.source.table}`;
  const target = `${mapped.target.schema}.${mapped.target.table}`;
  const tt = targetTypes.get(target);
  const fix = 'create the target table (schema migration) or correct the mapping, then run `cutover mappings check`';
  if (!tt) throw new CutoverError('MAPPING_INVALID', `target table ${target} (mapped from ${source}) does not exist`, { received: target, fix });
  if (!mapped.primaryKey.length) {
    throw new CutoverError('PRECONDITION_FAILED', `${source} has no primary key: it cannot be compared by key`, {
      received: source,
      fix: 'add a primary key to the source table, or a define-primary-key rule in the mapping',
    });
  }
  const problems: string[] = [];
  const columns: CrossColumn[] = [];
  const inputs = new Map<string, { name: string; native: string; form: ValueForm }>();
  for (const col of mapped.columns) {
    const targetType = tt.get(col.target);
    if (!targetType) {
      problems.push(`${target}.${col.target} is missing on the target`);
      continue;
    }
    const form = formOfTargetType(targetType);
    if (col.kind === 'copy') {
      columns.push({ target: col.target, targetType, targetNative: targetType, form, source: { name: col.source, native: sourceNative.get(col.source) ?? col.sourceType }, inClient: form.kind === 'json' });
    } else {
      columns.push({ target: col.target, targetType, targetNative: targetType, form, source: null, inClient: true });
      for (const dep of col.dependsOn) {
        const c = mapped.sourceColumns.find((x) => x.name === dep);
        inputs.set(dep, { name: dep, native: sourceNative.get(dep) ?? c?.type ?? 'text', form: formOfTargetType(c?.type ?? 'text') });
      }
    }
  }
  const keys: CrossKey[] = mapped.primaryKey.map((name, i) => {
    const targetName = mapped.targetPrimaryKey[i] ?? name;
    const targetType = tt.get(targetName);
    if (!targetType) problems.push(`key column ${target}.${targetName} is missing on the target`);
    return { source: name, target: targetName, sourceNative: sourceNative.get(name) ?? 'text', targetNative: targetType ?? 'text', form: formOfTargetType(targetType ?? 'text') };
  });
  if (problems.length) {
    throw new CutoverError('MAPPING_INVALID', `${source} -> ${target}: the mapping names target columns that do not exist`, { problems, fix });
  }
  const intNative = (t: string) => /^(tinyint|smallint|mediumint|int|integer|bigint)\b/i.test(t) && !/^tinyint\(1\)/i.test(t);
  return {
    mapped,
    source,
    target,
    keys,
    columns,
    expressionInputs: [...inputs.values()],
    sourceFilter,
    integerKey: keys.length === 1 && keys[0]!.form.kind === 'integer' && intNative(keys[0]!.sourceNative),
    rowsAlways: columns.some((c) => c.inClient),
    repairShape: {
      targetRelation: qualified(mapped.target.schema, mapped.target.table),
      keys: keys.map((k) => ({ target: k.target, targetType: k.targetNative })),
      // a key column that is not also a compared column (never with a DMS mapping) still gets its value on insert
      columns: [...columns.map((c) => ({ target: c.target, targetType: c.targetType })), ...keys.filter((k) => !columns.some((c) => c.target === k.target)).map((k) => ({ target: k.target, targetType: k.targetNative }))],
    },
    deadLetterIds: new Set(),
  };
}

// ----------------------------------------------------------------------------- SQL

type Side = 'source' | 'target';

function relationOf(plan: CrossPlan, d: ValueDialect, side: Side): string {
  const t = side === 'source' ? plan.mapped.source : plan.mapped.target;
  return d.relation(t.schema, t.table);
}

function keyTexts(plan: CrossPlan, d: ValueDialect, side: Side): string[] {
  const exact: FormMode = { mode: 'exact', floatDigits: null };
  return plan.keys.map((k) => d.canonical(d.ident(side === 'source' ? k.source : k.target), side === 'source' ? k.sourceNative : k.targetNative, k.form, exact));
}

function columnTexts(plan: CrossPlan, d: ValueDialect, side: Side, mode: FormMode, forHash: boolean): string[] {
  return plan.columns
    .filter((c) => !(forHash && c.inClient))
    .map((c) => {
      if (side === 'source') return c.source ? d.canonical(d.ident(c.source.name), c.source.native, c.form, mode) : 'NULL';
      return d.canonical(d.ident(c.target), c.targetNative, c.form, mode);
    });
}

/** Key and hashed column texts as row-text parts (fixed or length-prefixed alike on both sides). */
function keyParts(plan: CrossPlan, d: ValueDialect, side: Side): RowPart[] {
  const texts = keyTexts(plan, d, side);
  return plan.keys.map((k, i) => ({ sql: texts[i]!, fixed: isFixedPart(k.form, k.sourceNative) }));
}

function hashedColumnParts(plan: CrossPlan, d: ValueDialect, side: Side, mode: FormMode): RowPart[] {
  const texts = columnTexts(plan, d, side, mode, true);
  return plan.columns.filter((c) => !c.inClient).map((c, i) => ({ sql: texts[i]!, fixed: c.source !== null && isFixedPart(c.form, c.source.native) }));
}

function keyHash(plan: CrossPlan, d: ValueDialect, side: Side): string {
  return d.hash60(d.rowText(keyParts(plan, d, side)));
}

/** WHERE for a unit (plus the source's filter); parameters in `params`. */
/** WHERE for one unit, or for the rows of any of several disjoint units, plus the source's filter; parameters in `params`. */
function unitWhere(plan: CrossPlan, side: DiffSide, which: Side, units: Unit | readonly Unit[], params: unknown[]): string {
  const list: readonly Unit[] = Array.isArray(units) ? units : [units as Unit];
  const conditions = list.map((u) => unitCondition(plan, side, which, u, params));
  const parts: string[] = [];
  // a unit without a condition is the whole table
  if (conditions.length && conditions.every((c) => c !== null)) parts.push(conditions.length === 1 ? conditions[0]! : `(${conditions.map((c) => `(${c})`).join(' OR ')})`);
  if (which === 'source' && plan.sourceFilter) parts.push(`(${plan.sourceFilter})`);
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

function unitCondition(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit, params: unknown[]): string | null {
  if (unit.kind !== 'range') return null;
  const d = side.dialect;
  const parts: string[] = [];
  const k = plan.keys[0]!;
  const col = d.keyOperand(d.ident(which === 'source' ? k.source : k.target), which === 'source' ? k.sourceNative : k.targetNative);
  const native = which === 'source' ? k.sourceNative : k.targetNative;
  if (unit.lower !== null) parts.push(`${col} >= ${d.keyParam(params.push(unit.lower) - 1, native)}`);
  if (unit.upper !== null) parts.push(`${col} < ${d.keyParam(params.push(unit.upper) - 1, native)}`);
  if (unit.keyHash) parts.push(`MOD(${keyHash(plan, d, which)}, ${2n ** BigInt(unit.keyHash.bits)}) IN (${unit.keyHash.values.map((b) => String(Math.trunc(b))).join(', ')})`);
  if (unit.keys?.length && plan.integerKey) {
    // an integer key by value: the primary key's index finds each row
    parts.push(`${col} IN (${unit.keys.map((k) => d.keyParam(params.push(k[0]) - 1, native)).join(', ')})`);
  } else if (unit.keys?.length) {
    // canonical key texts compared to the texts the diff shipped (a re-check's few rows, a frozen check's changed keys)
    const texts = keyTexts(plan, d, which);
    const tuple = (values: readonly (string | null)[]) => `(${values.map((v) => d.placeholder(params.push(v) - 1)).join(', ')})`;
    parts.push(`(${texts.join(', ')}) IN (${unit.keys.map(tuple).join(', ')})`);
  }
  return parts.length ? parts.join(' AND ') : null;
}

function rowHashExpr(plan: CrossPlan, d: ValueDialect, side: Side, mode: FormMode): string {
  return d.hash60(d.rowText([...keyParts(plan, d, side), ...hashedColumnParts(plan, d, side, mode)]));
}

function hashQuery(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit, mode: FormMode): [string, unknown[]] {
  const d = side.dialect;
  const params: unknown[] = [];
  const where = unitWhere(plan, side, which, unit, params);
  return [`SELECT COUNT(*), ${d.sumText(rowHashExpr(plan, d, which, mode))} FROM ${relationOf(plan, d, which)}${where}`, params];
}

function boundsQuery(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit): [string, unknown[]] {
  const d = side.dialect;
  const k = d.ident(which === 'source' ? plan.keys[0]!.source : plan.keys[0]!.target);
  const params: unknown[] = [];
  const where = unitWhere(plan, side, which, unit, params);
  return [`SELECT MIN(${k}), MAX(${k}) FROM ${relationOf(plan, d, which)}${where}`, params];
}

/**
 * Per narrowing arm and group: arm number, group, count and hash sum (NarrowingSides.groupRows),
 * one UNION ALL arm per range. Steps and bounds are integers computed here (BigInt), never text
 * from a row.
 */
function groupsQuery(plan: CrossPlan, side: DiffSide, which: Side, arms: readonly NarrowingArm[], mode: FormMode): [string, unknown[]] {
  const d = side.dialect;
  const params: unknown[] = [];
  const text = arms
    .map((arm, i) => {
      const where = unitWhere(plan, side, which, unitOf(arm.range), params);
      const k = d.ident(which === 'source' ? plan.keys[0]!.source : plan.keys[0]!.target);
      const group =
        arm.step !== undefined
          ? `FLOOR((${k} - ${BigInt(arm.range.lower![0]!).toString()}) / ${arm.step.toString()})`
          : `MOD(${keyHash(plan, d, which)}, ${2n ** BigInt((arm.range.keyHash?.bits ?? 0) + arm.bits)})`;
      return `SELECT ${i}, ${group}, COUNT(*), ${d.sumText(rowHashExpr(plan, d, which, mode))} FROM ${relationOf(plan, d, which)}${where} GROUP BY 2`;
    })
    .join(' UNION ALL ');
  return [text, params];
}

function bucketHashQuery(plan: CrossPlan, side: DiffSide, which: Side, bits: number, mode: FormMode): [string, unknown[]] {
  const d = side.dialect;
  const where = which === 'source' && plan.sourceFilter ? ` WHERE ${plan.sourceFilter}` : '';
  return [`SELECT MOD(${keyHash(plan, d, which)}, ${2 ** bits}), COUNT(*), ${d.sumText(rowHashExpr(plan, d, which, mode))} FROM ${relationOf(plan, d, which)}${where} GROUP BY 1`, []];
}

/** A range unit as narrowing's KeyRange (one key column), and back. */
function keyRangeOf(unit: Unit & { kind: 'range' }): KeyRange {
  return { lower: unit.lower === null ? null : [unit.lower], upper: unit.upper === null ? null : [unit.upper], ...(unit.keyHash ? { keyHash: unit.keyHash } : {}) };
}

function unitOf(range: KeyRange): Unit & { kind: 'range' } {
  return { kind: 'range', lower: range.lower?.[0] ?? null, upper: range.upper?.[0] ?? null, ...(range.keyHash ? { keyHash: range.keyHash } : {}) };
}

function rowsQuery(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit | readonly Unit[]): [string, unknown[]] {
  const d = side.dialect;
  const exact: FormMode = { mode: 'exact', floatDigits: null };
  const params: unknown[] = [];
  const where = unitWhere(plan, side, which, unit, params);
  const inputs = which === 'source' ? plan.expressionInputs.map((c) => d.canonical(d.ident(c.name), c.native, c.form, exact)) : [];
  const select = [...keyTexts(plan, d, which), ...columnTexts(plan, d, which, exact, false), ...inputs];
  return [`SELECT ${select.join(', ')} FROM ${relationOf(plan, d, which)}${where}`, params];
}

/** Units that hold exactly these keys (a re-check reads only them). */
function unitOfKeys(plan: CrossPlan, keys: readonly RowKey[]): Unit {
  if (plan.integerKey) {
    const values = keys.map((k) => BigInt(String(k[plan.keys[0]!.source])));
    const lo = values.reduce((a, b) => (a < b ? a : b));
    const hi = values.reduce((a, b) => (a > b ? a : b));
    return { kind: 'range', lower: String(lo), upper: String(hi + 1n) };
  }
  return { kind: 'range', lower: null, upper: null, keys: keys.map((k) => plan.keys.map((c) => (k[c.source] === null || k[c.source] === undefined ? null : String(k[c.source])))) };
}

// ----------------------------------------------------------------------------- values

function sameValue(form: ValueForm, a: string | null, b: string | null, tolerance: number): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (form.kind === 'float') return tolerance > 0 ? floatsAgree(String(floatOfCanonical(a)), String(floatOfCanonical(b)), tolerance) : false;
  if (form.kind === 'json') return jsonCanonical(a) === jsonCanonical(b);
  return false;
}

/** What a sample shows: floats as numbers, everything else as its canonical text. */
function display(c: CrossColumn, v: string | null): unknown {
  if (v === null) return null;
  if (c.form.kind === 'interval') return durationOfCanonical(v);
  return c.form.kind === 'float' ? floatOfCanonical(v) : v;
}

/** A canonical text read back by the target type's input function (repair SQL). */
function inputText(form: ValueForm, v: string | null): string | null {
  if (v === null) return null;
  if (form.kind === 'float') return String(floatOfCanonical(v));
  if (form.kind === 'interval') return `${v} microseconds`;
  return v;
}

/** A source value handed to the row transformer (SQLite semantics): numbers as numbers. */
function inputValue(form: ValueForm, v: string | null): unknown {
  if (v === null) return null;
  if (form.kind === 'integer') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (form.kind === 'float') return floatOfCanonical(v);
  if (form.kind === 'boolean') return v === 't' ? 1 : 0;
  if (form.kind === 'interval') return durationOfCanonical(v);
  return v;
}

/** The canonical text of a value the row transformer computed (no SQL sees it). */
function clientCanonical(form: ValueForm, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (form.kind) {
    case 'numeric':
      return form.scale === null ? String(v) : Number(v).toFixed(form.scale);
    case 'boolean':
      return v === true || v === 1 || v === '1' || v === 't' ? 't' : 'f';
    case 'interval':
      return canonicalKeyText(String(v), form); // `HH:MM:SS[.f]` → microseconds
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

function rowKey(plan: CrossPlan, values: Row): RowKey {
  const key: RowKey = {};
  plan.keys.forEach((k, i) => {
    const v = values[i] ?? null;
    key[k.source] = v !== null && k.form.kind === 'integer' && Number.isSafeInteger(Number(v)) ? Number(v) : v;
  });
  return key;
}

/** Values for insertStatement over `plan.repairShape.columns`: the compared columns, then keys not among them. */
function insertValues(plan: CrossPlan, keys: Row, values: Row): (string | null)[] {
  const out = plan.columns.map((c, i) => inputText(c.form, values[i] ?? null));
  plan.keys.forEach((k, i) => {
    if (!plan.columns.some((c) => c.target === k.target)) out.push(keys[i] ?? null);
  });
  return out;
}

function repairOf(plan: CrossPlan, key: RowKey, sql: string): RepairStatement {
  return { sql, row: { sourceTable: plan.source, targetTable: plan.target, key } };
}

/** A unit's result as the run log keeps it (validation-checkpoint.ts). */
function toChunkResult(plan: CrossPlan, index: number, r: UnitResult): ChunkResult {
  return {
    table: plan.source,
    index,
    sourceRows: r.sourceRows,
    targetRows: r.targetRows,
    mismatched: r.mismatched,
    missing: r.missing,
    extra: r.extra,
    different: r.different,
    deadLetter: r.deadLetter,
    samples: r.samples,
    inFlight: 0,
    rowsFetched: r.rowsFetched,
    repair: r.repair.map((x) => x.sql),
    repairKeys: r.repair.map((x) => x.row.key),
  };
}

function fromChunkResult(plan: CrossPlan, c: ChunkResult): UnitResult {
  return {
    sourceRows: c.sourceRows,
    targetRows: c.targetRows,
    mismatched: c.mismatched,
    rowsFetched: c.rowsFetched,
    missing: c.missing,
    extra: c.extra,
    different: c.different,
    deadLetter: c.deadLetter,
    samples: c.samples,
    repair: c.repair.map((sql, i) => repairOf(plan, c.repairKeys?.[i] ?? {}, sql)),
  };
}

/** Units as the run log keeps them: `['r', lower, upper]` ('' for open), or `['b', bits]` (top-level units have no key-hash filter). */
function encodeUnits(units: readonly Unit[]): string[][] {
  return units.map((u) => (u.kind === 'range' ? ['r', u.lower ?? '', u.upper ?? ''] : ['b', String(u.bits)]));
}

function decodeUnits(encoded: readonly (readonly string[])[]): Unit[] {
  return encoded.map(([kind, a, b]) => (kind === 'r' ? { kind: 'range', lower: a || null, upper: b || null } : { kind: 'buckets', bits: Number(a) }));
}

function merge(into: UnitResult, part: UnitResult): void {
  into.rowsFetched += part.rowsFetched;
  into.missing.push(...part.missing);
  into.extra.push(...part.extra);
  into.different.push(...part.different);
  into.deadLetter.push(...part.deadLetter);
  into.samples.push(...part.samples);
  into.repair.push(...part.repair);
}

function tableDiff(plan: CrossPlan, results: readonly UnitResult[]): TableDiff {
  return {
    source: plan.source,
    target: plan.target,
    sourceRows: results.reduce((n, r) => n + r.sourceRows, 0),
    targetRows: results.reduce((n, r) => n + r.targetRows, 0),
    missing: results.flatMap((r) => r.missing),
    extra: results.flatMap((r) => r.extra),
    different: results.flatMap((r) => r.different),
    samples: results.flatMap((r) => r.samples).slice(0, SAMPLES_PER_TABLE),
    inFlight: 0,
    deadLetter: results.flatMap((r) => r.deadLetter),
    chunks: { total: results.length, mismatched: results.filter((r) => r.mismatched).length },
  };
}
