import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { connectAssessSession, probeConnection } from '../../assess/connection-errors.ts';
import { targetStateFindings } from '../../assess/target-state-findings.ts';
import { targetColumnFindings } from '../../assess/target-column-findings.ts';
import { readColumnTypes } from '../../diff/table-catalog.ts';
import { mappingErrorFinding } from '../../assess/mapping-findings.ts';
import { runQualityChecksWith } from '../../assess/quality-checks.ts';
import { ASSUMED_FULL_LOAD_BYTES_PER_SECOND } from '../../assess/postgres-inspector.ts';
import type { ResolvedPostgresEnvironment } from '../../config/load.ts';
import { CutoverError } from '../../errors.ts';
import { loadTableMappings } from '../../mappings/index.ts';
import { resolveSelected, schemasToRead, sideScope } from '../../mappings/mapped-schemas.ts';
import type { MappedTable } from '../../mappings/types.ts';
import type { Output } from '../../output/output.ts';
import type { AssessReport, Finding, Inspector, RowKey } from '../../platform/roles.ts';
import { readMysqlCatalog, type MysqlCatalog } from './mysql-catalog.ts';
import { connectMysql, kitSessionSql, mysqlRows, parseMysqlUrl } from './mysql-connection.ts';
import { SPARED_COMMANDS } from './mysql-write-fence.ts';

/** Binary-log retention below this is a blocker: DMS must still find the position after a long full load. @default 24 h */
export const MIN_BINLOG_RETENTION_SECONDS = 24 * 3600;

const SETTINGS = [
  'version',
  'version_comment',
  'log_bin',
  'binlog_format',
  'binlog_row_image',
  'server_id',
  'expire_logs_days',
  'binlog_expire_logs_seconds',
  'binlog_transaction_compression',
  'binlog_row_value_options',
  'gtid_mode',
  'enforce_gtid_consistency',
  'gtid_strict_mode',
  'lower_case_table_names',
  'time_zone',
  'system_time_zone',
  'sql_mode',
  'read_only',
];

function finding(f: Omit<Finding, 'count' | 'sampleKeys'> & Partial<Pick<Finding, 'count' | 'sampleKeys'>>): Finding {
  return { count: 1, sampleKeys: [], ...f };
}

