import type { Readable } from 'node:stream';
import type pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { KIT_VALUE_SETTINGS } from '../postgres/kit-session.ts';
import { bigIntToLsn, lsnToBigInt } from './lsn.ts';
import { CopyDataFramer } from './copy-data-framer.ts';
import { ReadCoalescing, REST_MS } from './read-coalescing.ts';
import { isBoundaryMessage, isRowMessage, lazyInsert, parseBoundaryMessage, parseRowMessage, readLsn, type PgoutputInsert } from './pgoutput-rows.ts';
import { quoteIdent, quoteLiteral } from './sql-names.ts';
import { MEMORY_CHECK_EVERY, openTransactionTooLarge } from './open-transaction-memory.ts';

/** A column value as pgoutput sent it: text, NULL, or `undefined` for an unchanged TOAST value. */
export type WireValue = string | null | undefined;
export type WireRow = Record<string, WireValue>;

export type SourceChange =
  | { readonly kind: 'insert'; readonly schema: string; readonly table: string; readonly newRow: WireRow }
  | {
      readonly kind: 'update';
      readonly schema: string;
      readonly table: string;
      readonly newRow: WireRow;
      /** Old key values when the key changed (pgoutput sends them only then). */
      readonly oldKey: WireRow | null;
      readonly keyColumns: readonly string[];
    }
  | { readonly kind: 'delete'; readonly schema: string; readonly table: string; readonly oldKey: WireRow; readonly keyColumns: readonly string[] }
  | { readonly kind: 'truncate'; readonly relations: readonly { schema: string; table: string }[] };

export interface SourceTransaction {
  /** Start of the commit record. */
  readonly commitLsn: string;
  /** End of the commit record: the position acknowledged once applied. */
  readonly endLsn: string;
  readonly commitTime: Date;
  readonly changes: SourceChange[];
  /**
   * The bytes of its changes' pgoutput messages: what holding it weighs (TransactionQueue's byte
   * bounds). @default 0 - not counted (transactions not read from pgoutput: the binlog reader's)
   */
  readonly bytes?: number;
}

export interface ChangeStreamHandlers {
  onTransaction(txn: SourceTransaction): void;
  /**
   * A keepalive: when no transaction is open, the server has sent every transaction that commits
   * before `lsn`. `reply` asks for a status update now.
   */
  onKeepalive(lsn: string, inTransaction: boolean, reply: boolean): void;
  onError(err: Error): void;
  /** A Relation message: the source table's columns as the stream now sends them (after an ALTER, again). @default - ignored */
  onRelation?(relation: Pgoutput.MessageRelation): void;
  /**
   * A transaction larger than `openTransactionPartChanges` changes or `openTransactionPartBytes`
   * bytes is handed over while it arrives, in parts of that many changes or bytes (whichever comes
   * first), instead of whole at its commit (open-transaction-apply.ts): the stream then holds one
   * part at most. Without it, every transaction arrives whole. @default - none
   */
  onOpenTransactionPart?(part: OpenTransactionPart): void;
  /** Changes per part of a transaction handed over while it arrives. @default - none (see onOpenTransactionPart) */
  readonly openTransactionPartChanges?: number;
  /**
   * Bytes (of pgoutput messages) per part of a transaction handed over while it arrives: a part
   * closes at the first change that reaches it. @default - none (parts are counted in changes only)
   */
  readonly openTransactionPartBytes?: number;
}

/** Part of a source transaction handed over before its commit arrived (see onOpenTransactionPart). */
export interface OpenTransactionPart {
  /** The transaction's commit position and time: pgoutput sends them in its BEGIN (no streaming: it decodes a transaction after its commit). */
  readonly commitLsn: string;
  readonly commitTime: Date;
  /** 0, 1, 2, … in the order the changes came. */
  readonly index: number;
  readonly changes: SourceChange[];
  /** The bytes of its changes' pgoutput messages. */
  readonly bytes: number;
  /** Set on the last part (the COMMIT arrived): the end of the commit record. */
  readonly endLsn: string | null;
}

