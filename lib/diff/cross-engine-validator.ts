import { writeFileSync } from 'node:fs';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { createRowTransformer, loadTableMappings } from '../mappings/index.ts';
import { resolveSelected, schemasToRead, sideScope } from '../mappings/mapped-schemas.ts';
import type { MappedTable, RowTransformer } from '../mappings/types.ts';
import type { Output } from '../output/output.ts';
import type { ColumnSample, Replicator, RowKey, TableDiff, ValidateOptions, ValidationReport, Validator } from '../platform/roles.ts';
import { openDiffSide, type DiffSide } from './diff-side.ts';
import { floatDigits, floatsAgree } from './normalized-form.ts';
import { repairScript } from './repair-sql.ts';
import { literal } from './sql-text.ts';
import { TaskLimiter } from './task-limiter.ts';
import { floatOfCanonical, formOfTargetType, jsonCanonical, type FormMode, type ValueDialect, type ValueForm } from './value-dialect.ts';

/** Column-level samples kept per table in the report. */
const SAMPLES_PER_TABLE = 10;
/** A differing range with more rows than this is narrowed before its rows are shipped. */
const NARROW_TO_ROWS = 256;
/** Sub-ranges per narrowing step. */
const NARROW_WAYS = 16;
/** Key-hash buckets one rows statement reads at most. */
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
  transformer?: RowTransformer;
}

/** A unit of comparison: an integer key range [lower, upper), or key-hash buckets `bucket mod of`. */
type Unit = { readonly kind: 'range'; readonly lower: string | null; readonly upper: string | null } | { readonly kind: 'buckets'; readonly of: number; readonly buckets: readonly number[] };

type Row = readonly (string | null)[];

interface UnitResult {
  sourceRows: number;
  targetRows: number;
  mismatched: boolean;
  rowsFetched: number;
  missing: RowKey[];
  extra: RowKey[];
  different: RowKey[];
  samples: ColumnSample[];
  repair: string[];
}

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
 * grouped by the md5 of its canonical text modulo the bucket count — computed by both engines
 * from the same bytes, in one scan per side, never by either engine's ORDER BY.
 */
