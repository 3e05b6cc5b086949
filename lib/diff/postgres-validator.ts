import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type pg from 'pg';
import { connectionError, describeEndpoint } from '../assess/connection-errors.ts';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { createRowTransformer, loadTableMappings, readMappedCatalog, onlyTables, resolveSelected, sideScope } from '../mappings/index.ts';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import type { Output } from '../output/output.ts';
import { ProgressRate } from '../output/progress-rate.ts';
import type { ColumnSample, Replicator, RowKey, Throttler, TableDiff, ValidateOptions, ValidationReport, ValidationScope, Validator } from '../platform/roles.ts';
import { appliedCounters, holdChangedKeys, baselineRefusal, settleBaseline, countOnSource, forwardSlots, keyRanges, pruneChangedKeys, readBaseline, readChangedKeys, readStreams, writeBaseline, type ValidationBaseline } from './changed-rows.ts';
import { refuseFilteredToNothing } from './filtered-to-nothing.ts';
import { hashChunk, hashedRange, sourceRows, targetRows, type ChunkContext, type ChunkHashes } from './chunk-compare.ts';
import { diffChunkRows } from './row-diff.ts';
import { openComparisonPool, warmPool } from './comparison-pool.ts';
import { readDeadLetterIds } from './dead-letters.ts';
import { negotiateForm } from './form-probe.ts';
import { BUCKETS_PER_CHUNK, bucketsRange, chunkBoundaries, chunkRanges } from './key-chunks.ts';
import { recheckRows, type LiveRecheck } from './live-recheck.ts';
import { MismatchBatches, type ChunkFollowUp } from './mismatch-batches.ts';
import type { FormOptions } from './normalized-form.ts';
import { firstDifference } from '../platform/reconciliation-difference.ts';
import { tableEqual, tableLine } from './table-line.ts';
import { reconcile, type ReconciliationResult } from './reconciliation.ts';
import { applyRepairs } from './repair-apply.ts';
import { repairScript } from './repair-sql.ts';
import { bucketRange, type KeyRange } from './side-query.ts';
import { buildTablePlan, type TablePlan } from './table-plan.ts';
import { TaskLimiter } from './task-limiter.ts';
import { throwIfAborted, ValidationCheckpoint, type ChunkResult } from './validation-checkpoint.ts';

/** Column-level samples kept per table in the report. */
const SAMPLES_PER_TABLE = 10;
/** Lag-aware re-check rounds a row (or a reconciliation) must differ in before it is reported. */
const RECHECK_ROUNDS = 3;

export interface PostgresValidationReport extends ValidationReport {
  readonly figures: ValidationReport['figures'] & {
    /** Chunks taken from the run log of a killed validation instead of being compared again. */
    readonly resumedChunks: number;
    /** Chunks re-checked after replication passed the position seen at their first check. */
    readonly recheckedChunks: number;
    /**
     * Chunks whose hashes differed although every row then compared equal and none was in flight:
     * values within `floatTolerance`, rows that changed between the hash and the read while
     * replication ran, or a gap between the hashed and the compared form (worth a report).
     */
    readonly unexplainedChunks: number;
  };
  /** `inFlight: true`: differed in every aligned round while replication ran; not a failure. */
  readonly reconciliation: ReconciliationResult[];
  /** Repair statements applied (`repair: true`). */
  readonly repaired?: number;
  readonly repairSqlFile?: string;
}

/**
 * Chunks hash under `hash`; a mismatching chunk is narrowed and diffed in a batch with other
 * chunks of its table (`batches`) and, while replication runs, re-checked under `followUp`.
 */
interface ChunkSlots {
  readonly hash: TaskLimiter;
  readonly followUp: TaskLimiter;
  readonly batches: ReadonlyMap<string, MismatchBatches>;
}

/** The replication stream a live validation waits for, and which side holds the truth it carries. */
interface LagStream {
  readonly replicator: Replicator;
  readonly truth: 'source' | 'target';
}

/** `refreshBaseline`: the live changed-rows pass (Validator.refreshBaseline). */
type InternalValidateOptions = ValidateOptions & { readonly refreshBaseline?: boolean };

export interface PostgresValidatorOptions {
  /** How long a lag-aware re-check (all its rounds) waits for replication. @default max(30 s, switch.catchUpTimeoutMs) */
  readonly recheckTimeoutMs?: number;
  /**
   * Rounds of the lag-aware re-check: a row, or a reconciliation, that differs in every round
   * while replication runs is reported. @default 3
   */
  readonly recheckRounds?: number;
  readonly now?: () => Date;
  /**
   * Reverse replication (green → blue): after the write switch the business writes to green and
   * this stream carries them to blue, so a row that differs is re-checked with the roles turned
   * (read green, wait until blue applied green's position, read blue). @default - none: after the
   * switch differences are reported as read
   */
  readonly reverse?: Replicator;
  /** Paces the chunk scans on blue (lib/throttle); a frozen validation (inside the write hold) is never paced. @default - none */
  readonly throttler?: Throttler;
}

