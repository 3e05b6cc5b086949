import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { ProgressRate } from '../output/progress-rate.ts';
import type { PartialBackup, SnapshotManifest, Snapshotter, Throttler } from '../platform/roles.ts';
import { clearInProgress, findPartialBackups, markInProgress, noteCreated, sweepPartialBackups } from './partial-backups.ts';
import { PacedStream } from '../throttle/paced-stream.ts';
import { readMappedCatalog, resolveSelected, sideScope } from '../mappings/index.ts';
import { mappingEngine } from '../mappings/mapped-tables.ts';
import { createSlotWithSnapshot, dropPublication, dropSlot, ensurePublication, redact, slotInfo } from '../replication/replication-slot.ts';
import { streamNames } from '../replication/stream-names.ts';
import type { BackupStore } from './backup-store.ts';
import { openBackupStore } from './open-backup-store.ts';
import { readTableDdl, type TableDdl } from './schema-ddl.ts';
import { StreamMeter } from './table-file-meter.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { TOOL_VERSION } from '../tool-version.ts';

/** The manifest as written: the contract fields plus what restore and verify need. */
export interface PostgresSnapshotManifest extends SnapshotManifest {
  readonly tables: (SnapshotManifest['tables'][number] & {
    /** SHA-256 of the uncompressed COPY text, rows in key order: restore compares the restored table to it. */
    readonly rawSha256: string;
    readonly columns: string[];
    readonly primaryKey: string[];
    readonly preData: string;
    readonly postData: string;
    readonly sequences: { column: string; sequence: string; value: number | null }[];
  })[];
  /** The slot whose consistent point is `position` (CDC continues from it), and whether it outlives the snapshot. */
  readonly slot: { readonly name: string; readonly persistent: boolean };
  readonly source: string;
}

