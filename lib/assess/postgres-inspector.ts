import pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { readColumnTypes } from '../diff/table-catalog.ts';
import { CutoverError } from '../errors.ts';
import { loadTableMappings, readMappedCatalog, resolveSelected, resolveTableMappings, sideScope } from '../mappings/index.ts';
import type { MappedTable, ResolvedMappings } from '../mappings/types.ts';
import type { Output } from '../output/output.ts';
import type { AssessReport, Finding, Inspector } from '../platform/roles.ts';
import { openTogether } from '../platform/open-together.ts';
import { connectAssessSession as connect, probeConnection } from './connection-errors.ts';
import { mappingErrorFinding, reverseMappingFindings, unmatchedRuleFindings } from './mapping-findings.ts';
import { AssessProgress } from './assess-progress.ts';
import { runQualityChecks } from './quality-checks.ts';
import { privilegeFindings } from './privilege-findings.ts';
import { replicationSettings } from './replication-settings.ts';
import { enumLabelFindings } from './enum-label-findings.ts';
import { generatedSourceFindings } from './generated-source-findings.ts';
import { filteredParentFindings } from './filtered-parent-findings.ts';
import { targetStateFindings } from './target-state-findings.ts';
import { typeFindings, type TypedColumn } from './type-findings.ts';
import { targetColumnFindings } from './target-column-findings.ts';
import { unsentValueFindings } from './unsent-value-findings.ts';
import { reverseCoverageRefusal } from './reverse-coverage-refusal.ts';

/**
 * Full-load throughput assumed for the estimate: a conservative figure for COPY between two
 * servers on one network (bench/ measures the real one; the estimate is for planning only).
 */
export const ASSUMED_FULL_LOAD_BYTES_PER_SECOND = 30 * 1024 * 1024;

export interface SourceTable {
  readonly name: string;
  /** Counted when the planner's estimate is not known (0 when the role may not read the table: see rowsKnown). */
  readonly rows: number;
  /** False when the table was never analysed and the role may not count it: `rows` is then 0 by default, not a figure. */
  readonly rowsKnown: boolean;
  readonly bytes: number;
  readonly primaryKey: string[];
}

/**
 * Read-only pre-flight for the `postgres` platform: what would stop or damage the migration
 * before anything moves (keys, types, large objects, replication settings, the mapping against
 * both schemas) and the legacy data's quality findings from the config's checks.
 */