/**
 * The diff engine for the `postgres` platform (and, over endpoints, for `aws`): every table pair
 * of the forward mapping is cut into primary-key ranges; each range is counted and hashed inside
 * both databases over a normalized form of the compared columns; only ranges whose hashes differ
 * ship rows, which are diffed to the row and column. With nothing different each side is read
 * once and the client receives a few rows per chunk (see bench/validate-scan.ts).
 */
export class PostgresValidator implements Validator {
  private readonly now: () => Date;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    private readonly replicator?: Replicator,
    private readonly options: PostgresValidatorOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async validate(options: ValidateOptions = {}): Promise<PostgresValidationReport> {
    return this.run(options, true);
  }

  async refreshBaseline(signal?: AbortSignal): Promise<PostgresValidationReport> {
    return this.run({ refreshBaseline: true, signal }, true);
  }

  /** `reconcileToo`: false for the whole tables a changed-rows check compares, which reconciles once itself. */
  private async run(options: InternalValidateOptions, reconcileToo: boolean): Promise<PostgresValidationReport> {
    const startedAt = this.now().toISOString();
    const { env } = this;
    const concurrency = env.validation.concurrency;
    // `concurrency` sessions per side, shared by the hash scans and the mismatch follow-ups (see
    // compareChunk): a session costs its server a process and an authentication, and more
    // sessions than scans only add that cost while the scans already keep the servers busy
    const sourceDb = openComparisonPool(env.source.url, concurrency);
    const targetDb = openComparisonPool(env.target.url, concurrency);
    const transformers: RowTransformer[] = [];
    // read while the servers authenticate
    const mappings = loadTableMappings(env.mappingFiles.forward);
    mappings.catch(() => {});
    try {
      // the first connection per side is the probe; the others connect while the plan is built
      await Promise.all([
        warmPool(sourceDb, concurrency).catch((err: unknown) => {
          throw connectionError(err, 'source', env.source.url);
        }),
        warmPool(targetDb, concurrency).catch((err: unknown) => {
          throw connectionError(err, 'target', env.target.url);
        }),
      ]);
      const [mapped, form, lagAware] = await Promise.all([
        this.mappedTables(sourceDb, mappings, options.tables),
        negotiateForm(sourceDb, targetDb, env.validation.floatTolerance),
        this.lagAware(options),
      ]);
      const plans = await Promise.all(mapped.map((t) => buildTablePlan(t, sourceDb, targetDb)));
      const deadLetters = await readDeadLetterIds(targetDb, plans);
      const contexts = new Map<string, ChunkContext>();
      for (const plan of plans) {
        let transformer: RowTransformer | undefined;
        if (plan.viaTransformer) {
          const created = await createRowTransformer(plan.mapped);
          transformers.push(created);
          transformer = created;
          this.out.info('validate', `${plan.source}: an expression has no PostgreSQL form; its rows go through the row transformer`);
        }
        contexts.set(plan.source, { plan, sourceDb, targetDb, form, transformer, deadLetterIds: deadLetters.get(plan.source)! });
      }
      // chunks sized to pacing.chunkTargetMs (whole buckets) checkpoint by first bucket, fixed ones by number
      const adaptive = !options.frozen && !options.refreshBaseline && (this.options.throttler?.chunkRows('validate') ?? null) !== null;
      // the baseline's fingerprint leaves the chunking mode out: the frozen check reads changed keys, not
      // chunks, so a full validation in adapted chunks must still serve it (at 1,000,000 orders the hold
      // otherwise compared every row and never fitted its budget); a resumed run must match chunking too
      const fingerprint = this.fingerprint(plans, form);
      const checkpointKey = adaptive ? `${fingerprint}:adaptive` : fingerprint;
      const whole = !options.tables?.length;
      let scope: ValidationScope | undefined;
      if (options.refreshBaseline) {
        // just before the write hold: the changed rows, live, and the baseline moved up when equal
        const baseline = readBaseline(env.stateDir);
        const refusal = !whole
          ? 'a baseline covers every table: --table narrows the check'
          : lagAware?.truth !== 'source'
            ? 'replication is not streaming'
            : await baselineRefusal(baseline, fingerprint, targetDb).catch((err: Error) => `the record of changed keys could not be read: ${err.message}`);
        if (!refusal) return await this.validateChanged(baseline!, plans, contexts, sourceDb, targetDb, options, startedAt, fingerprint);
        this.out.info('validate', `the baseline of the frozen check stays where it is: ${refusal}`);
        return this.notRefreshed(startedAt, refusal);
      }
      if (options.frozen && whole) {
        // inside the write hold: only the rows changed since the last passing full validation
        const baseline = readBaseline(env.stateDir);
        const refusal = await baselineRefusal(baseline, fingerprint, targetDb).catch((err: Error) => `the record of changed keys could not be read: ${err.message}`);
        if (!refusal) return await this.validateChanged(baseline!, plans, contexts, sourceDb, targetDb, options, startedAt, fingerprint);
        scope = { kind: 'full', reason: refusal };
        this.out.info('validate', `the frozen validation compares every row: ${refusal}`);
      }
      // a full validation of every table records where it started, for the frozen check at the switch
      const baselineStart = !options.frozen && whole && lagAware?.truth === 'source' ? await this.baselineStart(targetDb) : null;
      const checkpoint = new ValidationCheckpoint(env.stateDir, checkpointKey, this.now);
      if (checkpoint.resumed) this.out.info('validate', `resuming the validation started ${checkpoint.startedAt} (${checkpoint.finishedChunks} chunk(s) already compared)`);

      // the write hold's check runs at full speed: every second of it holds the business's writes
      const throttler = options.frozen ? undefined : this.options.throttler;
      throttler?.reset();
      const limiter = new TaskLimiter(concurrency);
      let boundaryRows = 0;
      const ranges = new Map<string, KeyRange[]>();
      const bucketBoundaries = new Map<string, string[][]>();
      await Promise.all(
        plans.map((plan) =>
          limiter.run(async () => {
            let boundaries = checkpoint.boundariesOf(plan.source);
            if (!boundaries) {
              const found = await chunkBoundaries(sourceDb, plan, Math.max(1, Math.ceil(env.validation.chunkRows / BUCKETS_PER_CHUNK)));
              boundaryRows += found.rowsFetched;
              boundaries = found.boundaries;
              checkpoint.recordBoundaries(plan.source, boundaries);
            }
            ranges.set(plan.source, chunkRanges(boundaries));
            bucketBoundaries.set(plan.source, boundaries);
          }),
        ),
      );

      let done = 0;
      let mismatchedSoFar = 0;
      let rowsSoFar = 0;
      const chunkRate = new ProgressRate();
      const rowRate = new ProgressRate();
      let resumedChunks = 0;
      let recheckedChunks = 0;
      const results = new Map<string, ChunkResult[]>(plans.map((p) => [p.source, []]));
      // adaptive: progress counts buckets (a chunk is a run of them); fixed: chunks
      const unitsOf = (plan: TablePlan) => (adaptive ? bucketsOf(plan) : ranges.get(plan.source)!.length);
      const bucketsOf = (plan: TablePlan) => ranges.get(plan.source)!.reduce((n, r) => n + (r.splits?.length ?? 0) + 1, 0);
      const total = plans.reduce((n, p) => n + unitsOf(p), 0);
      const unit = adaptive ? 'buckets' : 'chunks';
      const finish = (plan: TablePlan, result: ChunkResult, units: number, resumed: boolean, rechecked: boolean) => {
        if (resumed) resumedChunks++;
        if (rechecked) recheckedChunks++;
        results.get(plan.source)!.push(result);
        done += units;
        if (result.mismatched) mismatchedSoFar++;
        rowsSoFar += result.sourceRows + result.targetRows;
        this.out.progress({ topic: 'validate', done, total, unit, figures: { mismatched: mismatchedSoFar, 'rows/s': Math.round(rowRate.update(rowsSoFar).perSecond), eta: chunkRate.figures(done, total, unit).eta!, ...throttler?.progressFigures(`validate ${plan.source}`) } });
      };
      const batches = new Map(
        plans.map((plan) => {
          const unhashed = adaptive
            ? bucketsOf(plan)
            : ranges.get(plan.source)!.filter((_, index) => !checkpoint.finishedChunk(plan.source, index)).length;
          return [plan.source, new MismatchBatches(contexts.get(plan.source)!, unhashed, concurrency)];
        }),
      );
      const slots: ChunkSlots = { hash: limiter, followUp: new TaskLimiter(concurrency), batches };
      const tasks: Promise<void>[] = [];
      for (const plan of plans) {
        const ctx = contexts.get(plan.source)!;
        if (adaptive) {
          tasks.push(this.compareAdaptive(ctx, bucketBoundaries.get(plan.source)!, checkpoint, lagAware, slots, throttler!, options.signal, (result, units, resumed, rechecked) => finish(plan, result, units, resumed, rechecked)));
          continue;
        }
        ranges.get(plan.source)!.forEach((range, index) => {
          tasks.push(
            (async () => {
              const resumed = checkpoint.finishedChunk(plan.source, index);
              if (resumed) return finish(plan, resumed, 1, true, false);
              const compared = await this.compareChunk(ctx, range, index, lagAware, slots, options.signal, throttler);
              checkpoint.recordChunk(compared.result);
              finish(plan, compared.result, 1, false, compared.rechecked);
            })(),
          );
        });
      }
      await Promise.all(tasks);
      this.out.done('validate');

      const reconciliation = await reconcile(
        reconcileToo ? env.validation.reconciliation : [],
        sourceDb,
        targetDb,
        lagAware ? { replicator: lagAware.replicator, truth: lagAware.truth, rounds: this.recheckRounds, timeoutMs: this.recheckTimeoutMs, out: this.out } : undefined,
      );
      const tables = plans.map((plan) => tableDiff(plan, results.get(plan.source)!));
      if (!options.frozen && !options.refreshBaseline) {
        await refuseFilteredToNothing(
          plans.map((plan, i) => ({
            table: tables[i]!,
            mapped: plan.mapped,
            filterSql: plan.filterSql,
            hasRows: async () => (await sourceDb.query(`select exists (select 1 from ${plan.sourceRelation}) as e`)).rows[0]?.e === true,
          })),
        );
      }
      const all = [...results.values()].flat();
      const repairs = plans.flatMap((p) => results.get(p.source)!.sort((a, b) => a.index - b.index).flatMap((r) => r.repair));
      const equal =
        tables.every(tableEqual) && reconciliation.every((r) => r.equal || r.inFlight);
      let repaired: number | undefined;
      if (options.repairSqlFile) {
        writeFileSync(options.repairSqlFile, repairScript(repairs));
        this.out.info('validate', `${repairs.length} repair statement(s) written to ${options.repairSqlFile}`);
      }
      if (options.repair && repairs.length) repaired = (await applyRepairs(targetDb, repairs, env.target.url)).applied;
      checkpoint.finish(this.now);
      if (!options.frozen && whole) {
        await settleBaseline({
          stateDir: env.stateDir,
          targetDb,
          baselineStart,
          equal,
          kept: equal && !checkpoint.resumed && !repaired,
          fingerprint,
          startedAt,
          finishedAt: this.now().toISOString(),
          lsnOf: (position) => position,
          warn: (message) => this.out.warn('validate', message),
        });
      }
      const report: PostgresValidationReport = {
        equal,
        tables,
        reconciliation,
        startedAt,
        finishedAt: this.now().toISOString(),
        figures: {
          rowsCompared: all.reduce((n, r) => n + r.sourceRows + r.targetRows, 0),
          rowsFetched: boundaryRows + all.reduce((n, r) => n + r.rowsFetched, 0),
          chunks: all.length,
          mismatchedChunks: all.filter((r) => r.mismatched).length,
          resumedChunks,
          recheckedChunks,
          unexplainedChunks: all.filter((r) => r.mismatched && !r.missing.length && !r.extra.length && !r.different.length && !r.deadLetter.length && !r.inFlight).length,
        },
        ...(repaired !== undefined ? { repaired } : {}),
        ...(options.repairSqlFile ? { repairSqlFile: options.repairSqlFile } : {}),
        ...(scope ? { scope } : {}),
        ...(throttler ? { pacing: throttler.figures() } : {}),
      };
      this.summarize(report);
      if (options.frozen && report.figures.unexplainedChunks) {
        this.out.warn(
          'validate',
          `${report.figures.unexplainedChunks} chunk(s) hashed differently although every row compared equal: expected only for values within validation.floatTolerance; otherwise the hashed and the compared forms disagree — please report it with the table's column types`,
        );
      }
      return report;
    } finally {
      for (const t of transformers) t.close();
      await Promise.all([sourceDb.end().catch(() => {}), targetDb.end().catch(() => {})]);
    }
  }

