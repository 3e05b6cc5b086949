import ZongJi from '@vlasky/zongji';
import { CutoverError } from '../../errors.ts';
import { binlogPositionToLsn, type BinlogPosition } from './binlog-position.ts';
import { parseMysqlUrl, tagKitSession } from './mysql-connection.ts';
import { pgTextConverter, type PgTextConverter } from './mysql-pg-text.ts';

/** A row as PostgreSQL text per source column (see mysql-pg-text.ts). */
export type BinlogRow = Record<string, string | null>;

export type BinlogChange =
  | { readonly kind: 'insert'; readonly schema: string; readonly table: string; readonly newRow: BinlogRow }
  | { readonly kind: 'update'; readonly schema: string; readonly table: string; readonly newRow: BinlogRow; readonly oldKey: BinlogRow | null; readonly keyColumns: readonly string[] }
  | { readonly kind: 'delete'; readonly schema: string; readonly table: string; readonly oldKey: BinlogRow; readonly keyColumns: readonly string[] }
  | { readonly kind: 'truncate'; readonly relations: readonly { schema: string; table: string }[] };

/**
 * One committed source transaction, in the shape the kit's apply side takes (the same fields as
 * the WAL path's `SourceTransaction`). Positions are in `pg_lsn` form (binlog-position.ts):
 * `commitLsn` where the transaction starts in the binlog, `endLsn` just after its commit event —
 * where a reader resumes after it.
 */
export interface BinlogTransaction {
  readonly commitLsn: string;
  readonly endLsn: string;
  /** The commit event's time (the binlog has whole seconds). */
  readonly commitTime: Date;
  readonly changes: BinlogChange[];
  /** Where it ends, as file + offset, and its GTID when the server has one. */
  readonly end: BinlogPosition;
  /** When this process received its commit (lag while it waits to be applied). */
  readonly receivedAt: number;
}

export interface BinlogTableSpec {
  readonly schema: string;
  readonly table: string;
  /** Column → the MySQL column type (`COLUMN_TYPE`), for the value conversion. */
  readonly nativeTypes: ReadonlyMap<string, string>;
  readonly primaryKey: readonly string[];
}

export interface BinlogReaderOptions {
  readonly url: string;
  /** Where to start: the end of the last transaction applied. */
  readonly from: BinlogPosition;
  /** Replica id the reader announces; unique among the source's replicas. */
  readonly serverId: number;
  /** The tables whose row changes are delivered; others only move the position. */
  readonly tables: readonly BinlogTableSpec[];
  onTransaction(txn: BinlogTransaction): void;
  /** Outside any transaction the stream has reached `position` (empty or skipped transactions, rotations). */
  onPosition(position: BinlogPosition, lsn: string): void;
  onError(err: Error): void;
  /**
   * The columns a delivered table's rows carry that the table's spec does not (added on the source
   * since the spec was read: their values are not delivered). Told when they change from one rows
   * event of the table to the next — an empty list too (a column dropped again); never while a
   * table's rows carry none. @default - ignored
   */
  onColumnsBeyondSpec?(schema: string, table: string, columns: readonly string[]): void;
}

interface TableSpecCompiled {
  readonly spec: BinlogTableSpec;
  readonly convert: Map<string, PgTextConverter>;
}

/**
 * How often an idle source sends a heartbeat event on the dump connection. Short: a heartbeat also
 * carries the position past events the server left out (skip_replication), which the write switch
 * waits for once blue is fenced.
 */
export const HEARTBEAT_PERIOD_MS = 200;

type ZongJiEvent = { getEventName(): string; nextPosition: number; timestamp: number; [k: string]: unknown };