const q = (name: string) => '`' + name.replace(/`/g, '``') + '`';

/**
 * Read-only pre-flight for a MySQL-family source (MySQL 8, MariaDB 10.11, Aurora/RDS MySQL) going
 * to PostgreSQL through AWS DMS: what DMS's binlog CDC needs from the server, what its MySQL
 * source does not carry over, data PostgreSQL will not take as it is, and the exact GRANT for
 * each missing privilege. Each finding says how the mapping or the kit handles it.
 */
export class MysqlInspector implements Inspector {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    /** The kit's own SQL fence (mysql-write-fence.ts) fences blue with this account; on AWS the parameter group does. */
    private readonly options: { readonly sqlFence: boolean } = { sqlFence: true },
  ) {}

  async checkConnectivity(): Promise<void> {
    const c = await connectMysql(this.env.source.url, 'source');
    await c.end().catch(() => {});
    await probeConnection(this.env.target.url, 'target');
  }

  async assess(): Promise<AssessReport> {
    await this.checkConnectivity();
    const db = await connectMysql(this.env.source.url, 'source');
    try {
      const findings: Finding[] = [];
      const settings = await readSettings(db);
      findings.push(...(await binlogFindings(db, settings)));
      findings.push(...(await privilegeFindings(db, this.env.source.url, this.options.sqlFence)));
      if (this.options.sqlFence) findings.push(...(await sharedAccountFindings(db)));
      const mapped = await this.mappedTables(db, findings);
      const tables = await tableSizes(db, mapped);
      // the target as the PostgreSQL inspector reads it: rows the full load would collide with,
      // columns it computes; and each mapped column's type, which decides whether a value fits
      const target = await connectAssessSession(this.env.target.url, 'target');
      let targetTypes: TargetColumnTypes;
      try {
        findings.push(...(await targetStateFindings(target, mapped.tables, this.env.assess.keepTargetRows)));
        targetTypes = await mappedTargetTypes(target, mapped.tables, mapped.nativeTypes, findings);
      } finally {
        await target.end().catch(() => {});
      }
      findings.push(...(await dataFindings(db, mapped, settings, targetTypes)));
      // the config's data-quality checks (assess.checks), written in MySQL's SQL for a MySQL source
      findings.push(...(await runQualityChecksWith((sql) => mysqlRows(db, sql), this.env.assess.checks)));
      findings.push(
        finding({
          id: 'dms-mysql-limits',
          severity: 'info',
          count: 0,
          message: 'AWS DMS does not replicate DROP TABLE or RENAME TABLE from a MySQL source, and does not migrate AUTO_INCREMENT attributes or counters',
          handling: 'freeze DDL on blue from the full load to the switch; the switch moves every PostgreSQL sequence above blue\'s AUTO_INCREMENT and max(id) (sequences step), and a rollback moves blue\'s AUTO_INCREMENT above what green handed out',
        }),
      );
      const bytes = tables.reduce((n, t) => n + t.bytes, 0);
      const report: AssessReport = {
        ok: !findings.some((f) => f.severity === 'blocker'),
        tables,
        findings,
        estimatedFullLoadSeconds: Math.ceil(bytes / ASSUMED_FULL_LOAD_BYTES_PER_SECOND),
        settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [`source.${k}`, v])),
      };
      const blockers = findings.filter((f) => f.severity === 'blocker').length;
      if (report.ok) this.out.ok('assess', `no blockers; ${tables.length} table(s) on the MySQL-family source`);
      else this.out.error('assess', `${blockers} blocker(s): fix them before the full load`);
      return report;
    } finally {
      await db.end().catch(() => {});
    }
  }

  private async mappedTables(db: mysql.Connection, findings: Finding[]): Promise<{ tables: readonly MappedTable[]; withoutPrimaryKey: readonly string[]; nativeTypes: MysqlCatalog['nativeTypes'] }> {
    const file = this.env.mappingFiles.forward;
    // a file that cannot be read or parsed is bad input (exit 2), not a finding (see PostgresInspector.mappedTables)
    const doc = await loadTableMappings(file);
    try {
      const schemas = schemasToRead(doc, sideScope(this.env, 'source'));
      const catalog = await readMysqlCatalog(db, schemas);
      const resolved = resolveSelected(doc, catalog, schemas, 'source');
      return { tables: resolved.tables, withoutPrimaryKey: resolved.withoutPrimaryKey, nativeTypes: catalog.nativeTypes };
    } catch (err) {
      if (!(err instanceof CutoverError) || err.code === 'CONNECTION_FAILED' || err.code === 'AUTH_FAILED') throw err;
      if (err.code === 'MAPPING_INVALID' && /selects no table/.test(err.message)) throw err;
      findings.push(mappingErrorFinding('mapping-invalid', file, err));
      return { tables: [], withoutPrimaryKey: [], nativeTypes: new Map() };
    }
  }
}

async function readSettings(db: mysql.Connection): Promise<Record<string, string>> {
  const rows = await mysqlRows<{ Variable_name: string; Value: string }>(db, `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${SETTINGS.map(() => '?').join(', ')})`, SETTINGS);
  const out: Record<string, string> = {};
  for (const r of rows) out[r.Variable_name] = String(r.Value);
  return out;
}