  /**
   * Where a full validation starts: the source position before any row is read, the forward
   * streams it relies on, and the worker's change counters once the target applied that position.
   * Null when the kit's forward worker keeps no record of changed keys (a frozen check is then full).
   */
  private async baselineStart(targetDb: pg.Pool): Promise<Pick<ValidationBaseline, 'position' | 'streams' | 'applied'> | null> {
    const replicator = this.replicator;
    if (!replicator || replicator.direction !== 'forward') return null;
    try {
      const streams = await readStreams(targetDb, forwardSlots(this.env));
      if (!streams || streams.some((s) => !s.complete)) return null;
      // before the position is read: the workers' pruning keeps the record of changed keys from here on
      await holdChangedKeys(targetDb, streams.map((s) => s.slot));
      const position = await replicator.sourcePosition();
      const applied = (await replicator.waitForPosition(position, 5000)) ? await appliedCounters(replicator) : null;
      return { position, streams: streams.map(({ slot, consistentLsn }) => ({ slot, consistentLsn })), applied };
    } catch {
      return null;
    }
  }

  /**
   * The frozen check inside the write hold: the rows changed since the last passing full
   * validation (changed-rows.ts), by key on both sides, and in full the tables it cannot narrow;
   * then the reconciliation. Fails (throws) when a recorded key that should name a row finds none
   * on the source: the record would not reach what changed.
   */
  private async validateChanged(
    baseline: ValidationBaseline,
    plans: readonly TablePlan[],
    contexts: ReadonlyMap<string, ChunkContext>,
    sourceDb: pg.Pool,
    targetDb: pg.Pool,
    options: InternalValidateOptions,
    startedAt: string,
    fingerprint: string,
  ): Promise<PostgresValidationReport> {
    // live (refreshBaseline): where the new baseline would start, read before any key or row
    const live = options.refreshBaseline === true;
    const newStart = live ? await this.baselineStart(targetDb) : null;
    if (live && !newStart) return this.notRefreshed(startedAt, 'the source position and the forward streams could not be read');
    // every change before the new start must be applied (so its key is recorded) before the keys are read: older keys are pruned after
    if (live && !(await this.replicator!.waitForPosition(newStart!.position, this.recheckTimeoutMs, options.signal))) {
      return this.notRefreshed(startedAt, `green did not apply the source position ${newStart!.position} within ${this.recheckTimeoutMs} ms`);
    }
    const changes = await readChangedKeys(targetDb, baseline.streams.map((s) => s.slot), baseline.position);
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
    const full = new Set(fullTables.map((f) => f.table));
    if (live && fullTables.length) return this.notRefreshed(startedAt, `tables to compare in full: ${fullTables.map((f) => `${f.table} (${f.reason})`).join(', ')}`);
    const narrowed = plans.filter((p) => !full.has(p.source) && changes.get(p.source)?.keys.length);
    const changedRows = narrowed.reduce((n, p) => n + changes.get(p.source)!.keys.length, 0);
    this.out.info(
      'validate',
      `${live ? 'changed rows before the write hold' : 'frozen validation'}: ${changedRows} row(s) changed in ${narrowed.length} table(s) since the full validation that started at ${baseline.position} (finished ${baseline.finishedAt})` +
        (fullTables.length ? `; compared in full: ${fullTables.map((f) => `${f.table} (${f.reason})`).join(', ')}` : ''),
    );
    const limiter = new TaskLimiter(this.env.validation.concurrency);
    const results = new Map<string, ChunkResult[]>(plans.filter((p) => !full.has(p.source)).map((p) => [p.source, []]));
    const total = narrowed.reduce((n, p) => n + keyRanges(changes.get(p.source)!.keys).length, 0);
    let done = 0;
    const tasks: Promise<void>[] = [];
    for (const plan of narrowed) {
      const ctx = contexts.get(plan.source)!;
      const keys = changes.get(plan.source)!.keys;
      const present = keys.filter((k) => k.present);
      // live, a row deleted on the source may not be deleted on the target yet: the frozen check counts
      if (!live) tasks.push(
        limiter.run(async () => {
          const found = await countOnSource(sourceDb, plan, present);
          if (found < present.length) {
            throw new CutoverError('INTERNAL', `the frozen validation found ${found} of ${present.length} changed row(s) of ${plan.source} on the source by their recorded keys`, {
              received: `${present.length - found} recorded key(s) name no source row`,
              fix: 'the record of changed keys does not reach the rows it names; run `cutover validate` (a full comparison) and report this with the table\'s key types',
            });
          }
        }),
      );
      keyRanges(keys).forEach((range, index) =>
        tasks.push(
          limiter.run(async () => {
            if (options.signal?.aborted) throw new CutoverError('ABORTED', 'validation aborted', { fix: 'run `cutover switch` again' });
            const [src, tgt] = await Promise.all([sourceRows(ctx, range), targetRows(ctx, range)]);
            let diff = diffChunkRows(plan, src.rows, tgt, { floatTolerance: ctx.form.floatTolerance, deadLetterIds: ctx.deadLetterIds });
            let inFlight = 0;
            if (live && diff.missing.length + diff.extra.length + diff.different.length > 0) {
              // replication runs: rows that differ now are re-read as it catches up; only persisting ones count
              const outcome = await recheckRows(ctx, range, diff, { replicator: this.replicator!, rounds: this.recheckRounds, deadline: Date.now() + this.recheckTimeoutMs });
              ({ diff, inFlight } = outcome);
            }
            const differs = diff.missing.length + diff.extra.length + diff.different.length > 0;
            results.get(plan.source)!.push({
              table: plan.source,
              index,
              sourceRows: src.rows.length,
              targetRows: tgt.length,
              mismatched: differs,
              missing: diff.missing.map((e) => e.key),
              extra: diff.extra.map((e) => e.key),
              different: diff.different.map((e) => e.key),
              deadLetter: diff.deadLetter.map((e) => e.key),
              samples: diff.samples,
              inFlight,
              rowsFetched: src.fetched + tgt.length,
              repair: [...diff.missing, ...diff.extra, ...diff.different].flatMap((e) => (e.repair ? [e.repair] : [])),
            });
            this.out.progress({ topic: 'validate', done: ++done, total, unit: 'key batches' });
          }),
        ),
      );
    }
    await Promise.all(tasks);
    if (total) this.out.done('validate');
    const wholeTables = fullTables.length ? await this.run({ frozen: true, tables: fullTables.map((f) => f.table), signal: options.signal }, false) : null;
    // live, the reconciliation is left to the frozen check (its aggregates differ while writes flow)
    const reconcileStarted = performance.now();
    const reconciliation = live ? [] : await reconcile(this.env.validation.reconciliation, sourceDb, targetDb);
    const reconciliationMs = Math.round(performance.now() - reconcileStarted);
    const tables = plans.map((plan) => wholeTables?.tables.find((t) => t.source === plan.source) ?? tableDiff(plan, results.get(plan.source)!));
    const all = [...results.values()].flat();
    const equal = tables.every(tableEqual) && reconciliation.every((r) => r.equal);
    const report: PostgresValidationReport = {
      equal,
      tables,
      reconciliation,
      startedAt,
      finishedAt: this.now().toISOString(),
      figures: {
        rowsCompared: all.reduce((n, r) => n + r.sourceRows + r.targetRows, 0) + (wholeTables?.figures.rowsCompared ?? 0),
        rowsFetched: all.reduce((n, r) => n + r.rowsFetched, 0) + (wholeTables?.figures.rowsFetched ?? 0),
        chunks: all.length + (wholeTables?.figures.chunks ?? 0),
        mismatchedChunks: all.filter((r) => r.mismatched).length + (wholeTables?.figures.mismatchedChunks ?? 0),
        resumedChunks: 0,
        recheckedChunks: 0,
        unexplainedChunks: wholeTables?.figures.unexplainedChunks ?? 0,
        ...(live ? {} : { reconciliationMs }),
      },
      scope: { kind: 'changed-rows', since: baseline.position, baselineFinishedAt: baseline.finishedAt, changedRows, tablesWithChanges: narrowed.length, fullTables },
      ...(live ? { baselineRefreshed: equal } : {}),
    };
    if (live && newStart) {
      if (equal) {
        // every row changed since the old baseline equals green now: the frozen check need only look at changes from `newStart` on
        writeBaseline(this.env.stateDir, { version: 1, ...newStart, fingerprint, startedAt, finishedAt: report.finishedAt });
        await pruneChangedKeys(targetDb, newStart.streams.map((s) => s.slot), newStart.position).catch((err: Error) =>
          this.out.warn('validate', `the record of changed keys before ${newStart.position} was not pruned: ${err.message}`),
        );
        this.out.ok('validate', `${changedRows} changed row(s) equal on both sides: the frozen check now starts at ${newStart.position}`);
      } else {
        // the old baseline stays: the frozen check compares these rows again, frozen, and decides
        this.out.warn('validate', `changed rows still differ after re-checks; the baseline stays at ${baseline.position} and the frozen check compares them`);
      }
      return report;
    }
    this.summarize(report);
    return report;
  }