export class CrossEngineValidator implements Validator {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    private readonly replicator?: Replicator,
  ) {}

  async validate(options: ValidateOptions = {}): Promise<ValidationReport> {
    const startedAt = new Date().toISOString();
    const { env } = this;
    const concurrency = env.validation.concurrency;
    const source = openDiffSide(env.source.url, concurrency, 'source');
    const target = openDiffSide(env.target.url, concurrency, 'target');
    const plans: CrossPlan[] = [];
    try {
      await Promise.all([source.warm(1), target.warm(1)]);
      const mode: FormMode = { mode: 'hash', floatDigits: env.validation.floatTolerance > 0 ? Math.min(15, floatDigits(env.validation.floatTolerance)) : null };
      plans.push(...(await this.plans(source, target, options.tables)));
      const limiter = new TaskLimiter(concurrency);
      const units = new Map<CrossPlan, Unit[]>();
      await Promise.all(plans.map((p) => limiter.run(async () => units.set(p, await this.units(p, source, target)))));
      const total = [...units.values()].reduce((n, u) => n + u.length, 0);
      let done = 0;
      const results = new Map<CrossPlan, UnitResult[]>(plans.map((p) => [p, []]));
      await Promise.all(
        plans.flatMap((plan) =>
          units.get(plan)!.map((unit) =>
            limiter.run(async () => {
              if (options.signal?.aborted) throw new CutoverError('ABORTED', 'validation aborted', { fix: 'run `cutover validate` again' });
              results.get(plan)!.push(await this.compareUnit(plan, unit, source, target, mode));
              this.out.progress({ topic: 'validate', done: ++done, total, unit: 'chunks' });
            }),
          ),
        ),
      );
      this.out.done('validate');
      if (!options.frozen && this.replicator && results.size) await this.recheck(results, source, target);
      const reconciliation = await this.reconcile(source, target);
      const tables = plans.map((p) => tableDiff(p, results.get(p)!));
      const all = [...results.values()].flat();
      const repairs = all.flatMap((r) => r.repair);
      if (options.repairSqlFile) {
        writeFileSync(options.repairSqlFile, repairScript(repairs));
        this.out.info('validate', `${repairs.length} repair statement(s) written to ${options.repairSqlFile}`);
      }
      if (options.repair && repairs.length) {
        throw new CutoverError('NOT_SUPPORTED', 'validate --repair between different engines is not applied by the kit', {
          fix: 'write the statements with --repair-sql FILE, review them, and run them on the target with psql',
        });
      }
      const report: ValidationReport = {
        equal: tables.every((t) => !t.missing.length && !t.extra.length && !t.different.length) && reconciliation.every((r) => r.equal),
        tables,
        reconciliation,
        startedAt,
        finishedAt: new Date().toISOString(),
        figures: {
          rowsCompared: all.reduce((n, r) => n + r.sourceRows + r.targetRows, 0),
          rowsFetched: all.reduce((n, r) => n + r.rowsFetched, 0),
          chunks: all.length,
          mismatchedChunks: all.filter((r) => r.mismatched).length,
        },
      };
      for (const t of tables) {
        const text = `${t.source} -> ${t.target}: ${t.sourceRows} / ${t.targetRows} rows, ${t.missing.length} missing, ${t.extra.length} extra, ${t.different.length} different`;
        if (t.missing.length || t.extra.length || t.different.length) this.out.warn('validate', text);
        else this.out.ok('validate', text);
      }
      return report;
    } finally {
      for (const p of plans) p.transformer?.close();
      await Promise.all([source.close().catch(() => {}), target.close().catch(() => {})]);
    }
  }

  /** The forward mapping resolved against the source catalog; every selected table planned. */
  private async plans(source: DiffSide, target: DiffSide, only?: readonly string[]): Promise<CrossPlan[]> {
    const doc = await loadTableMappings(this.env.mappingFiles.forward);
    const schemas = schemasToRead(doc, sideScope(this.env, 'source'));
    const { catalog, nativeTypes } = await source.catalog(schemas);
    let tables = resolveSelected(doc, catalog, schemas, 'source').tables;
    if (only?.length) {
      const unknown = only.filter((n) => !tables.some((t) => `${t.source.schema}.${t.source.table}` === n));
      if (unknown.length) {
        throw new CutoverError('USAGE', `not selected by the forward mapping: ${unknown.join(', ')}`, {
          received: unknown,
          allowed: tables.map((t) => `${t.source.schema}.${t.source.table}`).join(', '),
          fix: 'name source tables as schema.table, as the mapping selects them',
        });
      }
      tables = tables.filter((t) => only.includes(`${t.source.schema}.${t.source.table}`));
    }
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
    const of = Math.max(1, Math.ceil(Number(count ?? 0) / chunkRows));
    return [{ kind: 'buckets', of, buckets: [] }];
  }

  private async compareUnit(plan: CrossPlan, unit: Unit, source: DiffSide, target: DiffSide, mode: FormMode): Promise<UnitResult> {
    const result: UnitResult = { sourceRows: 0, targetRows: 0, mismatched: false, rowsFetched: 0, missing: [], extra: [], different: [], samples: [], repair: [] };
    if (unit.kind === 'buckets' && !unit.buckets.length) {
      // one scan per side groups every bucket; then the differing buckets are diffed
      const [sh, th] = await Promise.all([source.rows(...bucketHashQuery(plan, source, 'source', unit.of, mode)), target.rows(...bucketHashQuery(plan, target, 'target', unit.of, mode))]);
      const sm = new Map(sh.map((r) => [Number(r[0]), r]));
      const tm = new Map(th.map((r) => [Number(r[0]), r]));
      const differing: number[] = [];
      for (const b of new Set([...sm.keys(), ...tm.keys()])) {
        const a = sm.get(b);
        const c = tm.get(b);
        result.sourceRows += Number(a?.[1] ?? 0);
        result.targetRows += Number(c?.[1] ?? 0);
        if (plan.rowsAlways || a?.[1] !== c?.[1] || a?.[2] !== c?.[2]) differing.push(b);
      }
      for (let i = 0; i < differing.length; i += BUCKETS_PER_STATEMENT) {
        const part = await this.diffRows(plan, { kind: 'buckets', of: unit.of, buckets: differing.slice(i, i + BUCKETS_PER_STATEMENT) }, source, target);
        merge(result, part);
      }
      result.mismatched = differing.length > 0;
      return result;
    }
    const [[[sc, ss]], [[tc, ts]]] = (await Promise.all([source.rows(...hashQuery(plan, source, 'source', unit, mode)), target.rows(...hashQuery(plan, target, 'target', unit, mode))])) as [Row[], Row[]];
    result.sourceRows = Number(sc ?? 0);
    result.targetRows = Number(tc ?? 0);
    if (!plan.rowsAlways && sc === tc && ss === ts) return result;
    result.mismatched = true;
    if (plan.rowsAlways || unit.kind !== 'range' || Math.max(result.sourceRows, result.targetRows) <= NARROW_TO_ROWS) merge(result, await this.diffRows(plan, unit, source, target));
    else merge(result, await this.narrow(plan, unit, source, target, mode));
    return result;
  }

  /**
   * A differing integer-key range, cut into NARROW_WAYS sub-ranges hashed in one statement per
   * side; only differing sub-ranges go on (recursively) until they hold at most NARROW_TO_ROWS
   * rows, which are shipped and diffed. A few scattered differences then ship a few hundred rows
   * each instead of whole chunks.
   */
  private async narrow(plan: CrossPlan, unit: Unit & { kind: 'range' }, source: DiffSide, target: DiffSide, mode: FormMode): Promise<UnitResult> {
    const result: UnitResult = { sourceRows: 0, targetRows: 0, mismatched: true, rowsFetched: 0, missing: [], extra: [], different: [], samples: [], repair: [] };
    const [[[smin, smax]], [[tmin, tmax]]] = (await Promise.all([
      source.rows(...boundsQuery(plan, source, 'source', unit)),
      target.rows(...boundsQuery(plan, target, 'target', unit)),
    ])) as [Row[], Row[]];
    const lows = [smin, tmin].filter((v): v is string => v != null).map(BigInt);
    const highs = [smax, tmax].filter((v): v is string => v != null).map(BigInt);
    if (!lows.length) return result;
    const lo = lows.reduce((a, b) => (a < b ? a : b));
    const hi = highs.reduce((a, b) => (a > b ? a : b));
    const step = (hi - lo + BigInt(NARROW_WAYS)) / BigInt(NARROW_WAYS);
    if (step <= 1n) return this.diffRows(plan, unit, source, target);
    const [sg, tg] = await Promise.all([
      source.rows(...groupHashQuery(plan, source, 'source', unit, lo, step, mode)),
      target.rows(...groupHashQuery(plan, target, 'target', unit, lo, step, mode)),
    ]);
    const sm = new Map(sg.map((r) => [Number(r[0]), r]));
    const tm = new Map(tg.map((r) => [Number(r[0]), r]));
    for (const g of new Set([...sm.keys(), ...tm.keys()])) {
      const a = sm.get(g);
      const b = tm.get(g);
      if (a?.[1] === b?.[1] && a?.[2] === b?.[2]) continue;
      const sub: Unit & { kind: 'range' } = { kind: 'range', lower: String(lo + step * BigInt(g)), upper: String(lo + step * BigInt(g + 1)) };
      const rows = Math.max(Number(a?.[1] ?? 0), Number(b?.[1] ?? 0));
      merge(result, rows <= NARROW_TO_ROWS ? await this.diffRows(plan, sub, source, target) : await this.narrow(plan, sub, source, target, mode));
    }
    return result;
  }

  /** Ships the unit's rows from both sides and diffs them to the row and column. */
  private async diffRows(plan: CrossPlan, unit: Unit, source: DiffSide, target: DiffSide): Promise<UnitResult> {
    const [srcRows, tgtRows] = await Promise.all([source.rows(...rowsQuery(plan, source, 'source', unit)), target.rows(...rowsQuery(plan, target, 'target', unit))]);
    const nk = plan.keys.length;
    const nc = plan.columns.length;
    const src = srcRows.map((r) => this.sourceRow(plan, r, nk, nc));
    const result: UnitResult = { sourceRows: 0, targetRows: 0, mismatched: false, rowsFetched: srcRows.length + tgtRows.length, missing: [], extra: [], different: [], samples: [], repair: [] };
    const targetById = new Map<string, Row>();
    for (const r of tgtRows) targetById.set(JSON.stringify(r.slice(0, nk)), r);
    const seen = new Set<string>();
    for (const s of src) {
      const id = JSON.stringify(s.slice(0, nk));
      seen.add(id);
      const t = targetById.get(id);
      const key = rowKey(plan, s.slice(0, nk));
      if (!t) {
        result.missing.push(key);
        result.repair.push(insertSql(plan, s.slice(0, nk), s.slice(nk)));
        continue;
      }
      const changed: number[] = [];
      plan.columns.forEach((c, i) => {
        if (!sameValue(c.form, s[nk + i] ?? null, t[nk + i] ?? null, this.env.validation.floatTolerance)) changed.push(i);
      });
      if (changed.length) {
        result.different.push(key);
        for (const i of changed.slice(0, 3)) result.samples.push({ key, column: plan.columns[i]!.target, source: display(plan.columns[i]!, s[nk + i] ?? null), target: display(plan.columns[i]!, t[nk + i] ?? null) });
        result.repair.push(updateSql(plan, s.slice(0, nk), changed.map((i) => ({ column: i, value: s[nk + i] ?? null }))));
      }
    }
    for (const [id, t] of targetById) {
      if (seen.has(id)) continue;
      result.extra.push(rowKey(plan, t.slice(0, nk)));
      result.repair.push(deleteSql(plan, t.slice(0, nk)));
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
  private async recheck(results: Map<CrossPlan, UnitResult[]>, source: DiffSide, target: DiffSide): Promise<void> {
    const status = await this.replicator!.status().catch(() => null);
    if (!status || (status.phase !== 'cdc' && status.phase !== 'full-load')) return;
    const differing = [...results.values()].flat().some((r) => r.missing.length || r.extra.length || r.different.length);
    if (!differing) return;
    const position = await this.replicator!.sourcePosition();
    const caughtUp = await this.replicator!.waitForPosition(position, Math.max(30_000, this.env.switch.catchUpTimeoutMs));
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
        r.repair = again.repair;
      }
    }
  }

  /** Business invariants: the source query on the source, the target query on the target, first row compared as text. */
  private async reconcile(source: DiffSide, target: DiffSide): Promise<ValidationReport['reconciliation']> {
    const out: { name: string; equal: boolean; source: unknown; target: unknown }[] = [];
    for (const r of this.env.validation.reconciliation) {
      const [s, t] = await Promise.all([source.rows(r.source), target.rows(r.target)]);
      const norm = (rows: Row[]) => (rows[0] ?? []).map((v) => (v !== null && /^-?\d+(\.\d+)?$/.test(v) ? String(Number(v)) : v));
      const a = norm(s);
      const b = norm(t);
      out.push({ name: r.name, equal: JSON.stringify(a) === JSON.stringify(b), source: a.length === 1 ? a[0] : a, target: b.length === 1 ? b[0] : b });
    }
    return out;
  }
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