/** What DMS's binlog CDC needs from the server (AWS DMS "Using a MySQL-compatible database as a source"). */
async function binlogFindings(db: mysql.Connection, s: Record<string, string>): Promise<Finding[]> {
  const out: Finding[] = [];
  const on = (v: string | undefined) => v === 'ON' || v === '1';
  if (!on(s.log_bin)) {
    out.push(finding({ id: 'mysql-binlog-off', severity: 'blocker', message: `the binary log is off (log_bin=${s.log_bin ?? 'unknown'}): DMS cannot capture changes`, handling: 'start the server with log_bin (RDS/Aurora: automated backups on, retention > 0)' }));
  }
  if (s.binlog_format !== 'ROW') {
    out.push(finding({ id: 'mysql-binlog-format', severity: 'blocker', message: `binlog_format=${s.binlog_format}; DMS needs ROW`, handling: "SET GLOBAL binlog_format = 'ROW' and in the config file / parameter group (existing sessions keep theirs: reconnect the app)" }));
  }
  if (s.binlog_row_image && s.binlog_row_image !== 'FULL') {
    out.push(finding({ id: 'mysql-binlog-row-image', severity: 'blocker', message: `binlog_row_image=${s.binlog_row_image}; DMS needs FULL (whole before and after images)`, handling: "SET GLOBAL binlog_row_image = 'FULL' and in the config file / parameter group" }));
  }
  if (!s.server_id || s.server_id === '0') {
    out.push(finding({ id: 'mysql-server-id', severity: 'blocker', message: `server_id=${s.server_id ?? 'unset'}: a binary log reader needs a non-zero server id`, handling: 'set server_id to a unique non-zero value' }));
  }
  if (on(s.binlog_transaction_compression)) {
    out.push(finding({ id: 'mysql-binlog-compression', severity: 'blocker', message: 'binlog_transaction_compression=ON: DMS cannot read compressed binary log transactions', handling: 'SET GLOBAL binlog_transaction_compression = OFF before the full load' }));
  }
  if (s.binlog_row_value_options && /PARTIAL_JSON/i.test(s.binlog_row_value_options)) {
    out.push(finding({ id: 'mysql-partial-json', severity: 'blocker', message: 'binlog_row_value_options=PARTIAL_JSON: JSON updates are logged as partial diffs DMS cannot apply', handling: "SET GLOBAL binlog_row_value_options = ''" }));
  }
  // retention: RDS keeps binlogs only as long as `binlog retention hours` says (NULL: removed at once)
  let retention: number | null = null;
  let where = 'binlog_expire_logs_seconds';
  try {
    const [sets] = (await db.query('CALL mysql.rds_show_configuration')) as unknown as [{ name: string; value: string | null }[][]];
    const row = (Array.isArray(sets[0]) ? sets[0] : (sets as unknown as { name: string; value: string | null }[])).find((r) => r.name === 'binlog retention hours');
    if (row) {
      retention = row.value === null ? 0 : Number(row.value) * 3600;
      where = "RDS 'binlog retention hours'";
    }
  } catch {
    /* not RDS */
  }
  if (retention === null) {
    const secs = Number(s.binlog_expire_logs_seconds ?? 0);
    const days = Number(s.expire_logs_days ?? 0);
    retention = secs > 0 ? secs : days > 0 ? days * 86400 : Infinity;
    if (secs <= 0) where = 'expire_logs_days';
  }
  if (retention < MIN_BINLOG_RETENTION_SECONDS) {
    out.push(
      finding({
        id: 'mysql-binlog-retention',
        severity: 'blocker',
        message: `binary logs are kept ${Math.round(retention / 3600)} h (${where}), less than the ${MIN_BINLOG_RETENTION_SECONDS / 3600} h the full load and CDC may need`,
        handling: "keep them at least 24 h: SET GLOBAL binlog_expire_logs_seconds = 86400 (RDS: CALL mysql.rds_set_configuration('binlog retention hours', 24))",
      }),
    );
  }
  const gtid = s.gtid_mode ?? (s.gtid_strict_mode !== undefined ? `MariaDB GTID (gtid_strict_mode=${s.gtid_strict_mode})` : 'unknown');
  out.push(finding({ id: 'mysql-gtid', severity: 'info', count: 0, message: `GTID: ${gtid}`, handling: 'DMS reads binlog file/position; with GTID on (MySQL: gtid_mode=ON and enforce_gtid_consistency=ON) a failover of the source keeps the position meaningful' }));
  const tz = s.time_zone === 'SYSTEM' ? `SYSTEM (${s.system_time_zone})` : s.time_zone;
  if (tz && !/^(\+00:00|UTC|SYSTEM \(UTC\)|SYSTEM \(GMT\))$/i.test(tz)) {
    out.push(
      finding({
        id: 'mysql-time-zone',
        severity: 'warning',
        message: `the server's time_zone is ${tz}: TIMESTAMP columns are stored in UTC but read and written in the session zone, DATETIME columns are not converted at all`,
        handling: 'the kit compares in UTC sessions; set the DMS source endpoint\'s serverTimezone to the server zone so DATETIME values land as written, and check the app reads them in the same zone',
      }),
    );
  }
  out.push(
    finding({
      id: 'mysql-lower-case-table-names',
      severity: 'info',
      count: 0,
      message: `lower_case_table_names=${s.lower_case_table_names}`,
      handling: s.lower_case_table_names === '0' ? 'names are case-sensitive: the mapping\'s locators must match their case (KUNDE is not kunde)' : 'names are stored lower-case: use lower-case locators in the mapping',
    }),
  );
  return out;
}