  /** A `refreshBaseline` run that compared nothing: never equal, and it says why. */
  private notRefreshed(startedAt: string, reason: string): PostgresValidationReport {
    return {
      equal: false,
      tables: [],
      reconciliation: [],
      startedAt,
      finishedAt: this.now().toISOString(),
      figures: { rowsCompared: 0, rowsFetched: 0, chunks: 0, mismatchedChunks: 0, resumedChunks: 0, recheckedChunks: 0, unexplainedChunks: 0 },
      scope: { kind: 'full', reason },
      baselineRefreshed: false,
    };
  }

  /** The forward mapping resolved against the source catalog (refused when it selects nothing), narrowed to `only` when given. */
  private async mappedTables(sourceDb: pg.Pool, mappings: ReturnType<typeof loadTableMappings>, only?: readonly string[]): Promise<MappedTable[]> {
    const doc = await mappings;
    const client = await sourceDb.connect().catch((err: unknown) => {
      throw connectionError(err, 'source', this.env.source.url);
    });
    let tables: readonly MappedTable[];
    try {
      // every table the mapping selects, or an error: a validation that compared less is never equal
      const { catalog, schemas } = await readMappedCatalog(client, doc, sideScope(this.env, 'source'));
      tables = resolveSelected(doc, catalog, schemas, 'source').tables;
    } finally {
      client.release();
    }
    return onlyTables(tables, only);
  }