/**
 * The forward CDC reader of a MySQL-family source: `@vlasky/zongji` (maintained, on mysql2)
 * decodes the ROW binlog from a file + offset; this class groups row events into committed
 * transactions and converts every value to PostgreSQL text. Exactness is by decoder options,
 * each checked by test/replication/binlog-replication.test.ts: DECIMAL as exact strings
 * (mysql2 default), DATETIME/TIMESTAMP as strings with all six fractional digits
 * (`dateStrings`, TIMESTAMP rendered in UTC), JSON as text (`jsonStrings`), 64-bit integers as
 * digits (`bigNumberStrings`), BLOBs as bytes.
 *
 * On MariaDB the dump session sets `skip_replication = 1`: the server then leaves out the events
 * written by sessions with `skip_replication = 1` — the kit's reverse applier into blue — so
 * forward and reverse never ping-pong.
 */
export class BinlogReader {
  private zongji: ZongJi | null = null;
  private readonly tables = new Map<string, TableSpecCompiled>();
  /** Per table, the columns beyond its spec last told (onColumnsBeyondSpec), joined. */
  private readonly columnsBeyondSpec = new WeakMap<TableSpecCompiled, string>();
  private file: string;
  private txnStart: number | null = null;
  private changes: BinlogChange[] = [];
  private gtid: string | null = null;
  private paused = false;
  private lastEventAt = Date.now();
  /**
   * Null once the server filters the events written with `skip_replication = 1` (MariaDB); else
   * why not — then changes the kit's reverse applier wrote into the source come back through this
   * stream, so forward and reverse must not run at once.
   */
  skipFilter: string | null | undefined;
  /** End of the last event read: where the next event begins. */
  private lastEnd: number;

  constructor(private readonly options: BinlogReaderOptions) {
    this.file = options.from.file;
    this.lastEnd = options.from.position;
    for (const spec of options.tables) {
      const convert = new Map<string, PgTextConverter>();
      for (const [col, type] of spec.nativeTypes) {
        const text = pgTextConverter(type, `${spec.schema}.${spec.table}.${col}`);
        convert.set(col, /^time\b/i.test(type.trim()) ? (v) => text(typeof v === 'string' ? negativeTimeCarried(v) : v) : text);
      }
      this.tables.set(`${spec.schema}\u0000${spec.table}`, { spec, convert });
    }
  }

  /** Connects and starts streaming; resolves once the server accepted the dump request. */
  async start(): Promise<void> {
    const o = parseMysqlUrl(this.options.url);
    const z = new ZongJi({
      host: o.host,
      port: o.port,
      user: o.user,
      password: o.password,
      ...(o.ssl ? { ssl: o.ssl } : {}),
      charset: 'utf8mb4',
      dateStrings: true,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
    } as never);
    this.zongji = z;
    await new Promise<void>((resolve, reject) => {
      let started = false;
      z.on('ready', () => {
        started = true;
        resolve();
      });
      z.on('error', (err: Error) => {
        if (!started) reject(err);
        else this.options.onError(err);
      });
      z.on('binlog', (e: unknown) => {
        try {
          this.event(e as ZongJiEvent);
        } catch (err) {
          this.options.onError(err as Error);
        }
      });
      z.start({ serverId: this.options.serverId, filename: this.options.from.file, position: this.options.from.position });
      // queued on the dump connection before zongji's own preamble (see the class comment); MySQL has no such variable
      const dump = z.connection as unknown as { query(sql: string, cb: (err: unknown) => void): void } | null;
      dump?.query('SET skip_replication = 1', (err) => {
        // MySQL has no such variable (and no such flag): there the reverse applier's writes cannot be told apart
        this.skipFilter = err ? `the server did not accept skip_replication on the dump session (${(err as Error).message})` : null;
      });
      // the server sends a heartbeat event after this long without events (nanoseconds): an idle
      // stream still proves it is alive (see idleMs)
      dump?.query(`SET @master_heartbeat_period = ${HEARTBEAT_PERIOD_MS * 1_000_000}`, () => {});
      // both of zongji's sessions are the kit's: the write fence must not end them (its control
      // session looks up each table's columns; ended, the stream halts)
      if (dump) tagKitSession(dump);
      const ctrl = (z as unknown as { ctrlConnection?: Parameters<typeof tagKitSession>[0] | null }).ctrlConnection;
      if (ctrl) tagKitSession(ctrl);
    });
  }