/** REPLICATION SLAVE, REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR), SELECT, the fence's: the exact GRANT for each missing one. */
async function privilegeFindings(db: mysql.Connection, url: string, sqlFence: boolean): Promise<Finding[]> {
  const grants = (await mysqlRows<Record<string, string>>(db, 'SHOW GRANTS FOR CURRENT_USER()')).map((r) => String(Object.values(r)[0]));
  const [[who]] = [await mysqlRows<{ u: string }>(db, 'SELECT CURRENT_USER() AS u')];
  const [user, host] = String(who!.u).split('@');
  const account = `'${user}'@'${host}'`;
  const database = parseMysqlUrl(url).database;
  const global = grants.filter((g) => / ON \*\.\* TO /i.test(g)).join(' ');
  const all = /GRANT ALL PRIVILEGES ON \*\.\*/i.test(global);
  const has = (p: RegExp) => all || p.test(global);
  const onDb = grants.some((g) => new RegExp(`ON [\`]?${database.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\`]?\\.\\*`, 'i').test(g) && /\b(SELECT|ALL PRIVILEGES)\b/i.test(g));
  const missing: string[] = [];
  const out: Finding[] = [];
  if (!has(/REPLICATION SLAVE|REPLICATION REPLICA/i)) missing.push('REPLICATION SLAVE');
  if (!has(/REPLICATION CLIENT|BINLOG MONITOR/i)) missing.push('REPLICATION CLIENT');
  if (missing.length) {
    out.push(
      finding({
        id: 'mysql-privileges',
        severity: 'blocker',
        message: `${account} lacks ${missing.join(' and ')}: DMS cannot read the binary log`,
        handling: `GRANT ${missing.join(', ')} ON *.* TO ${account};`,
      }),
    );
  }
  if (!has(/\bSELECT\b/i) && !onDb) {
    out.push(finding({ id: 'mysql-privileges-select', severity: 'blocker', message: `${account} cannot SELECT from ${database}`, handling: `GRANT SELECT ON ${q(database)}.* TO ${account};` }));
  }
  // the write switch's fence (mysql-write-fence.ts) with this account: it reads INNODB_TRX
  // (PROCESS), ends other accounts' sessions (CONNECTION ADMIN) and sets read_only (MariaDB 10.11:
  // READ_ONLY ADMIN, no longer part of SUPER; MySQL 8: SYSTEM_VARIABLES_ADMIN or SUPER)
  const mariadbServer = /mariadb/i.test(String((await mysqlRows<{ v: string }>(db, 'SELECT VERSION() AS v'))[0]?.v));
  const fenceNeeds = [
    ...(has(/\bPROCESS\b/i) ? [] : ['PROCESS']),
    ...(has(/CONNECTION.ADMIN|\bSUPER\b/i) ? [] : [mariadbServer ? 'CONNECTION ADMIN' : 'CONNECTION_ADMIN']),
    ...(has(mariadbServer ? /READ.ONLY ADMIN/i : /SYSTEM_VARIABLES_ADMIN|\bSUPER\b/i) ? [] : [mariadbServer ? 'READ_ONLY ADMIN' : 'SYSTEM_VARIABLES_ADMIN']),
  ];
  if (sqlFence && fenceNeeds.length) {
    out.push(
      finding({
        id: 'mysql-privileges-fence',
        severity: 'blocker',
        message: `${account} lacks ${fenceNeeds.join(', ')}: the write switch could not make blue read-only (its fence reads open transactions, ends the apps' sessions and sets read_only)`,
        handling: `GRANT ${fenceNeeds.join(', ')} ON *.* TO ${account};  (on RDS/Aurora read_only comes from the parameter group and sessions end with mysql.rds_kill)`,
      }),
    );
  }
  // the local control plane's reverse replication writes into the fenced blue with this account
  // (lib/engines/mysql/mysql-change-applier.ts): read_only lets through READ_ONLY ADMIN (MariaDB
  // 10.11) / CONNECTION_ADMIN or SUPER (MySQL 8) only, and its position lives in `_cutover`
  const mariadb = grants.some((g) => /READ_ONLY ADMIN|READ ONLY ADMIN/i.test(g)) || /mariadb/i.test(String((await mysqlRows<{ v: string }>(db, 'SELECT VERSION() AS v'))[0]?.v));
  const writesFenced = has(mariadb ? /READ.ONLY ADMIN/i : /CONNECTION_ADMIN|\bSUPER\b/i);
  const kitDb = all || grants.some((g) => /ON [`]?_cutover[`]?\.\*/i.test(g) && /\bALL PRIVILEGES\b/i.test(g));
  const writesDb = all || has(/\bINSERT\b/i) || grants.some((g) => new RegExp(`ON [\`]?${database.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\`]?\\.\\*`, 'i').test(g) && /\b(INSERT|ALL PRIVILEGES)\b/i.test(g));
  if (!writesFenced || !kitDb || !writesDb) {
    const need = [
      ...(writesFenced ? [] : [`GRANT ${mariadb ? 'READ_ONLY ADMIN' : 'CONNECTION_ADMIN'} ON *.* TO ${account};`]),
      ...(kitDb ? [] : [`GRANT ALL ON \`_cutover\`.* TO ${account};`]),
      ...(writesDb ? [] : [`GRANT INSERT, UPDATE, DELETE ON ${q(database)}.* TO ${account};`]),
    ];
    out.push(
      finding({
        id: 'mysql-privileges-reverse',
        severity: 'warning',
        message: `${account} cannot apply reverse replication into a fenced blue (a rollback after the switch would stop at its first write)`,
        handling: `${need.join(' ')} — never to the application's account (on platform "aws" the DMS reverse task's account needs the same)`,
      }),
    );
  }
  return out;
}