const q = (s: string) => '"' + s.replace(/"/g, '""') + '"';

/**
 * gzip level of table files: 1 compresses COPY text about 4:1 at a few times the speed of the
 * default 6 (which gains ~15 % in size), and the snapshot runs while blue serves customers.
 */
const GZIP_LEVEL = 1;
/**
 * zlib works in chunks of this size, each a thread-pool task and an event-loop turn. The default
 * 16 KiB made a 1,000,000-order backup's verify take 8 minutes in the rehearsal, whose event loop
 * also serves the load, the apps and the router (a turn then waits ~20 ms): 1 MiB chunks are
 * 3 times faster under a busy loop (gunzip of 73 MB: 10.0 s -> 3.2 s).
 */
const ZLIB_CHUNK = 1 << 20;

/**
 * The `postgres` platform's consistent logical backup. The logical slot is created first, with
 * its snapshot exported; every table the forward mapping selects is copied in that one snapshot,
 * gzip-compressed, into the backup store, with a manifest (DDL from the catalog, rows, SHA-256,
 * bytes, the slot's consistent LSN, tool version). The slot stays for replication to continue
 * from, so full load + CDC starts exactly at the backup's point.
 */
export class PostgresSnapshotter implements Snapshotter {
  readonly store: BackupStore;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    store?: BackupStore,
    /** Paces the COPY reads on blue (lib/throttle). @default - none: they never wait */
    private readonly throttler?: Throttler,
  ) {
    this.store = store ?? openBackupStore(env);
  }

  async snapshot(options: { readonly signal?: AbortSignal } = {}): Promise<PostgresSnapshotManifest> {
    const { signal } = options;
    const names = streamNames(this.env, 'forward');
    const admin = await open(this.env.source.url);
    let exported: Awaited<ReturnType<typeof createSlotWithSnapshot>> | undefined;
    let reuse = false;
    /** This run made the publication (none existed): a failure drops it with the slot. */
    let publicationCreated = false;
    const id = snapshotId();
    try {
      await sweepPartialBackups(this.store, this.out);
      const marker = await markInProgress(this.store, id); // first: a kill from here on leaves a partial backup that names its owner
      const doc = await mappingEngine.loadTableMappings(this.env.mappingFiles.forward);
      const { catalog, schemas } = await readMappedCatalog(admin, doc, sideScope(this.env, 'source'));
      const tables = resolveSelected(doc, catalog, schemas, 'source').tables;
      // The replication slot (and its publication) when replication has not begun and no waves
      // split it; otherwise a temporary slot that only pins this snapshot.
      reuse = !this.env.replication.waves.length && !(await slotInfo(admin, names.slot)).exists;
      const slotName = reuse ? names.slot : `${names.slot}_snap_${randomBytes(3).toString('hex')}`;
      if (reuse) publicationCreated = (await ensurePublication(admin, names.publication, tables)) === 'created';
      exported = await createSlotWithSnapshot(this.env.source.url, slotName, {
        temporary: !reuse,
        onRetry: (r) => this.out.warn('snapshot', `creating slot ${r.slotName}: PostgreSQL could not build its snapshot under load (${r.error}); try ${r.attempt + 1} of ${r.tries} in ${r.waitMs} ms`),
      });
      await noteCreated(this.store, marker, { ...(reuse ? { slot: slotName } : {}), ...(publicationCreated ? { publication: names.publication } : {}) });
      this.out.info('snapshot', `slot ${slotName} at ${exported.consistentLsn}${reuse ? ' (replication continues from it)' : ''}`);

      const reader = await open(this.env.source.url);
      const entries: PostgresSnapshotManifest['tables'][number][] = [];
      try {
        await reader.query('begin isolation level repeatable read read only');
        await reader.query(`set transaction snapshot '${exported.snapshotName}'`);
        // planner estimates, for the progress line's total and ETA only
        const { rows: estimates } = await reader.query<{ n: number }>(
          `select greatest(c.reltuples, 0)::float8 as n from unnest($1::text[]) with ordinality as t(name, i) join pg_class c on c.oid = t.name::regclass order by t.i`,
          [tables.map((t) => `${q(t.source.schema)}.${q(t.source.table)}`)],
        );
        const estimatedTotal = Math.round(estimates.reduce((n, r) => n + r.n, 0));
        const rate = new ProgressRate();
        let rowsBefore = 0;
        for (const t of tables) {
          throwIfInterrupted(signal);
          const ddl = await readTableDdl(reader, t.source.schema, t.source.table);
          const file = `${id}/tables/${t.source.schema}.${t.source.table}.copy.gz`;
          const raw = new StreamMeter();
          const gz = new StreamMeter();
          const copy = reader.query(copyStreams.to(`copy (${selectOrdered(ddl)}) to stdout`));
          const body = new PassThrough();
          // Each side's failure ends the other (a failed COPY destroys `body`, so the put discards the
          // partial object; a failed put destroys `body`, so the COPY stops with an AbortError). Both
          // are awaited and the put's error wins: it is the cause, or the COPY's own error passed on.
          const showProgress = () => {
            const done = rowsBefore + raw.lines;
            const total = Math.max(estimatedTotal, done);
            this.out.progress({ topic: 'snapshot', done, total, unit: 'rows', figures: { table: `${t.source.schema}.${t.source.table}`, ...rate.figures(done, total), ...this.throttler?.progressFigures() } });
          };
          const ticker = setInterval(showProgress, 1000);
          const [stored, copied] = await Promise.allSettled([this.store.put(file, body), (this.throttler ? pipeline(copy, new PacedStream(this.throttler, 'snapshot'), raw, createGzip({ level: GZIP_LEVEL, chunkSize: ZLIB_CHUNK }), gz, body, { signal }) : pipeline(copy, raw, createGzip({ level: GZIP_LEVEL, chunkSize: ZLIB_CHUNK }), gz, body, { signal }))]).finally(() => clearInterval(ticker));
          rowsBefore += raw.lines;
          if (stored.status === 'rejected') throw stored.reason;
          if (copied.status === 'rejected') throw copied.reason;
          const sequences: { column: string; sequence: string; value: number | null }[] = [];
          for (const s of ddl.sequences) {
            const { rows } = await reader.query<{ v: string | null }>(`select last_value::text as v from ${s.sequence} where is_called`);
            sequences.push({ ...s, value: rows[0]?.v ? Number(rows[0].v) : null });
          }
          entries.push({
            name: ddl.name,
            rows: raw.lines,
            file,
            sha256: gz.sha256,
            bytes: gz.bytes,
            rawSha256: raw.sha256,
            columns: ddl.columns,
            primaryKey: ddl.primaryKey,
            preData: ddl.preData,
            postData: ddl.postData,
            sequences,
          });
          this.out.ok('snapshot', `${ddl.name}: ${raw.lines} rows, ${gz.bytes} bytes`);
        }
        await reader.query('commit');
        this.out.done('snapshot');
      } finally {
        await reader.end().catch(() => {});
      }
      const manifest: PostgresSnapshotManifest = {
        id,
        createdAt: new Date().toISOString(),
        toolVersion: TOOL_VERSION,
        position: exported.consistentLsn,
        tables: entries,
        ddl: entries.map((e) => e.preData).join('\n\n') + '\n\n' + entries.map((e) => e.postData).filter(Boolean).join('\n'),
        slot: { name: slotName, persistent: reuse },
        source: redact(this.env.source.url),
      };
      await this.store.put(`${id}/manifest.json`, JSON.stringify(manifest, null, 2) + '\n');
      await this.finished(id);
      this.out.ok('snapshot', `${id} in ${this.store.location} at ${manifest.position}`);
      return manifest;
    } catch (err) {
      await exported?.connection.end().catch(() => {});
      // The slot this run made for replication to continue from marks a backup that does not
      // exist: drop it, so a re-run makes it again at its own consistent point.
      if (exported && reuse) await dropSlot(admin, exported.slotName).catch((e: unknown) => this.out.warn('snapshot', `could not drop replication slot ${exported!.slotName} after the failure: ${(e as Error).message}; drop it before re-running (select pg_drop_replication_slot('${exported!.slotName}'))`));
      // Likewise the publication, when this run made it; one that was there before (made by the
      // tables' owner for a read-only role, or by an earlier run) is left as it is.
      if (publicationCreated) {
        await dropPublication(admin, names.publication)
          .then(() => this.out.info('snapshot', `failed: dropped publication ${names.publication}, which this run had created`))
          .catch((e: unknown) => this.out.warn('snapshot', `could not drop publication ${names.publication} (this run created it) after the failure: ${(e as Error).message}; drop it before re-running (drop publication "${names.publication}")`));
      }
      await this.discard(id);
      throw signal?.aborted ? interrupted() : err;
    } finally {
      await exported?.connection.end().catch(() => {});
      await admin.end().catch(() => {});
    }
  }

  /**
   * After a failed snapshot: deletes whatever it wrote under its id, so no backup without a
   * manifest stays behind (restore would ignore it; nothing else would ever remove it).
   */
  protected async discard(id: string): Promise<void> {
    try {
      await this.store.remove(id);
      this.out.info('snapshot', `failed: removed the partial backup ${id} from ${this.store.location}`);
    } catch (err) {
      this.out.warn('snapshot', `failed, and the partial backup ${id} could not be removed from ${this.store.location}: ${(err as Error).message}; delete ${id}/ by hand`);
    }
  }

  /** After the manifest: the in-progress marker goes (the manifest alone says the backup is complete). */
  protected async finished(id: string): Promise<void> {
    await clearInProgress(this.store, id).catch((err: unknown) => this.out.warn('snapshot', `${id} is complete, but its in-progress marker could not be deleted: ${(err as Error).message}`));
  }

  async partials(): Promise<PartialBackup[]> {
    return findPartialBackups(this.store);
  }

  async list(): Promise<PostgresSnapshotManifest[]> {
    const keys = (await this.store.list()).filter((k) => /^[^/]+\/manifest\.json$/.test(k));
    const manifests: PostgresSnapshotManifest[] = [];
    for (const key of keys) manifests.push(JSON.parse(await readAll(await this.store.get(key))) as PostgresSnapshotManifest);
    return manifests.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  protected async manifest(id?: string): Promise<PostgresSnapshotManifest> {
    if (id) return JSON.parse(await readAll(await this.store.get(`${id}/manifest.json`))) as PostgresSnapshotManifest;
    const all = await this.list();
    if (!all.length) {
      throw new CutoverError('PRECONDITION_FAILED', `no backup in ${this.store.location}`, { fix: 'run `cutover snapshot` first' });
    }
    return all[all.length - 1]!;
  }

  async verify(id?: string, options: { readonly signal?: AbortSignal } = {}): Promise<{ ok: boolean; problems: string[]; manifest: PostgresSnapshotManifest }> {
    const { signal } = options;
    const manifest = await this.manifest(id);
    const problems: string[] = [];
    const rowsTotal = manifest.tables.reduce((n, t) => n + t.rows, 0);
    const rate = new ProgressRate();
    let rowsBefore = 0;
    for (const t of manifest.tables) {
      if (signal?.aborted) throw verifyInterrupted(manifest.id);
      const gz = new StreamMeter();
      const raw = new StreamMeter();
      const ticker = setInterval(() => {
        const done = rowsBefore + raw.lines;
        this.out.progress({ topic: 'snapshot verify', done, total: rowsTotal, unit: 'rows', figures: { table: t.name, ...rate.figures(done, rowsTotal) } });
      }, 1000);
      try {
        await pipeline(await this.store.get(t.file), gz, createGunzip({ chunkSize: ZLIB_CHUNK }), raw, sink(), { signal });
      } catch (err) {
        if (signal?.aborted) throw verifyInterrupted(manifest.id);
        problems.push(`${t.name}: ${t.file} cannot be read: ${(err as Error).message}`);
        continue;
      } finally {
        clearInterval(ticker);
        rowsBefore += t.rows;
      }
      if (gz.sha256 !== t.sha256) problems.push(`${t.name}: sha256 of ${t.file} is ${gz.sha256}, manifest says ${t.sha256}`);
      if (gz.bytes !== t.bytes) problems.push(`${t.name}: ${t.file} has ${gz.bytes} bytes, manifest says ${t.bytes}`);
      if (raw.lines !== t.rows) problems.push(`${t.name}: ${raw.lines} rows in ${t.file}, manifest says ${t.rows}`);
      if (raw.sha256 !== t.rawSha256) problems.push(`${t.name}: content checksum differs from the manifest`);
    }
    this.out.done('snapshot verify');
    if (problems.length) for (const p of problems) this.out.error('snapshot verify', p);
    else this.out.ok('snapshot verify', `${manifest.id}: ${manifest.tables.length} tables match the manifest`);
    return { ok: problems.length === 0, problems, manifest };
  }

  /** A table file that no longer matches its manifest; restore runs in one transaction, so nothing was restored. */
  protected damaged(t: PostgresSnapshotManifest['tables'][number], why: string, cause?: unknown): CutoverError {
    return new CutoverError('GATE_FAILED', `backup object ${t.file} in ${this.store.location} is damaged: ${why}`, {
      received: t.file,
      fix: 'nothing was restored (the transaction rolled back): restore another backup with --id, or take a new one with `cutover snapshot`',
      cause,
    });
  }

  /** After a table failed to load: the damaged-backup error if its object no longer matches the manifest. */
  private async damageOf(t: PostgresSnapshotManifest['tables'][number], loadError: unknown): Promise<CutoverError | undefined> {
    const gz = new StreamMeter();
    try {
      await pipeline(await this.store.get(t.file), gz, sink());
    } catch {
      return undefined; // unreadable now: the load error says more
    }
    if (gz.sha256 === t.sha256) return undefined;
    return this.damaged(t, `sha256 ${gz.sha256} differs from the manifest's ${t.sha256} (loading it failed: ${(loadError as Error).message})`, loadError);
  }

  /** What `restore` refuses before it writes (no backup, a target with tables), found by reading only: a dry run meets it too. */
  async checkRestore(options: { id?: string; targetUrl: string }): Promise<void> {
    await this.manifest(options.id);
    const client = await open(options.targetUrl);
    try {
      await refuseTables(client, options.targetUrl);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * One transaction from the first CREATE to the read-back that verifies it, so a restore that
   * fails or is stopped (Ctrl-C: the copy stops mid-table) leaves the database as empty as it was.
   */
  async restore(options: { id?: string; targetUrl: string; readonly signal?: AbortSignal }): Promise<{ ok: boolean; problems: string[] }> {
    const { signal } = options;
    const manifest = await this.manifest(options.id);
    const client = await open(options.targetUrl);
    try {
      await refuseTables(client, options.targetUrl);
      await client.query('begin');
      let problems: string[];
      try {
        for (const t of manifest.tables) {
          await client.query(t.preData).catch((err: unknown) => {
            throw missingObject(err, t.name, manifest.id, options.targetUrl) ?? err;
          });
        }
        for (const t of manifest.tables) {
          throwIfRestoreInterrupted(signal, manifest.id, options.targetUrl);
          const gz = new StreamMeter();
          const cols = t.columns.map(q).join(', ');
          const sinkStream = client.query(copyStreams.from(`copy ${qualifiedName(t.name)} (${cols}) from stdin`));
          try {
            await pipeline(await this.store.get(t.file), gz, createGunzip({ chunkSize: ZLIB_CHUNK }), sinkStream, { signal });
          } catch (err) {
            throwIfRestoreInterrupted(signal, manifest.id, options.targetUrl);
            // Damaged bytes fail in gunzip or, decoded wrongly, in COPY: say which it was.
            throw (await this.damageOf(t, err)) ?? err;
          }
          if (gz.sha256 !== t.sha256) throw this.damaged(t, `sha256 ${gz.sha256} differs from the manifest's ${t.sha256}`);
          this.out.ok('restore', `${t.name}: ${sinkStream.rowCount} rows`);
        }
        throwIfRestoreInterrupted(signal, manifest.id, options.targetUrl);
        for (const t of manifest.tables) if (t.postData) await client.query(t.postData);
        for (const t of manifest.tables) {
          for (const s of t.sequences) if (s.value !== null) await client.query('select setval($1::regclass, $2)', [s.sequence, s.value]);
        }
        // read back in the same transaction: a Ctrl-C here still undoes everything
        problems = [];
        for (const t of manifest.tables) {
          throwIfRestoreInterrupted(signal, manifest.id, options.targetUrl);
          const raw = new StreamMeter();
          const ddl = { name: t.name, schema: '', table: '', columns: t.columns, primaryKey: t.primaryKey } as unknown as TableDdl;
          await pipeline(client.query(copyStreams.to(`copy (${selectOrdered(ddl)}) to stdout`)), raw, sink(), { signal });
          if (raw.lines !== t.rows) problems.push(`${t.name}: ${raw.lines} rows restored, manifest says ${t.rows}`);
          else if (raw.sha256 !== t.rawSha256) problems.push(`${t.name}: restored rows differ from the backup (checksum)`);
        }
        throwIfRestoreInterrupted(signal, manifest.id, options.targetUrl);
        await client.query('commit');
      } catch (err) {
        if (signal?.aborted) {
          // A COPY cut mid-stream may keep the session busy until the server has sent the rest:
          // closing the session is the prompt way out, and the server rolls the transaction back.
          await client.end().catch(() => {});
          this.out.info('restore', `interrupted: the restore's transaction was rolled back; nothing of backup ${manifest.id} stays in ${redact(options.targetUrl)}`);
          throw restoreInterrupted(manifest.id, options.targetUrl);
        }
        await client.query('rollback').catch(() => {});
        throw err;
      }
      if (problems.length) for (const p of problems) this.out.error('restore', p);
      else this.out.ok('restore', `${manifest.id} restored and verified: ${manifest.tables.length} tables, counts and checksums match`);
      return { ok: problems.length === 0, problems };
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** Restore writes only into an empty database: PRECONDITION_FAILED naming up to 5 of the tables it found. */
async function refuseTables(client: pg.Client, targetUrl: string): Promise<void> {
  const { rows: existing } = await client.query<{ name: string }>(
    `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
      order by 1 limit 5`,
  );
  if (existing.length) {
    throw new CutoverError('PRECONDITION_FAILED', `restore needs an empty database; ${redact(targetUrl)} has tables`, {
      received: existing.map((r) => r.name),
      fix: 'restore into a new database (createdb …) or drop these tables first',
    });
  }
}

/** `schema.table` (as the manifest names it) quoted; names with dots in them are not supported. */
function qualifiedName(name: string): string {
  const i = name.indexOf('.');
  return `${q(name.slice(0, i))}.${q(name.slice(i + 1))}`;
}

/** The table's COPY columns in key order, so the same rows always give the same checksum. */
function selectOrdered(ddl: Pick<TableDdl, 'name' | 'columns' | 'primaryKey'>): string {
  const order = ddl.primaryKey.length ? ddl.primaryKey.map(q).join(', ') : 't::text';
  return `select ${ddl.columns.map((c) => `t.${q(c)}`).join(', ')} from ${qualifiedName(ddl.name)} t order by ${order}`;
}

/** The error of a snapshot stopped by Ctrl-C (after it removed what it wrote). */
export function interrupted(): CutoverError {
  return new CutoverError('ABORTED', 'snapshot interrupted: the partial backup was removed', { fix: 'run `cutover snapshot` again' });
}

export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted();
}

/** The error of a backup re-read stopped by Ctrl-C (it only reads: nothing to undo). */
export function verifyInterrupted(id: string): CutoverError {
  return new CutoverError('ABORTED', `verify of backup ${id} interrupted: nothing was judged (it only reads; nothing was changed)`, { fix: 'run the command again' });
}

/** The error of a restore stopped by Ctrl-C (after what it restored was removed). */
export function restoreInterrupted(id: string, targetUrl: string): CutoverError {
  return new CutoverError('ABORTED', `restore of backup ${id} interrupted: what it had restored was removed, ${redact(targetUrl)} is empty again`, {
    received: redact(targetUrl),
    fix: 'run `cutover restore` again with the same --target-url',
  });
}

function throwIfRestoreInterrupted(signal: AbortSignal | undefined, id: string, targetUrl: string): void {
  if (signal?.aborted) throw restoreInterrupted(id, targetUrl);
}

/** `snap-<UTC time>-<4 hex>`: sorts by time, unique within a second. */
export function snapshotId(): string {
  return `snap-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts).toString('utf8');
}

async function open(url: string): Promise<pg.Client> {
  return openKitClient(url, 'cutover-snapshot');
}

/**
 * A table of the backup that cannot be created because the database lacks something it names (a
 * composite, range or extension type, a function in a default): bad input with its fix, not an
 * internal error. The restore's one transaction leaves the database as it was.
 */
function missingObject(err: unknown, table: string, id: string, url: string): CutoverError | undefined {
  const code = (err as { code?: string }).code;
  if (code !== '42704' && code !== '42883' && code !== '3F000') return undefined;
  return new CutoverError('PRECONDITION_FAILED', `restore of backup ${id} could not create ${table} in ${redact(url)}: ${(err as Error).message}; nothing was restored`, {
    received: table,
    fix: 'create what the message names in the empty database first (a composite, range or extension type the backup does not carry: CREATE TYPE / CREATE EXTENSION as on the source), then run restore again',
    cause: err,
  });
}