  /** Re-check mismatches after replication catches up only while replication is running. */
  /**
   * The stream that moves the compared rows while this validation reads them, or null (frozen, or
   * nothing streaming): forward replication (blue → green, blue is the truth) while it loads or
   * streams; otherwise, after the write switch, reverse replication (green → blue, green is).
   */
  private async lagAware(options: ValidateOptions): Promise<LagStream | null> {
    if (options.frozen) return null;
    const forward = this.replicator ? await this.replicator.status() : null;
    if (forward && (forward.phase === 'cdc' || forward.phase === 'full-load')) return { replicator: this.replicator!, truth: 'source' };
    const reverse = this.options.reverse ? await this.options.reverse.status().catch(() => null) : null;
    if (reverse?.phase !== 'cdc') return null;
    this.out.info('validate', 'writes are on green and reverse replication carries them to blue: a row that differs is read on green, then on blue once reverse replication applied green\'s position (differences only in flight are not reported)');
    return { replicator: this.options.reverse!, truth: 'target' };
  }

  private get recheckTimeoutMs(): number {
    return this.options.recheckTimeoutMs ?? Math.max(30_000, this.env.switch.catchUpTimeoutMs);
  }

  private get recheckRounds(): number {
    return Math.max(1, this.options.recheckRounds ?? RECHECK_ROUNDS);
  }