/**
 * pgoutput with every value kept as text (no JavaScript parsing: numeric, timestamptz
 * microseconds, bytea and jsonb reach the target byte-exact).
 *
 * No `origin` option: it exists from PostgreSQL 16 only. Loop prevention works the same way on
 * every major (12–18) instead: the kit's apply sessions commit under a replication origin, and
 * pgoutput sends an Origin message right after BEGIN for every transaction that carries one; the
 * stream drops the transactions whose origin the kit applied (see `appliedByKit`).
 */
class TextPgoutputPlugin extends PgoutputPlugin {
  constructor(
    options: ConstructorParameters<typeof PgoutputPlugin>[0],
    private readonly messages: boolean,
    private readonly receiver: StreamReceiver,
  ) {
    super(options);
  }
  /** The library parser's relation cache (filled by the Relation messages it parses). */
  private get relations(): ReadonlyMap<number, Pgoutput.MessageRelation> {
    return ((this as unknown as { parser: unknown }).parser as { _relationCache: Map<number, Pgoutput.MessageRelation> })._relationCache;
  }
  override parse(buffer: Buffer): Pgoutput.Message {
    return this.parseAt(buffer, 0, buffer.length) as unknown as Pgoutput.Message;
  }
  /** The pgoutput message at `start`..`end` of a read. */
  private parseAt(read: Buffer, start: number, end: number): StreamMessage {
    // an insert's values stay bytes until read (PgoutputInsert)
    if (read[start] === 0x49 /* I */) return { tag: 'insert', change: lazyInsert(read, this.relations, start) };
    if (isRowMessage(read, start)) return parseRowMessage(read, this.relations, start) as StreamMessage;
    if (isBoundaryMessage(read, start)) return parseBoundaryMessage(read, start);
    const msg = super.parse(read.subarray(start, end)) as Pgoutput.Message;
    if (msg.tag === 'relation') for (const c of msg.columns) c.parser = (raw: unknown) => raw;
    return msg as StreamMessage;
  }
  /** A CopyData payload: XLogData (a pgoutput message after 25 bytes of header) or a keepalive. */
  private copyData(read: Buffer, start: number, end: number): void {
    const kind = read[start];
    if (kind === 0x77 /* w: XLogData */) this.receiver.message(this.parseAt(read, start + 25, end), end - start - 25);
    else if (kind === 0x6b /* k: keepalive: end of WAL, time, reply requested */) this.receiver.keepalive(readLsn(read, start + 1) ?? '0/0', read[start + 17] === 1);
  }
  /** A replication connection's bytes decoded without a connection, through the path start() sets up (apply-warm-up.ts). */
  decode(reads: readonly Buffer[]): void {
    const framer = new CopyDataFramer(
      (read, start, end) => this.copyData(read, start, end),
      () => {},
    );
    for (const read of reads) framer.push(read);
  }
  override start(client: pg.Client, slotName: string, lastLsn: string): Promise<unknown> {
    // The library's handler of each CopyData message prints its position, emits it through
    // EventEmitter2 and starts a promise (an acknowledgement we never let it send): with
    // single-row transactions, as much work as parsing the message. Ours goes straight on.
    const connection = (client as unknown as { connection: NodeJS.EventEmitter & { stream: Readable } }).connection;
    connection.removeAllListeners('copyData');
    // and the driver's parser is bypassed for the stream's CopyData (see CopyDataFramer); it
    // still gets every other message. Its one 'data' listener is the parser: if a driver version
    // attaches otherwise, its parser stays and the copyData event is used.
    const socket = connection.stream;
    const driverListeners = socket.listeners('data') as ((read: Buffer) => void)[];
    if (driverListeners.length === 1) {
      const framer = new CopyDataFramer(
        (read, start, end) => this.copyData(read, start, end),
        (message) => driverListeners[0]!.call(socket, message),
      );
      socket.removeAllListeners('data');
      socket.on('data', (read: Buffer) => framer.push(read));
    } else {
      connection.on('copyData', ({ chunk }: { chunk: Buffer }) => this.copyData(chunk, 0, chunk.length));
    }
    const opts = [
      "proto_version '1'",
      `publication_names ${quoteLiteral(this.options.publicationNames.map(quoteIdent).join(','))}`,
      // the worker's heartbeat is a logical message in a transaction of its own
      ...(this.messages ? ["messages 'true'"] : []),
    ];
    return client.query(`START_REPLICATION SLOT ${quoteIdent(slotName)} LOGICAL ${lastLsn} (${opts.join(', ')})`);
  }
}

