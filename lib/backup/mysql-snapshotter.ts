import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import { readMysqlCatalog } from '../engines/mysql/mysql-catalog.ts';
import { connectMysql, parseMysqlUrl } from '../engines/mysql/mysql-connection.ts';
import { describeExportTable, dropTables, exportRows, openExportSession, restoreTable, startConsistentSnapshot, tablesIn, type ExportTable } from '../engines/mysql/mysql-logical-export.ts';
import { loadTableMappings } from '../mappings/index.ts';
import { resolveSelected, schemasToRead, sideScope } from '../mappings/mapped-schemas.ts';
import type { Output } from '../output/output.ts';
import { ProgressRate } from '../output/progress-rate.ts';
import type { SnapshotManifest } from '../platform/roles.ts';
import { withoutPassword } from '../postgres/kit-client.ts';
import { TOOL_VERSION } from '../tool-version.ts';
import type { BackupStore } from './backup-store.ts';
import { interrupted, PostgresSnapshotter, restoreInterrupted, snapshotId, throwIfInterrupted, type PostgresSnapshotManifest } from './postgres-snapshotter.ts';
import { markInProgress, sweepPartialBackups } from './partial-backups.ts';
import { StreamMeter } from './table-file-meter.ts';

/** The manifest of a MySQL-family backup: the contract fields plus what restore and verify need. */
export interface MysqlSnapshotManifest extends SnapshotManifest {
  readonly engine: 'mysql';
  /** `jsonl-v1`: a JSON array per row, values as the server prints them, binary values `{"x": hex}`. */
  readonly format: 'jsonl-v1';
  readonly tables: (SnapshotManifest['tables'][number] & {
    /** SHA-256 of the uncompressed lines, rows in key order: restore compares the restored table to it. */
    readonly rawSha256: string;
    readonly columns: string[];
    readonly binary: boolean[];
    readonly primaryKey: string[];
    readonly createTable: string;
  })[];
  readonly binlog: { readonly file: string | null; readonly position: number | null; readonly gtid: string | null };
  readonly serverVersion: string;
  readonly source: string;
}

const GZIP_LEVEL = 1;

/**
 * The local control plane's backup of a MySQL-family blue (MariaDB 10.11, MySQL 8): every table the
 * forward mapping selects, read in one `START TRANSACTION WITH CONSISTENT SNAPSHOT` and streamed
 * row by row, gzip-compressed, into the same backup store (folder or S3) as the PostgreSQL
 * snapshot, with a manifest (SHOW CREATE TABLE, rows, SHA-256 of each file and of its lines, the
 * snapshot's binlog file/position and GTID). `verify` and `list` are the PostgreSQL snapshotter's
 * (same file and checksum rules). `restore` recreates the tables in an EMPTY MySQL/MariaDB
 * database, loads the rows and reads them back with the same encoder: counts and SHA-256 must
 * equal the manifest's.
 *
 * Not `mariadb-dump`: its SQL text would have to be parsed again to verify a restore row by row,
 * and the binlog position it reports takes FLUSH TABLES WITH READ LOCK unless told otherwise; the
 * export here is ~150 lines over mysql2 and verifies itself.
 */
export class MysqlSnapshotter extends PostgresSnapshotter {
  constructor(
    private readonly mysqlEnv: ResolvedPostgresEnvironment,
    private readonly output: Output,
    store?: BackupStore,
  ) {
    super(mysqlEnv, output, store);
  }