  /**
   * One chunk: hashes per bucket on both sides; a mismatching bucket is narrowed in the databases
   * to small key ranges (bucket-narrowing.ts) whose rows are shipped and diffed, together with
   * other chunks' (mismatch-batches.ts); while replication runs, the rows found different are
   * re-checked (live-recheck.ts) and only persisting ones kept.
   */
  private async compareChunk(
    ctx: ChunkContext,
    range: KeyRange,
    index: number,
    lagAware: LagStream | null,
    slots: ChunkSlots,
    signal?: AbortSignal,
    throttler?: Throttler,
  ): Promise<{ result: ChunkResult; rechecked: boolean }> {
    let hashes: ChunkHashes;
    try {
      hashes = await slots.hash.run(() => {
        throwIfAborted(signal);
        return throttler ? throttler.paced('validate', () => hashChunk(ctx, range)) : hashChunk(ctx, range);
      });
    } catch (err) {
      slots.batches.get(ctx.plan.source)!.hashed();
      throw err;
    }
    return this.settleChunk(ctx, range, index, hashes, lagAware, slots, 1);
  }

  /**
   * One table's chunks sized to `pacing.chunkTargetMs`: `validation.concurrency` readers take the
   * next run of buckets as a hash slot frees, as many as the throttler's chunk rows for the table
   * (at least one, at most MAX_BUCKETS_PER_CHUNK), so each chunk's size follows the rows/s of the
   * ones before it. A chunk is checkpointed under its first bucket, with its bucket count.
   */
  private async compareAdaptive(
    ctx: ChunkContext,
    boundaries: readonly (readonly string[])[],
    checkpoint: ValidationCheckpoint,
    lagAware: LagStream | null,
    slots: ChunkSlots,
    throttler: Throttler,
    signal: AbortSignal | undefined,
    finish: (result: ChunkResult, buckets: number, resumed: boolean, rechecked: boolean) => void,
  ): Promise<void> {
    const table = ctx.plan.source;
    const key = `validate ${table}`;
    const buckets = boundaries.length + 1;
    const bucketRows = Math.max(1, Math.ceil(this.env.validation.chunkRows / BUCKETS_PER_CHUNK));
    const batches = slots.batches.get(table)!;
    let next = 0;
    const settling: Promise<void>[] = [];
    /** The next chunk to hash: finished ones (a resumed run) are replayed on the way. */
    const take = (): { first: number; count: number } | null => {
      for (;;) {
        if (next >= buckets) return null;
        const resumed = checkpoint.finishedChunk(table, next);
        if (!resumed) break;
        const count = resumed.buckets ?? BUCKETS_PER_CHUNK;
        next += count;
        batches.hashed(count);
        finish(resumed, count, true, false);
      }
      const rows = throttler.chunkRows(key) ?? bucketRows * BUCKETS_PER_CHUNK;
      const count = Math.min(buckets - next, MAX_BUCKETS_PER_CHUNK, Math.max(1, Math.round(rows / bucketRows)));
      const first = next;
      next += count;
      return { first, count };
    };
    const reader = async () => {
      for (;;) {
        let picked: { first: number; count: number } | null = null;
        let range: KeyRange | null = null;
        let hashes: ChunkHashes | null;
        try {
          hashes = await slots.hash.run(async () => {
            picked = take();
            if (!picked) return null;
            throwIfAborted(signal);
            const r = bucketsRange(boundaries, picked.first, picked.count);
            range = r;
            return throttler.paced('validate', () => hashChunk(ctx, r), { key, rows: (h) => h.sourceRows });
          });
        } catch (err) {
          const failed = picked as { count: number } | null;
          if (failed) batches.hashed(failed.count);
          throw err;
        }
        const chunk = picked as { first: number; count: number } | null;
        if (!hashes || !chunk || !range) return;
        const { first, count } = chunk;
        settling.push(
          this.settleChunk(ctx, range, first, hashes, lagAware, slots, count).then(({ result, rechecked }) => {
            const sized = { ...result, buckets: count };
            checkpoint.recordChunk(sized);
            finish(sized, count, false, rechecked);
          }),
        );
      }
    };
    const read = await Promise.allSettled(Array.from({ length: Math.max(1, this.env.validation.concurrency) }, reader));
    // a failed run leaves buckets untaken: they count as hashed, so no follow-up waits for them
    if (next < buckets) batches.hashed(buckets - next);
    next = buckets;
    const settled = await Promise.allSettled(settling);
    const failed = [...read, ...settled].find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * After a chunk's hashes: nothing different, or its mismatching buckets queued with other
   * chunks' for the follow-up (`units`: what it counts for in the table's unhashed work).
   */
  private settleChunk(
    ctx: ChunkContext,
    range: KeyRange,
    index: number,
    hashes: ChunkHashes,
    lagAware: LagStream | null,
    slots: ChunkSlots,
    units: number,
  ): Promise<{ result: ChunkResult; rechecked: boolean }> {
    const batches = slots.batches.get(ctx.plan.source)!;
    const base = { table: ctx.plan.source, index, sourceRows: hashes.sourceRows, targetRows: hashes.targetRows };
    if (!hashes.mismatchedBuckets.length) {
      batches.hashed(units);
      const none: RowKey[] = [];
      return Promise.resolve({
        result: { ...base, mismatched: false, missing: none, extra: none, different: none, deadLetter: none, samples: [], inFlight: 0, rowsFetched: hashes.rowsFetched, repair: [] },
        rechecked: false,
      });
    }
    // queued before this chunk counts as hashed, so the table's last batch includes it; the next
    // chunks' scans go on meanwhile (a difference then costs its work, not idle scan time)
    const found = batches.resolve(range, hashes);
    batches.hashed(units);
    return found.then((f) => this.resolveMismatch(ctx, range, hashes, base, lagAware, f, slots));
  }