  /** Back-pressure: stop reading from the socket while the apply side is behind. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    (this.zongji?.connection as unknown as { pause?: () => void } | null)?.pause?.();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    (this.zongji?.connection as unknown as { resume?: () => void } | null)?.resume?.();
  }

  async stop(): Promise<void> {
    const z = this.zongji;
    this.zongji = null;
    if (!z) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      z.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        z.stop();
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Milliseconds since the last event from the server (heartbeats included); beyond a few heartbeat periods the connection is dead. */
  idleMs(): number {
    return this.paused ? 0 : Date.now() - this.lastEventAt;
  }

  private event(e: ZongJiEvent): void {
    this.lastEventAt = Date.now();
    this.handle(e);
    if (e.getEventName() !== 'rotate' && e.nextPosition > 0) this.lastEnd = e.nextPosition;
  }

  private handle(e: ZongJiEvent): void {
    const name = e.getEventName();
    switch (name) {
      case 'rotate': {
        this.file = String(e.binlogName);
        this.lastEnd = Number(e.position);
        if (this.txnStart === null) this.idle(Number(e.position));
        return;
      }
      case 'mariadbgtid':
      case 'gtid':
      case 'anonymousgtid':
        this.gtid = typeof e.gtid === 'string' ? e.gtid : null;
        // a MariaDB GTID event begins a transaction unless standalone (DDL, no COMMIT follows)
        if (name !== 'mariadbgtid' || !e.standalone) this.begin(e);
        return;
      case 'query': {
        const q = String(e.query ?? '').trim();
        if (/^BEGIN$/i.test(q)) {
          if (this.txnStart === null) this.begin(e);
          return;
        }
        if (/^COMMIT$/i.test(q)) {
          this.commit(e);
          return;
        }
        const truncated = /^truncate\s+(?:table\s+)?(?:`((?:[^`]|``)+)`|(\w+))(?:\.(?:`((?:[^`]|``)+)`|(\w+)))?\s*$/i.exec(q);
        if (truncated) {
          const first = (truncated[1] ?? truncated[2])!.replace(/``/g, '`');
          const second = (truncated[3] ?? truncated[4])?.replace(/``/g, '`');
          const schema = second ? first : String(e.schema ?? '');
          const table = second ?? first;
          if (this.tables.has(`${schema}\u0000${table}`)) {
            const at = this.txnStart ?? this.lastEnd;
            this.emit(at, e, [{ kind: 'truncate', relations: [{ schema, table }] }]);
            return;
          }
        }
        // DDL and other statements are not replicated (as with DMS's defaults for a PostgreSQL target)
        if (this.txnStart === null) this.idle(e.nextPosition);
        return;
      }
      case 'xid':
      case 'xaprepare':
        this.commit(e);
        return;
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.rows(name, e);
        return;
      case 'transactionpayload':
      case 'partialupdaterows':
        throw new CutoverError('PRECONDITION_FAILED', `the source wrote a ${name} event, which the kit cannot decode: row changes would be lost`, {
          fix: 'set binlog_transaction_compression=OFF and binlog_row_value_options="" on the source (cutover assess checks both)',
        });
      default:
        if (this.txnStart === null && e.nextPosition > 0) this.idle(e.nextPosition);
    }
  }

  private begin(_e: ZongJiEvent): void {
    this.txnStart = this.lastEnd;
    this.changes = [];
  }

  private rows(name: string, e: ZongJiEvent): void {
    const map = (e.tableMap as Record<number, { parentSchema: string; tableName: string }>)[e.tableId as number];
    if (!map) return;
    const t = this.tables.get(`${map.parentSchema}\u0000${map.tableName}`);
    if (!t) return;
    const { schema, table, primaryKey } = t.spec;
    const convert = (row: Record<string, unknown>): BinlogRow => {
      const out: BinlogRow = {};
      for (const [col, fn] of t.convert) {
        if (!(col in row)) {
          throw new CutoverError('PRECONDITION_FAILED', `the binlog row of ${schema}.${table} has no column ${col}: the source writes partial row images`, {
            fix: 'set binlog_row_image=FULL on the source (cutover assess checks it), then replicate start again',
          });
        }
        out[col] = fn(row[col]);
      }
      return out;
    };
    const key = (row: BinlogRow): BinlogRow => Object.fromEntries(primaryKey.map((k) => [k, row[k] ?? null]));
    if (this.options.onColumnsBeyondSpec) {
      const first = (e.rows as unknown[])[0] as Record<string, unknown> | { after?: Record<string, unknown> } | undefined;
      const image = first && name !== 'writerows' && name !== 'deleterows' ? (first as { after?: Record<string, unknown> }).after : (first as Record<string, unknown> | undefined);
      if (image) {
        const beyond = Object.keys(image).filter((c) => !t.convert.has(c));
        const said = beyond.join('\0');
        if (said !== (this.columnsBeyondSpec.get(t) ?? '')) {
          this.columnsBeyondSpec.set(t, said);
          this.options.onColumnsBeyondSpec(schema, table, beyond);
        }
      }
    }
    if (this.txnStart === null) this.begin(e);
    for (const r of e.rows as unknown[]) {
      if (name === 'writerows') this.changes.push({ kind: 'insert', schema, table, newRow: convert(r as Record<string, unknown>) });
      else if (name === 'deleterows') this.changes.push({ kind: 'delete', schema, table, oldKey: key(convert(r as Record<string, unknown>)), keyColumns: primaryKey });
      else {
        const { before, after } = r as { before: Record<string, unknown>; after: Record<string, unknown> };
        const newRow = convert(after);
        const oldKey = key(convert(before));
        this.changes.push({ kind: 'update', schema, table, newRow, oldKey, keyColumns: primaryKey });
      }
    }
  }

  private commit(e: ZongJiEvent): void {
    const start = this.txnStart ?? e.nextPosition;
    const changes = this.changes;
    this.txnStart = null;
    this.changes = [];
    this.emit(start, e, changes);
  }

  private emit(start: number, e: ZongJiEvent, changes: BinlogChange[]): void {
    const end: BinlogPosition = { file: this.file, position: e.nextPosition, gtid: this.gtid };
    this.options.onTransaction({
      commitLsn: binlogPositionToLsn({ file: this.file, position: Math.max(4, start) }),
      endLsn: binlogPositionToLsn(end),
      commitTime: new Date(e.timestamp),
      changes,
      end,
      receivedAt: Date.now(),
    });
  }

  private idle(position: number): void {
    if (!position) return;
    const p: BinlogPosition = { file: this.file, position, gtid: this.gtid };
    this.options.onPosition(p, binlogPositionToLsn(p));
  }
}

/**
 * A negative TIME as @vlasky/zongji (0.9.0) decodes it, with the carry it leaves out. A negative
 * TIME is stored as the two's complement of its packed fields; the decoder flips the bits (which
 * gives the value one second less) and then adds the second back to the seconds field alone, so
 * a value whose seconds are 0 comes out as `-01:29:64` (TIME2's 6-bit field) or `-01:29:100` (the
 * old decimal TIME) for `-01:30:00`, which PostgreSQL refuses. A real TIME never has 60 seconds or
 * 60 minutes, so this only completes the decoder's carry; a decoder that carries is left alone.
 */
export function negativeTimeCarried(text: string): string {
  const m = /^-(\d+):(\d+):(\d+)(\.\d+)?$/.exec(text);
  if (!m || Number(m[3]) < 60) return text;
  let minute = Number(m[2]) + 1;
  let hour = Number(m[1]);
  if (minute >= 60) {
    minute = 0;
    hour += 1;
  }
  const two = (n: number) => String(n).padStart(2, '0');
  return `-${two(hour)}:${two(minute)}:00${m[4] ?? ''}`;
}