/**
 * Other client sessions of the kit's own account that are not the kit's (KIT_SESSION_TAG). The
 * write fence (mysql-write-fence.ts) ends them, but that account must write through read_only
 * (READ_ONLY ADMIN / CONNECTION_ADMIN: reverse replication): an app sharing it reconnects and
 * keeps writing into the fenced blue after the switch, and those writes never reach green.
 * Sessions that are closing (`Quit`, `Killed`) are not counted.
 */
async function sharedAccountFindings(db: mysql.Connection): Promise<Finding[]> {
  const [who] = await mysqlRows<{ u: string }>(db, 'SELECT CURRENT_USER() AS u');
  const [user, host] = String(who!.u).split('@');
  const account = `'${user}'@'${host}'`;
  const skipped = [...SPARED_COMMANDS, 'Quit', 'Killed'];
  const sessions = await mysqlRows<{ h: string | null }>(
    db,
    `SELECT p.HOST AS h FROM information_schema.PROCESSLIST p
      WHERE p.ID <> CONNECTION_ID() AND p.USER = ? AND NOT ${kitSessionSql('p.ID')} AND p.COMMAND NOT IN (${skipped.map(() => '?').join(', ')})`,
    [user, ...skipped],
  );
  if (!sessions.length) return [];
  const hosts = [...new Set(sessions.map((s) => String(s.h ?? '?').replace(/:\d+$/, '')))].sort();
  return [
    finding({
      id: 'mysql-fence-shared-account',
      severity: 'warning',
      count: sessions.length,
      message: `${sessions.length} other session(s) use the kit's account ${account} (from ${hosts.join(', ')}): the write switch's fence ends them, but read_only does not stop this account (reverse replication writes with it), so whatever they write after reconnecting stays on blue and never reaches green`,
      handling: `give source.url an account of its own that nothing else uses (the GRANTs above), and let the apps keep theirs, without READ_ONLY ADMIN / CONNECTION_ADMIN / SUPER (the kit's own sessions are not counted here)`,
    }),
  ];
}