  /** A chunk's differences as found; while replication runs, re-checked. */
  private async resolveMismatch(
    ctx: ChunkContext,
    range: KeyRange,
    hashes: ChunkHashes,
    base: Pick<ChunkResult, 'table' | 'index' | 'sourceRows' | 'targetRows'>,
    lagAware: LagStream | null,
    found: ChunkFollowUp,
    slots: ChunkSlots,
  ): Promise<{ result: ChunkResult; rechecked: boolean }> {
    let { diff } = found;
    let rowsFetched = hashes.rowsFetched + found.rowsFetched;
    let inFlight = 0;
    let rechecked = false;
    const differs = diff.missing.length + diff.extra.length + diff.different.length > 0;
    if (lagAware && differs) {
      // the mismatching buckets' span (buckets are in key order)
      const buckets = hashes.mismatchedBuckets;
      const hashed = hashedRange(ctx, range);
      const span: KeyRange = { lower: bucketRange(hashed, buckets[0]!).lower, upper: bucketRange(hashed, buckets[buckets.length - 1]!).upper };
      const outcome = await slots.followUp.run(() => {
        const live: LiveRecheck = { replicator: lagAware.replicator, truth: lagAware.truth, rounds: this.recheckRounds, deadline: Date.now() + this.recheckTimeoutMs };
        return recheckRows(ctx, span, diff, live);
      });
      if (outcome.timedOut) this.out.warn('validate', `${ctx.plan.source}: replication did not reach ${outcome.timedOut} within ${this.recheckTimeoutMs} ms; reporting what still differed`);
      ({ diff, inFlight } = outcome);
      rowsFetched += outcome.rowsFetched;
      rechecked = true;
    }
    return {
      result: {
        ...base,
        mismatched: true,
        missing: diff.missing.map((e) => e.key),
        extra: diff.extra.map((e) => e.key),
        different: diff.different.map((e) => e.key),
        deadLetter: diff.deadLetter.map((e) => e.key),
        samples: diff.samples,
        inFlight,
        rowsFetched,
        repair: [...diff.missing, ...diff.extra, ...diff.different].flatMap((e) => (e.repair ? [e.repair] : [])),
      },
      rechecked,
    };
  }