  override async snapshot(options: { readonly signal?: AbortSignal } = {}): Promise<PostgresSnapshotManifest> {
    const { signal } = options;
    const env = this.mysqlEnv;
    const meta = await connectMysql(env.source.url, 'source');
    let selected: { schema: string; table: string }[];
    let estimatedTotal = 0;
    try {
      const doc = await loadTableMappings(env.mappingFiles.forward);
      const schemas = schemasToRead(doc, sideScope(env, 'source'));
      const catalog = await readMysqlCatalog(meta, schemas);
      selected = resolveSelected(doc, catalog, schemas, 'source').tables.map((t) => t.source);
      estimatedTotal = catalog.tables.filter((t) => selected.some((s) => s.schema === t.schema && s.table === t.table)).reduce((n, t) => n + t.estimatedRows, 0);
    } finally {
      await meta.end().catch(() => {});
    }
    const id = snapshotId();
    await sweepPartialBackups(this.store, this.output);
    await markInProgress(this.store, id); // first: a kill from here on leaves a partial backup that names its owner
    const c = await openExportSession(env.source.url).catch(async (err: unknown) => {
      await this.discard(id);
      throw err;
    });
    const entries: MysqlSnapshotManifest['tables'] = [];
    let position: Awaited<ReturnType<typeof startConsistentSnapshot>>;
    try {
      position = await startConsistentSnapshot(c);
      this.output.info('snapshot', `consistent snapshot at binlog ${position.position}${position.gtid ? ` (GTID ${position.gtid})` : ''}`);
      const rate = new ProgressRate();
      let rowsBefore = 0;
      for (const s of selected) {
        throwIfInterrupted(signal);
        const t = await describeExportTable(c, s.schema, s.table);
        const name = `${s.schema}.${s.table}`;
        const file = `${id}/tables/${name}.jsonl.gz`;
        const raw = new StreamMeter();
        const gz = new StreamMeter();
        const body = new PassThrough();
        const ticker = setInterval(() => {
          const done = rowsBefore + raw.lines;
          const total = Math.max(estimatedTotal, done);
          this.output.progress({ topic: 'snapshot', done, total, unit: 'rows', figures: { table: name, ...rate.figures(done, total) } });
        }, 1000);
        // each side's failure ends the other; the store's error wins (see PostgresSnapshotter)
        const [stored, copied] = await Promise.allSettled([this.store.put(file, body), pipeline(exportRows(c, t), raw, createGzip({ level: GZIP_LEVEL }), gz, body, { signal })]).finally(() =>
          clearInterval(ticker),
        );
        rowsBefore += raw.lines;
        if (stored.status === 'rejected') throw stored.reason;
        if (copied.status === 'rejected') throw copied.reason;
        entries.push({
          name,
          rows: raw.lines,
          file,
          sha256: gz.sha256,
          bytes: gz.bytes,
          rawSha256: raw.sha256,
          columns: [...t.columns],
          binary: [...t.binary],
          primaryKey: [...t.primaryKey],
          createTable: t.createTable,
        });
        this.output.ok('snapshot', `${name}: ${raw.lines} rows, ${gz.bytes} bytes`);
      }
      await c.query('COMMIT');
      this.output.done('snapshot');
    } catch (err) {
      await this.discard(id);
      throw signal?.aborted ? interrupted() : err;
    } finally {
      await c.end().catch(() => {});
    }
    const manifest: MysqlSnapshotManifest = {
      id,
      createdAt: new Date().toISOString(),
      toolVersion: TOOL_VERSION,
      engine: 'mysql',
      format: 'jsonl-v1',
      position: position.position,
      tables: entries,
      ddl: entries.map((e) => `${e.createTable};`).join('\n\n'),
      binlog: { file: position.binlogFile, position: position.binlogPosition, gtid: position.gtid },
      serverVersion: position.serverVersion,
      source: withoutPassword(env.source.url),
    };
    try {
      await this.store.put(`${id}/manifest.json`, JSON.stringify(manifest, null, 2) + '\n');
    } catch (err) {
      await this.discard(id);
      throw err;
    }
    await this.finished(id);
    this.output.ok('snapshot', `${id} in ${this.store.location} at binlog ${manifest.position}`);
    // verify/list read it through the PostgreSQL snapshotter's manifest type: the fields they use are the same
    return manifest as unknown as PostgresSnapshotManifest;
  }

  /** What `restore` refuses before it writes (wrong target engine, no backup, name clashes, a target with tables), found by reading only. */
  override async checkRestore(options: { id?: string; targetUrl: string }): Promise<void> {
    const { database } = await this.restorePlan(options);
    const c = await openExportSession(options.targetUrl, 'target');
    try {
      await refuseTables(c, database, options.targetUrl);
    } finally {
      await c.end().catch(() => {});
    }
  }

  /** The backup to restore and the target database, after the refusals that need no target session. */
  private async restorePlan(options: { id?: string; targetUrl: string }): Promise<{ manifest: MysqlSnapshotManifest; database: string }> {
    if (engineOfUrl(options.targetUrl) !== 'mysql') {
      throw new CutoverError('USAGE', 'a backup of a MySQL-family source restores into a MySQL/MariaDB database', {
        received: withoutPassword(options.targetUrl),
        allowed: 'mysql://user:password@host:3306/empty_database (or mariadb://…)',
        fix: 'create an empty database on a MySQL/MariaDB server and pass its URL as --target-url',
      });
    }
    const manifest = (await this.manifest(options.id)) as unknown as MysqlSnapshotManifest;
    if (manifest.engine !== 'mysql') {
      throw new CutoverError('USAGE', `backup ${manifest.id} is a PostgreSQL backup, not a MySQL one`, { received: manifest.id, fix: 'restore it into a PostgreSQL database, or pick a MySQL backup with --id' });
    }
    const database = parseMysqlUrl(options.targetUrl).database;
    const byTable = new Map<string, string>();
    for (const t of manifest.tables) {
      const table = t.name.slice(t.name.indexOf('.') + 1);
      if (byTable.has(table)) {
        throw new CutoverError('PRECONDITION_FAILED', `backup ${manifest.id} holds ${byTable.get(table)} and ${t.name}: both would be ${database}.${table}`, {
          fix: 'restore on a server where each source database gets its own target database (not supported by this command yet), or select one database in the mapping',
        });
      }
      byTable.set(table, t.name);
    }
    return { manifest, database };
  }