export class PostgresInspector implements Inspector {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
  ) {}

  async checkConnectivity(): Promise<void> {
    await Promise.all([probeConnection(this.env.source.url, 'source'), probeConnection(this.env.target.url, 'target')]);
  }

  reverseCoverageRefusal(): Promise<string | null> {
    return reverseCoverageRefusal(this.env);
  }

  async assess(): Promise<AssessReport> {
    // both sides at once, the sessions the checks then use (no separate probe first); a side that
    // cannot be reached is a connection error naming it, the source's first
    const [source, target] = await openTogether(connect(this.env.source.url, 'source'), connect(this.env.target.url, 'target'));
    const checks = this.env.assess.checks;
    const progress = new AssessProgress(this.out, 8 + checks.length);
    try {
      const findings: Finding[] = [];
      progress.at('mapping and catalog');
      const mapped = await this.mappedTables(source, findings);
      const schemas = mapped.schemas;
      const tables = await sourceTables(source, schemas);
      const selected = new Set(mapped.tables.map((t) => `${t.source.schema}.${t.source.table}`));

      findings.push(...keyFindings(tables, mapped.withoutPrimaryKey, selected));
      progress.at('column types');
      findings.push(...typeFindings((await typedColumns(source, schemas)).filter((c) => isCopied(mapped.tables, c))));
      progress.at('target tables');
      findings.push(...(await targetFindings(target, mapped.tables, await serverTimeZone(source))));
      findings.push(...(await targetStateFindings(target, mapped.tables, this.env.assess.keepTargetRows)));
      findings.push(...(await generatedSourceFindings(source, mapped.tables)));
      findings.push(...(await filteredParentFindings(source, mapped.tables)));
      findings.push(...(await enumLabelFindings(source, target, mapped.tables)));
      progress.at('reverse mapping');
      findings.push(...(await reverseMappingFindings(target, this.env, mapped.tables, source)));
      progress.at('large values');
      findings.push(...(await unsentValueFindings(source, mapped.tables)));
      progress.at('objects');
      findings.push(...(await objectFindings(source, target, schemas)));
      progress.at('replication settings');
      const [src, tgt] = await Promise.all([replicationSettings(source, 'source'), replicationSettings(target, 'target')]);
      findings.push(...src.findings, ...tgt.findings);
      progress.at('privileges');
      findings.push(...(await privilegeFindings(source, target, this.env, mapped.tables)));
      findings.push(...(await runQualityChecks(source, checks, (check) => progress.at(`check ${check.id}`))));
      progress.finish();

      const selectedBytes = tables.filter((t) => selected.has(t.name)).reduce((n, t) => n + t.bytes, 0);
      const report: AssessReport = {
        ok: !findings.some((f) => f.severity === 'blocker'),
        tables: tables.map((t) => ({ ...t, selected: selected.has(t.name) })),
        findings,
        estimatedFullLoadSeconds: Math.ceil(selectedBytes / ASSUMED_FULL_LOAD_BYTES_PER_SECOND),
        settings: { ...src.settings, ...tgt.settings },
      };
      this.summarize(report);
      return report;
    } finally {
      progress.finish();
      await Promise.all([source.end().catch(() => {}), target.end().catch(() => {})]);
    }
  }

  /**
   * The forward mapping against the source catalog (the schemas it names, or `source.schemas`); a
   * mapping that does not fit the source becomes a blocker finding, and so does a rule whose
   * literal locator names no source table or column (a silent table drop). A mapping file that
   * cannot be read or parsed is bad input, not a fact about the source: MAPPING_INVALID /
   * MAPPING_UNSUPPORTED (exit 2), as every other command answers it. So is a mapping that selects
   * no table at all, naming its rules and the schemas looked in: there is nothing to assess.
   * `schemas` are the source schemas read (every one holding a table when the mapping names a pattern).
   */
  private async mappedTables(
    source: pg.Client,
    findings: Finding[],
  ): Promise<{ tables: readonly MappedTable[]; withoutPrimaryKey: readonly string[]; schemas: string[] }> {
    const file = this.env.mappingFiles.forward;
    const doc = await loadTableMappings(file);
    const read = await readMappedCatalog(source, doc, sideScope(this.env, 'source'));
    const schemas = read.schemas.length ? read.schemas : [...new Set(read.catalog.tables.map((t) => t.schema))];
    findings.push(...unmatchedRuleFindings(file, doc, read.catalog, 'source'));
    let resolved: ResolvedMappings;
    try {
      resolved = resolveTableMappings(doc, read.catalog);
    } catch (err) {
      if (!(err instanceof CutoverError)) throw err;
      findings.push(mappingErrorFinding('mapping-invalid', file, err));
      return { tables: [], withoutPrimaryKey: [], schemas };
    }
    if (!resolved.tables.length) resolveSelected(doc, read.catalog, read.schemas, 'source'); // throws: selects nothing
    return { tables: resolved.tables, withoutPrimaryKey: resolved.withoutPrimaryKey, schemas };
  }

  /** One closing line; the findings themselves are printed by the assess phase (once). */
  private summarize(report: AssessReport): void {
    const blockers = report.findings.filter((f) => f.severity === 'blocker').length;
    if (report.ok) this.out.ok('assess', `no blockers; ${report.tables.filter((t) => t.selected).length} selected table(s), full load estimated at ${report.estimatedFullLoadSeconds} s`);
    else this.out.error('assess', `${blockers} blocker(s): fix them before \`cutover snapshot\``);
  }
}