async function tableSizes(db: mysql.Connection, mapped: { tables: readonly MappedTable[] }): Promise<AssessReport['tables']> {
  const out: AssessReport['tables'][number][] = [];
  for (const t of mapped.tables) {
    const [row] = await mysqlRows<{ r: string | number | null; b: string | number | null }>(
      db,
      'SELECT TABLE_ROWS AS r, DATA_LENGTH + INDEX_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [t.source.schema, t.source.table],
    );
    out.push({ name: `${t.source.schema}.${t.source.table}`, rows: Number(row?.r ?? 0), bytes: Number(row?.b ?? 0), primaryKey: [...t.primaryKey] });
  }
  return out;
}

/** Data and column types of the selected tables that PostgreSQL will not take as they are. */
/** `schema.table` (source) → source column → the type of the target column it is copied into, when that column exists. */
type TargetColumnTypes = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Also pushes what the target's tables lack for the mapping (targetColumnFindings: missing tables and columns, types too narrow). */
async function mappedTargetTypes(target: pg.ClientBase, tables: readonly MappedTable[], nativeTypes: MysqlCatalog['nativeTypes'], findings: Finding[]): Promise<TargetColumnTypes> {
  const out = new Map<string, Map<string, string>>();
  for (const t of tables) {
    const types = await readColumnTypes(target, t.target.schema, t.target.table);
    findings.push(...targetColumnFindings(t, types, (column) => nativeTypes.get(`${t.source.schema}.${t.source.table}`)?.get(column)));
    const bySource = new Map<string, string>();
    for (const c of t.columns) if (c.kind === 'copy' && types.has(c.target)) bySource.set(c.source, types.get(c.target)!);
    out.set(`${t.source.schema}.${t.source.table}`, bySource);
  }
  return out;
}

/** A PostgreSQL column type that holds every BIGINT UNSIGNED value (up to 18446744073709551615, 20 digits). */
function holdsUnsignedBigint(type: string): boolean {
  const t = type.toLowerCase().trim();
  if (t === 'numeric' || t === 'text' || t === 'character varying') return true;
  const num = /^numeric\((\d+)(?:,\s*(\d+))?\)$/.exec(t);
  if (num) return Number(num[1]) - Number(num[2] ?? 0) >= 20;
  const varchar = /^character varying\((\d+)\)$/.exec(t);
  return varchar !== null && Number(varchar[1]) >= 20;
}