function keyHash(plan: CrossPlan, d: ValueDialect, side: Side): string {
  return d.hash60(d.rowText(keyTexts(plan, d, side)));
}

/** WHERE for a unit (plus the source's filter); parameters in `params`. */
function unitWhere(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit, params: unknown[]): string {
  const d = side.dialect;
  const parts: string[] = [];
  if (unit.kind === 'range') {
    const k = plan.keys[0]!;
    const col = d.keyOperand(d.ident(which === 'source' ? k.source : k.target), which === 'source' ? k.sourceNative : k.targetNative);
    const native = which === 'source' ? k.sourceNative : k.targetNative;
    if (unit.lower !== null) parts.push(`${col} >= ${d.keyParam(params.push(unit.lower) - 1, native)}`);
    if (unit.upper !== null) parts.push(`${col} < ${d.keyParam(params.push(unit.upper) - 1, native)}`);
  } else if (unit.buckets.length) {
    parts.push(`MOD(${keyHash(plan, d, which)}, ${unit.of}) IN (${unit.buckets.map((b) => String(Math.trunc(b))).join(', ')})`);
  }
  if (which === 'source' && plan.sourceFilter) parts.push(`(${plan.sourceFilter})`);
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

function rowHashExpr(plan: CrossPlan, d: ValueDialect, side: Side, mode: FormMode): string {
  return d.hash60(d.rowText([...keyTexts(plan, d, side), ...columnTexts(plan, d, side, mode, true)]));
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

/** Per sub-range `floor((key - lo) / step)` of an integer-key range: count and hash sum. */
function groupHashQuery(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit, lo: bigint, step: bigint, mode: FormMode): [string, unknown[]] {
  const d = side.dialect;
  const k = d.ident(which === 'source' ? plan.keys[0]!.source : plan.keys[0]!.target);
  const params: unknown[] = [];
  const where = unitWhere(plan, side, which, unit, params);
  // lo and step are integers computed here (BigInt), never text from a row
  return [`SELECT FLOOR((${k} - ${lo.toString()}) / ${step.toString()}), COUNT(*), ${d.sumText(rowHashExpr(plan, d, which, mode))} FROM ${relationOf(plan, d, which)}${where} GROUP BY 1`, params];
}

function bucketHashQuery(plan: CrossPlan, side: DiffSide, which: Side, of: number, mode: FormMode): [string, unknown[]] {
  const d = side.dialect;
  const where = which === 'source' && plan.sourceFilter ? ` WHERE ${plan.sourceFilter}` : '';
  return [`SELECT MOD(${keyHash(plan, d, which)}, ${of}), COUNT(*), ${d.sumText(rowHashExpr(plan, d, which, mode))} FROM ${relationOf(plan, d, which)}${where} GROUP BY 1`, []];
}

function rowsQuery(plan: CrossPlan, side: DiffSide, which: Side, unit: Unit): [string, unknown[]] {
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
  return { kind: 'range', lower: null, upper: null };
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
  return c.form.kind === 'float' ? floatOfCanonical(v) : v;
}

/** A canonical text read back by the target type's input function (repair SQL). */
function inputText(form: ValueForm, v: string | null): string | null {
  if (v === null) return null;
  if (form.kind === 'float') return String(floatOfCanonical(v));
  return v;
}

/** A source value handed to the row transformer (SQLite semantics): numbers as numbers. */
function inputValue(form: ValueForm, v: string | null): unknown {
  if (v === null) return null;
  if (form.kind === 'integer') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (form.kind === 'float') return floatOfCanonical(v);
  if (form.kind === 'boolean') return v === 't' ? 1 : 0;
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

const pgIdent = (n: string) => '"' + n.replace(/"/g, '""') + '"';
const typed = (v: string | null, type: string) => (v === null ? 'NULL' : `${literal(v)}::${type}`);

function targetRelation(plan: CrossPlan): string {
  return `${pgIdent(plan.mapped.target.schema)}.${pgIdent(plan.mapped.target.table)}`;
}

function keyCondition(plan: CrossPlan, keys: Row): string {
  return plan.keys.map((k, i) => `${pgIdent(k.target)} = ${typed(keys[i] ?? null, k.targetNative)}`).join(' AND ');
}

function insertSql(plan: CrossPlan, keys: Row, values: Row): string {
  const cols = plan.columns.map((c) => pgIdent(c.target));
  const vals = plan.columns.map((c, i) => typed(inputText(c.form, values[i] ?? null), c.targetType));
  // a key column that is not also a compared column (never with a DMS mapping) still gets its value
  plan.keys.forEach((k, i) => {
    if (!plan.columns.some((c) => c.target === k.target)) {
      cols.push(pgIdent(k.target));
      vals.push(typed(keys[i] ?? null, k.targetNative));
    }
  });
  return `INSERT INTO ${targetRelation(plan)} (${cols.join(', ')}) VALUES (${vals.join(', ')});`;
}

function updateSql(plan: CrossPlan, keys: Row, changed: { column: number; value: string | null }[]): string {
  const sets = changed.map(({ column, value }) => `${pgIdent(plan.columns[column]!.target)} = ${typed(inputText(plan.columns[column]!.form, value), plan.columns[column]!.targetType)}`);
  return `UPDATE ${targetRelation(plan)} SET ${sets.join(', ')} WHERE ${keyCondition(plan, keys)};`;
}

function deleteSql(plan: CrossPlan, keys: Row): string {
  return `DELETE FROM ${targetRelation(plan)} WHERE ${keyCondition(plan, keys)};`;
}

function merge(into: UnitResult, part: UnitResult): void {
  into.rowsFetched += part.rowsFetched;
  into.missing.push(...part.missing);
  into.extra.push(...part.extra);
  into.different.push(...part.different);
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
    deadLetter: [],
    chunks: { total: results.length, mismatched: results.filter((r) => r.mismatched).length },
  };
}