/** pgoutput's messages as the stream reads them: an Insert as a PgoutputInsert. */
type StreamMessage = Exclude<Pgoutput.Message, Pgoutput.MessageInsert> | { readonly tag: 'insert'; readonly change: PgoutputInsert };

interface StreamReceiver {
  /** `bytes`: the pgoutput message's size. */
  message(msg: StreamMessage, bytes: number): void;
  keepalive(lsn: string, reply: boolean): void;
}

/** Longest run of stream chunks parsed before other I/O gets its turn. */
const SLICE_MS = 8;
/** The library reports `position + 1` in standby status updates; we want the position itself. */
function minusOne(lsn: string): string {
  const v = lsnToBigInt(lsn);
  return bigIntToLsn(v > 0n ? v - 1n : 0n);
}

/** One logical replication stream, assembled into whole source transactions in commit order. */
export class ChangeStream {
  private readonly service: LogicalReplicationService;
  /** `parts`: how many parts of it went to onOpenTransactionPart already; `bytes`: of the changes held (since the last part). */
  private open: { commitLsn: string; commitTime: Date; changes: SourceChange[]; bytes: number; skipped: boolean; parts: number } | null = null;
  /** Transactions dropped because the kit applied them (counted for status and tests). */
  skippedTransactions = 0;
  private stopped = false;
  /** Paused for back-pressure (the apply queue is full). */
  private held = false;
  /** Paused until the event loop has gone round (see shareEventLoop). */
  private yielding = false;
  /** An open transaction too large for memory stopped the stream (see hold). */
  private refused = false;