async function dataFindings(db: mysql.Connection, mapped: { tables: readonly MappedTable[]; withoutPrimaryKey: readonly string[] }, s: Record<string, string>, targetTypes: TargetColumnTypes): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const name of mapped.withoutPrimaryKey) {
    out.push(finding({ id: 'no-primary-key', severity: 'blocker', table: name, message: `${name} has no primary key`, handling: 'add a primary key, or a define-primary-key rule naming a unique NOT NULL index; DMS cannot apply updates and deletes to it by key and the kit cannot compare it' }));
  }
  const selected = mapped.tables;
  if (!selected.length) return out;
  const names = selected.map((t) => [t.source.schema, t.source.table]);
  const where = names.map(() => '(c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?)').join(' OR ');
  const cols = await mysqlRows<{ s: string; t: string; c: string; type: string; cs: string | null; extra: string; dt: string }>(
    db,
    `SELECT c.TABLE_SCHEMA AS s, c.TABLE_NAME AS t, c.COLUMN_NAME AS c, c.COLUMN_TYPE AS type, c.CHARACTER_SET_NAME AS cs, c.EXTRA AS extra, c.DATA_TYPE AS dt
       FROM information_schema.COLUMNS c WHERE ${where} ORDER BY 1, 2, c.ORDINAL_POSITION`,
    names.flat(),
  );
  const zeroAllowed = !/NO_ZERO_DATE/.test(s.sql_mode ?? '') || !/NO_ZERO_IN_DATE/.test(s.sql_mode ?? '');
  for (const c of cols) {
    const table = `${c.s}.${c.t}`;
    const mt = selected.find((t) => `${t.source.schema}.${t.source.table}` === table)!;
    const rel = `${q(c.s)}.${q(c.t)}`;
    const col = q(c.c);
    const keyOf = async (cond: string): Promise<{ count: number; keys: RowKey[] }> => {
      const [n] = await mysqlRows<{ n: number | string }>(db, `SELECT COUNT(*) AS n FROM ${rel} WHERE ${cond}`);
      const count = Number(n?.n ?? 0);
      if (!count || !mt.primaryKey.length) return { count, keys: [] };
      const keys = await mysqlRows<RowKey>(db, `SELECT ${mt.primaryKey.map(q).join(', ')} FROM ${rel} WHERE ${cond} LIMIT 5`);
      // the report's key form: integers as numbers when exact (BIGINTs arrive as text)
      const exact = (v: unknown) => (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v);
      return { count, keys: keys.map((k) => Object.fromEntries(Object.entries(k).map(([n, v]) => [n, exact(v)]))) };
    };
    if (/^(date|datetime|timestamp)$/i.test(c.dt)) {
      const { count, keys } = await keyOf(`${col} IS NOT NULL AND (MONTH(${col}) = 0 OR DAY(${col}) = 0)`);
      if (count) {
        out.push(
          finding({
            id: 'mysql-zero-dates',
            severity: 'warning',
            table,
            count,
            sampleKeys: keys,
            message: `${table}.${c.c} holds ${count} zero date(s) (0000-00-00 or a zero month/day)${zeroAllowed ? '; sql_mode lets the app write more' : ''}`,
            handling: 'DMS writes them as NULL in PostgreSQL (validate compares them as NULL): make the target column nullable, or fix them at the source; add NO_ZERO_DATE,NO_ZERO_IN_DATE to sql_mode to stop new ones',
          }),
        );
      }
    }
    if (c.cs && /^(utf8mb3|utf8|latin1|ascii|cp1252)$/i.test(c.cs)) {
      out.push(finding({ id: 'mysql-charset', severity: 'warning', table, count: 1, message: `${table}.${c.c} is ${c.cs}: it moves into UTF-8`, handling: c.cs.toLowerCase() === 'latin1' ? 'DMS converts latin1 (really cp1252) to UTF-8; text stored as UTF-8 bytes inside a latin1 column (double encoding) arrives garbled: validate compares the characters and shows it' : 'utf8mb3 holds no 4-byte characters; the text arrives unchanged' }));
    }
    if (/^bigint\b.*unsigned/i.test(c.type)) {
      const { count, keys } = await keyOf(`${col} > 9223372036854775807`);
      // a target column that holds them (numeric(20,0), what DMS makes) is no blocker: only a narrower one is
      const targetType = targetTypes.get(table)?.get(c.c);
      const fits = targetType !== undefined && holdsUnsignedBigint(targetType);
      out.push(
        finding({
          id: 'mysql-unsigned-bigint',
          severity: count && !fits ? 'blocker' : 'info',
          table,
          count,
          sampleKeys: keys,
          message: `${table}.${c.c} is BIGINT UNSIGNED${count ? `: ${count} value(s) above PostgreSQL bigint's maximum` : ''}${count && fits ? `; the target column's ${targetType} holds them` : count && targetType ? `, which the target column's ${targetType} cannot hold` : ''}`,
          handling: 'DMS maps it to numeric(20,0); a change-data-type rule to int8 fails on values above 9223372036854775807',
        }),
      );
    }
    if (/^(enum|set)$/i.test(c.dt)) {
      out.push(finding({ id: 'mysql-enum-set', severity: 'info', table, count: 0, message: `${table}.${c.c} is ${c.type.length > 60 ? c.dt.toUpperCase() : c.type}`, handling: 'DMS writes the label text into a varchar (SET: the comma-separated labels); a CHECK constraint on the target keeps the allowed values' }));
    }
    if (/GENERATED/i.test(c.extra)) {
      out.push(finding({ id: 'mysql-generated-column', severity: 'warning', table, count: 0, message: `${table}.${c.c} is a generated column (${c.extra})`, handling: 'DMS copies its values as plain data; define it as GENERATED on the target and remove it with a remove-column rule, or keep it as data and stop writing it' }));
    }
  }
  return out;
}