  /**
   * MySQL commits each CREATE TABLE: the tables this run created are remembered, and a Ctrl-C
   * (the load stops mid-table) drops exactly those, so the database is as empty as it was.
   */
  override async restore(options: { id?: string; targetUrl: string; readonly signal?: AbortSignal }): Promise<{ ok: boolean; problems: string[] }> {
    const { signal } = options;
    const { manifest, database } = await this.restorePlan(options);
    const c = await openExportSession(options.targetUrl, 'target');
    // tables of this run only: the database had none when it began (checked below)
    const created: string[] = [];
    try {
      await refuseTables(c, database, options.targetUrl);
      const stopped = () => {
        if (signal?.aborted) throw restoreInterrupted(manifest.id, options.targetUrl);
      };
      for (const t of manifest.tables) {
        stopped();
        const gz = new StreamMeter();
        const table: ExportTable = { ...t, database, table: t.name.slice(t.name.indexOf('.') + 1) };
        // a damaged file fails in gunzip: the pipeline ends `lines` with that error, so the load stops too
        const lines = new PassThrough();
        const feeding = pipeline(await this.store.get(t.file), gz, createGunzip(), lines, { signal });
        feeding.catch(() => {}); // awaited below; may fail before the load reads its first line
        let rows: number;
        created.push(table.table); // before its CREATE: a stop right after it must find it
        try {
          rows = await restoreTable(c, database, table, lines);
          await feeding;
        } catch (err) {
          await feeding.catch(() => {});
          stopped();
          if (gz.sha256 !== t.sha256) throw this.damagedFile(t.file, `sha256 ${gz.sha256} differs from the manifest's ${t.sha256} (loading it failed: ${(err as Error).message})`, database, err);
          throw err;
        }
        if (gz.sha256 !== t.sha256) throw this.damagedFile(t.file, `sha256 ${gz.sha256} differs from the manifest's ${t.sha256}`, database);
        this.output.ok('restore', `${t.name} -> ${database}.${table.table}: ${rows} rows`);
      }
      const problems: string[] = [];
      for (const t of manifest.tables) {
        stopped();
        const raw = new StreamMeter();
        const table = t.name.slice(t.name.indexOf('.') + 1);
        await pipeline(exportRows(c, { database, table, columns: t.columns, binary: t.binary, primaryKey: t.primaryKey }), raw, sink(), { signal }).catch((err: unknown) => {
          stopped();
          throw err;
        });
        if (raw.lines !== t.rows) problems.push(`${t.name}: ${raw.lines} rows restored, manifest says ${t.rows}`);
        else if (raw.sha256 !== t.rawSha256) problems.push(`${t.name}: restored rows differ from the backup (checksum)`);
      }
      stopped();
      if (problems.length) for (const p of problems) this.output.error('restore', p);
      else this.output.ok('restore', `${manifest.id} restored and verified: ${manifest.tables.length} tables, counts and checksums match`);
      return { ok: problems.length === 0, problems };
    } catch (err) {
      if (signal?.aborted && created.length) await this.dropRestored(options.targetUrl, database, created);
      throw err;
    } finally {
      await c.end().catch(() => {});
    }
  }

  /**
   * After a stopped restore: drops the tables this run created (the database had none before it),
   * on a session of its own (the restore's may still be reading a cut-off result).
   */
  private async dropRestored(targetUrl: string, database: string, tables: readonly string[]): Promise<void> {
    const list = tables.map((t) => `${database}.${t}`).join(', ');
    try {
      const d = await openExportSession(targetUrl, 'target');
      try {
        await dropTables(d, database, tables);
      } finally {
        await d.end().catch(() => {});
      }
      this.output.info('restore', `interrupted: dropped the table(s) this run had restored: ${list}`);
    } catch (err) {
      this.output.warn('restore', `interrupted, and the table(s) this run had restored could not be dropped: ${(err as Error).message}; drop them by hand: ${list}`);
    }
  }

  /** MySQL commits DDL as it goes: what was restored before the damaged file stays in the scratch database. */
  private damagedFile(file: string, why: string, database: string, cause?: unknown): CutoverError {
    return new CutoverError('GATE_FAILED', `backup object ${file} in ${this.store.location} is damaged: ${why}`, {
      received: file,
      fix: `drop the scratch database ${database} (tables before this one were restored into it), then restore another backup with --id, or take a new one with \`cutover snapshot\``,
      cause,
    });
  }
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/** Restore writes only into an empty database: PRECONDITION_FAILED naming the tables it found. */
async function refuseTables(c: Parameters<typeof tablesIn>[0], database: string, targetUrl: string): Promise<void> {
  const existing = await tablesIn(c, database);
  if (existing.length) {
    throw new CutoverError('PRECONDITION_FAILED', `restore needs an empty database; ${withoutPassword(targetUrl)} has tables`, {
      received: existing,
      fix: 'restore into a new database (CREATE DATABASE restore_check) or drop these tables first',
    });
  }
}