  constructor(
    url: string,
    private readonly slotName: string,
    private readonly publication: string,
    private readonly handlers: ChangeStreamHandlers,
    /**
     * Transactions committed under an origin this returns true for are dropped: the kit applied
     * them itself (see `appliedByKit`). A test passes `() => false` to show the loop it prevents.
     */
    private readonly skipOrigin: (originName: string) => boolean = () => false,
    /** Ask for logical messages (PostgreSQL 14 and later): the heartbeat's transaction then always arrives. */
    private readonly messages = false,
  ) {
    this.service = new LogicalReplicationService(
      // values printed in UTC and ISO like every kit session's (a timestamptz carries its offset either
      // way; the same text in full load and CDC keeps transformations of it alike)
      { connectionString: url, application_name: `cutover-cdc ${slotName}`.slice(0, 63), options: KIT_VALUE_SETTINGS },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.service.on('error', (err: Error) => {
      if (!this.stopped) this.handlers.onError(err);
    });
  }

  /** Resolves once the server streams (START_REPLICATION accepted); retries while the slot is still held. */
  async start(fromLsn = '0/0'): Promise<void> {
    const plugin = this.plugin();
    for (let attempt = 0; ; attempt++) {
      const started = new Promise<void>((resolve) => this.service.once('start', () => resolve()));
      const result = this.service.subscribe(plugin, this.slotName, fromLsn).then(
        () => {
          if (!this.stopped) this.handlers.onError(new Error(`replication stream of slot "${this.slotName}" ended`));
        },
        (err: Error) => {
          throw err;
        },
      );
      try {
        await Promise.race([started, result]);
        this.shareEventLoop();
        result.catch((err: Error) => {
          if (!this.stopped) this.handlers.onError(err);
        });
        return;
      } catch (err) {
        const busy = /is active for PID|already active/.test((err as Error).message);
        if (!busy || attempt >= 400 || this.stopped) throw err;
        await new Promise((r) => setTimeout(r, 25)); // a stopped worker's backend lets go within moments
      }
    }
  }

  /**
   * Decodes a replication connection's bytes (CopyData messages) as if they had come from the
   * server, with no connection: each whole transaction goes to `onTransaction` as in a live
   * stream. The worker's warm-up runs synthetic bytes through it (apply-warm-up.ts).
   */
  decodeOffline(reads: readonly Buffer[]): void {
    this.plugin().decode(reads);
  }

  private plugin(): TextPgoutputPlugin {
    return new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [this.publication] }, this.messages, {
      message: (msg, bytes) => this.onMessage(msg, bytes),
      keepalive: (lsn, reply) => this.handlers.onKeepalive(lsn, this.open !== null, reply),
    });
  }

  /** Confirms `lsn` as applied (flushed) to the server; the slot may then release WAL before it. */
  async acknowledge(lsn: string, ping = false): Promise<void> {
    if (this.stopped) return;
    await this.service.acknowledge(minusOne(lsn), ping);
  }

  /** Back-pressure: stop reading the socket while the apply queue is full. */
  pause(): void {
    this.held = true;
    this.socket()?.pause();
  }
  resume(): void {
    this.held = false;
    if (!this.yielding) this.socket()?.resume();
  }

  private socket(): Readable | undefined {
    return (this.service as unknown as { _connection?: { stream?: Readable } })._connection?.stream;
  }

  /**
   * Lets the rest of the process run while a backlog streams in, and reads a backlog in large
   * gulps.
   *
   * One socket read hands over up to 32 chunks of 64 KB at once (libuv), parsed synchronously:
   * ~13,000 single-row transactions, a few hundred milliseconds in which the apply session's
   * replies wait — the first batch of a backlog committed a second late, and nothing else applied
   * meanwhile. After SLICE_MS of chunks the socket pauses until the event loop has gone round once.
   *
   * And a backlog trickling in is read in large gulps (see ReadCoalescing).
   */
  private shareEventLoop(): void {
    const socket = this.socket();
    if (!socket) return;
    let sliceStart = -1;
    const coalescing = new ReadCoalescing();
    socket.prependListener('data', () => {
      if (sliceStart >= 0) return;
      sliceStart = performance.now();
      setImmediate(() => (sliceStart = -1));
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.yielding) return;
      const now = performance.now();
      if (coalescing.restAfter(chunk.length, now)) {
        this.rest(socket, (resume) => setTimeout(resume, REST_MS));
      } else if (now - sliceStart >= SLICE_MS) this.rest(socket, (resume) => setImmediate(resume));
    });
  }

  /** Pauses the socket until `schedule` calls back (back-pressure and stop still win). */
  private rest(socket: Readable, schedule: (resume: () => void) => void): void {
    this.yielding = true;
    socket.pause();
    schedule(() => {
      this.yielding = false;
      if (!this.held && !this.stopped) socket.resume();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.service.destroy().catch(() => {});
  }

  /**
   * A change of the open transaction (`bytes`: its message's size), held until its commit — or,
   * when the worker takes a large transaction while it arrives (onOpenTransactionPart), until its
   * part is full, in changes or in bytes. Every MEMORY_CHECK_EVERY changes of
   * one transaction the heap is looked at: a transaction too large for the worker's memory stops
   * the stream with an error that says so (openTransactionTooLarge) instead of the worker dying of
   * it after every restart. Nothing of it is applied or acknowledged: the transaction stays open
   * (keepalives then move no position) and its changes are let go.
   */
  private hold(change: SourceChange, bytes: number): void {
    const open = this.open;
    if (!open) return;
    open.changes.push(change);
    open.bytes += bytes;
    const { openTransactionPartChanges: partChanges, openTransactionPartBytes: partBytes } = this.handlers;
    if (this.handlers.onOpenTransactionPart && ((partChanges && open.changes.length >= partChanges) || (partBytes && open.bytes >= partBytes))) {
      this.handlers.onOpenTransactionPart({ commitLsn: open.commitLsn, commitTime: open.commitTime, index: open.parts++, changes: open.changes, bytes: open.bytes, endLsn: null });
      open.changes = [];
      open.bytes = 0;
      return;
    }
    if (open.changes.length % MEMORY_CHECK_EVERY !== 0) return;
    const tooLarge = openTransactionTooLarge(open.changes.length);
    if (!tooLarge) return;
    this.refused = true;
    open.changes = [];
    this.pause();
    this.handlers.onError(tooLarge);
  }

  private onMessage(msg: StreamMessage, bytes = 0): void {
    if (this.refused) return;
    if (this.open?.skipped && msg.tag !== 'commit') return;
    switch (msg.tag) {
      case 'begin':
        // positions come printed as PostgreSQL prints them (`16/B374D848`: parseBoundaryMessage)
        this.open = { commitLsn: msg.commitLsn ?? '0/0', commitTime: pgTime(msg.commitTime), changes: [], bytes: 0, skipped: false, parts: 0 };
        return;
      case 'origin':
        // sent between BEGIN and the first change of a transaction that carries an origin
        if (this.open && this.skipOrigin(msg.originName)) {
          this.open.skipped = true;
          this.open.changes = [];
          this.open.bytes = 0;
        }
        return;
      case 'insert':
        this.hold(msg.change, bytes);
        return;
      case 'update':
        this.hold({
          kind: 'update',
          schema: msg.relation.schema,
          table: msg.relation.name,
          newRow: msg.new,
          oldKey: msg.key ?? (msg.old ? pick(msg.old, msg.relation.keyColumns) : null),
          keyColumns: msg.relation.keyColumns,
        }, bytes);
        return;
      case 'delete':
        this.hold({
          kind: 'delete',
          schema: msg.relation.schema,
          table: msg.relation.name,
          oldKey: msg.key ?? pick(msg.old ?? {}, msg.relation.keyColumns),
          keyColumns: msg.relation.keyColumns,
        }, bytes);
        return;
      case 'truncate':
        this.hold({ kind: 'truncate', relations: msg.relations.map((r) => ({ schema: r.schema, table: r.name })) }, bytes);
        return;
      case 'commit': {
        const open = this.open;
        this.open = null;
        if (!open) return;
        const endLsn = msg.commitEndLsn ?? open.commitLsn;
        if (open.skipped) {
          // nothing to apply, but every transaction before its end has been sent: the position
          // may advance past it as after a keepalive
          this.skippedTransactions++;
          this.handlers.onKeepalive(endLsn, false, false);
          return;
        }
        if (open.parts) {
          // the rest of a transaction handed over while it arrived
          this.handlers.onOpenTransactionPart!({ commitLsn: open.commitLsn, commitTime: open.commitTime, index: open.parts, changes: open.changes, bytes: open.bytes, endLsn });
          return;
        }
        // a plain object literal: rest and spread copies per transaction showed in profiles of
        // single-row backlogs
        this.handlers.onTransaction({ commitLsn: open.commitLsn, endLsn, commitTime: open.commitTime, changes: open.changes, bytes: open.bytes });
        return;
      }
      case 'relation':
        this.handlers.onRelation?.(msg);
        return;
      default:
        return; // type/message: nothing to apply
    }
  }
}

function pick(row: Record<string, unknown>, keys: readonly string[]): WireRow {
  const out: WireRow = {};
  for (const k of keys) out[k] = row[k] as WireValue;
  return out;
}

/** The parser gives commit times as BigInt microseconds since the Unix epoch. */
function pgTime(value: unknown): Date {
  if (typeof value === 'bigint') return new Date(Number(value / 1000n));
  if (typeof value === 'number') return new Date(value);
  return new Date();
}