  /** Same tables, columns, normalization and chunk size = the same run (resumable). */
  private fingerprint(plans: readonly TablePlan[], form: FormOptions): string {
    const shape = {
      source: describeEndpoint(this.env.source.url),
      target: describeEndpoint(this.env.target.url),
      chunkRows: this.env.validation.chunkRows,
      form,
      tables: plans.map((p) => ({ s: p.source, t: p.target, k: p.keys, c: p.columns, f: p.filterSql, x: p.viaTransformer, o: p.collateC })),
    };
    return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
  }

  private summarize(report: PostgresValidationReport): void {
    for (const t of report.tables) {
      const { differs, text } = tableLine(t);
      if (differs) this.out.warn('validate', text);
      else this.out.ok('validate', text);
    }
    for (const r of report.reconciliation) {
      if (r.equal) this.out.ok('validate', `reconciliation ${r.name}: equal`);
      else if (r.inFlight) {
        this.out.warn(
          'validate',
          `reconciliation ${r.name}: still different after ${this.recheckRounds} aligned round(s) while replication runs (in flight, not failing this validation; the frozen validation at the write switch decides): ${firstDifference(r.source, r.target)}`,
        );
      } else this.out.warn('validate', `reconciliation ${r.name}: FAILED: ${firstDifference(r.source, r.target)}`);
    }
  }
}

function tableDiff(plan: TablePlan, chunks: ChunkResult[]): TableDiff {
  chunks.sort((a, b) => a.index - b.index);
  const samples: ColumnSample[] = [];
  for (const c of chunks) for (const s of c.samples) if (samples.length < SAMPLES_PER_TABLE) samples.push(s);
  return {
    source: plan.source,
    target: plan.target,
    sourceRows: chunks.reduce((n, c) => n + c.sourceRows, 0),
    targetRows: chunks.reduce((n, c) => n + c.targetRows, 0),
    missing: chunks.flatMap((c) => c.missing),
    extra: chunks.flatMap((c) => c.extra),
    different: chunks.flatMap((c) => c.different),
    samples,
    inFlight: chunks.reduce((n, c) => n + c.inFlight, 0),
    deadLetter: chunks.flatMap((c) => c.deadLetter),
    chunks: { total: chunks.length, mismatched: chunks.filter((c) => c.mismatched).length },
  };
}

/** Adapted chunks span at most this many buckets: one hash statement has an arm per bucket. */
const MAX_BUCKETS_PER_CHUNK = 64;