export async function sourceTables(client: pg.Client, schemas: readonly string[]): Promise<SourceTable[]> {
  // reltuples is -1 before the first ANALYZE (PostgreSQL 14+) and 0 before it on older majors, or
  // when the table was analysed empty and filled since: 0 over a non-empty file is no estimate either
  const res = await client.query<{ name: string; reltuples: string; bytes: string; pk: string[]; readable: boolean }>(
    `SELECT n.nspname || '.' || c.relname AS name,
            (CASE WHEN c.reltuples = 0 AND pg_relation_size(c.oid) > 0 THEN -1 ELSE c.reltuples END)::bigint::text AS reltuples,
            has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') AS readable,
            pg_total_relation_size(c.oid)::text AS bytes,
            coalesce((SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
                        FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                       WHERE i.indrelid = c.oid AND i.indisprimary), '{}'::text[]) AS pk
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY ($1)
      ORDER BY 1`,
    [schemas],
  );
  const out: SourceTable[] = [];
  for (const r of res.rows) {
    let rows = Number(r.reltuples);
    const rowsKnown = rows >= 0 || r.readable;
    // never analyzed: count it (assess runs once, before anything moves); a table the role may
    // not read has no figure (rowsKnown false), and the privilege findings say what to grant
    if (rows < 0 && !r.readable) rows = 0;
    else if (rows < 0) {
      const [schema, ...rest] = r.name.split('.');
      const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${pg.escapeIdentifier(schema!)}.${pg.escapeIdentifier(rest.join('.'))}`);
      rows = Number(count.rows[0]!.n);
    }
    out.push({ name: r.name, rows, rowsKnown, bytes: Number(r.bytes), primaryKey: r.pk });
  }
  return out;
}

function keyFindings(tables: readonly SourceTable[], withoutPrimaryKey: readonly string[], selected: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  const blockers = new Set(withoutPrimaryKey.map((n) => (n.includes('.') ? n : `public.${n}`)));
  for (const t of tables) {
    if (t.primaryKey.length) continue;
    const isSelected = blockers.has(t.name) || selected.has(t.name);
    findings.push({
      id: 'no-primary-key',
      severity: isSelected ? 'blocker' : 'info',
      table: t.name,
      count: t.rowsKnown ? t.rows : null,
      sampleKeys: [],
      message: (isSelected
        ? `${t.name} has no primary key: replication cannot apply its updates and deletes, validation cannot range it`
        : `${t.name} has no primary key (not selected by the mapping)`) + (t.rowsKnown ? '' : '; rows: unknown, table not analysed and the role may not read it'),
      handling: isSelected
        ? 'add a primary key on the source, a define-primary-key rule in the mapping, or exclude the table'
        : 'not migrated',
    });
  }
  return findings;
}

async function typedColumns(client: pg.Client, schemas: readonly string[]): Promise<TypedColumn[]> {
  const res = await client.query<TypedColumn>(
    `SELECT n.nspname || '.' || c.relname AS "table", a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type, t.typtype AS kind
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY ($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [schemas],
  );
  return res.rows;
}

function isCopied(tables: readonly MappedTable[], c: TypedColumn): boolean {
  const t = tables.find((m) => `${m.source.schema}.${m.source.table}` === c.table);
  return !!t && t.columns.some((col) => (col.kind === 'copy' ? col.source === c.column : col.dependsOn.includes(c.column)));
}

/** The TimeZone a session of the server gets by default (database and role settings included): what its apps read and write in. */
async function serverTimeZone(c: pg.Client): Promise<string> {
  return (await c.query<{ tz: string }>(`select current_setting('TimeZone') as tz`)).rows[0]!.tz;
}

const UTC_ZONES = /^(Etc\/)?(UTC|UCT|GMT|GMT[+-]?0|Universal|Zulu|Greenwich)$/i;

/**
 * Mapped columns that move between a zone-less and a zoned date-time type: the kit reads and
 * writes the zone-less side as UTC (docs/config-reference.md, "Time zones"; every kit session is
 * pinned to it). Said aloud, and a warning when either server's own TimeZone is not UTC: there a
 * legacy `timestamp` may well hold local wall-clock time, whose instant would then be off by the
 * zone's offset on the target (consistently in full load, CDC, validate and reverse).
 */
function zoneChangeFinding(changes: readonly string[], sourceZone: string, targetZone: string): Finding[] {
  if (!changes.length) return [];
  const local = [sourceZone, targetZone].some((z) => !UTC_ZONES.test(z));
  return [
    {
      id: 'time-zone-change',
      severity: local ? 'warning' : 'info',
      count: changes.length,
      sampleKeys: changes.slice(0, 5).map((column) => ({ column })),
      message: `${changes.length} mapped column(s) move between timestamp and timestamptz (${changes.slice(0, 3).join('; ')}${changes.length > 3 ? '; …' : ''}): the kit reads a zone-less value as UTC; the source's TimeZone is ${sourceZone}, the target's ${targetZone}`,
      handling: local
        ? 'if those timestamp values hold UTC, nothing to do; if they hold local time, their instants land off by the zone offset: convert on purpose (docs/config-reference.md, "Time zones")'
        : 'nothing to do when the timestamp values hold UTC (docs/config-reference.md, "Time zones")',
    },
  ];
}

/** Selected tables and columns that do not exist on the target, narrowing type changes and zone changes. */
async function targetFindings(target: pg.Client, tables: readonly MappedTable[], sourceZone: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const zoneChanges: string[] = [];
  const zoned = (type: string) => (/^timestamp(\(\d\))? with time zone$/.test(type) ? 'zoned' : /^timestamp(\(\d\))? without time zone$/.test(type) ? 'zone-less' : null);
  for (const t of tables) {
    const name = `${t.target.schema}.${t.target.table}`;
    const from = `${t.source.schema}.${t.source.table}`;
    const types = await readColumnTypes(target, t.target.schema, t.target.table);
    findings.push(...targetColumnFindings(t, types));
    for (const c of t.columns) {
      const targetType = types.get(c.target);
      if (c.kind === 'copy' && targetType && zoned(c.sourceType) && zoned(targetType) && zoned(c.sourceType) !== zoned(targetType)) {
        zoneChanges.push(`${from}.${c.source} ${c.sourceType} -> ${name}.${c.target} ${targetType}`);
      }
    }
  }
  findings.push(...zoneChangeFinding(zoneChanges, sourceZone, await serverTimeZone(target)));
  return findings;
}

/** Large objects, sequences and extensions: things row replication does not carry. */
async function objectFindings(source: pg.Client, target: pg.Client, schemas: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const lo = await source.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_largeobject_metadata`);
  const los = Number(lo.rows[0]!.n);
  if (los > 0) {
    findings.push({
      id: 'large-objects',
      severity: 'warning',
      count: los,
      sampleKeys: [],
      message: `${los} large object(s) on the source: logical replication and AWS DMS do not carry pg_largeobject`,
      handling: 'move them to bytea columns before the cutover, or copy them separately (pg_dump --large-objects)',
    });
  }
  const seq = await source.query<{ sequence: string; last_value: string | null }>(
    `SELECT schemaname || '.' || sequencename AS sequence, last_value::text FROM pg_sequences WHERE schemaname = ANY ($1) ORDER BY 1`,
    [schemas],
  );
  if (seq.rows.length) {
    findings.push({
      id: 'sequences',
      severity: 'info',
      count: seq.rows.length,
      sampleKeys: seq.rows.slice(0, 5).map((r) => ({ sequence: r.sequence, lastValue: r.last_value })),
      message: `${seq.rows.length} sequence(s): replication does not move sequence values`,
      handling: 'the write switch moves every target sequence past the source value plus switch.sequenceGap',
    });
  }
  const ext = async (c: pg.Client) => (await c.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`)).rows.map((r) => r.extname);
  const [sourceExt, targetExt] = await Promise.all([ext(source), ext(target)]);
  if (sourceExt.length) {
    findings.push({
      id: 'extensions',
      severity: 'info',
      count: sourceExt.length,
      sampleKeys: sourceExt.slice(0, 5).map((extension) => ({ extension })),
      message: `source extensions: ${sourceExt.join(', ')}`,
      handling: 'extensions are not replicated; install the ones the new schema needs on the target',
    });
  }
  const absent = sourceExt.filter((e) => !targetExt.includes(e));
  if (absent.length) {
    findings.push({
      id: 'extension-missing-on-target',
      severity: 'warning',
      count: absent.length,
      sampleKeys: absent.map((extension) => ({ extension })),
      message: `on the source but not the target: ${absent.join(', ')}`,
      handling: 'CREATE EXTENSION on the target if the new schema uses them',
    });
  }
  return findings;
}
