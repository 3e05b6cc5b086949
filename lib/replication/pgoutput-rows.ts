import type { Pgoutput } from 'pg-logical-replication';
import type { CopyTextBuffer } from './copy-text-buffer.ts';

/** A column value as pgoutput sent it: text, NULL, or `undefined` for an unchanged TOAST value. */
type Value = string | null | undefined;
type Tuple = Record<string, Value>;

/**
 * pgoutput's row messages (Insert `I`, Update `U`, Delete `D`; protocol version 1), parsed
 * straight from the message buffer into plain objects of text values — the hot path of CDC.
 * The library's parser makes a dictionary-mode object per row (`Object.create(null)`) and a
 * Buffer and a TextDecoder call per value; this makes one object of a stable shape per row and
 * decodes each value with `Buffer#toString`. Same message shapes as the library's parser.
 */
export function parseRowMessage(buf: Buffer, relations: ReadonlyMap<number, Pgoutput.MessageRelation>, at = 0): Pgoutput.Message {
  const relation = relations.get(buf.readInt32BE(at + 1));
  if (!relation) throw new Error('pgoutput: row message for a relation that was not announced');
  const reader = { buf, pos: at + 5 };
  const sub = buf[reader.pos++];
  switch (buf[at]) {
    case 0x49 /* I */:
      return { tag: 'insert', relation, new: readTuple(reader, relation, null) } as Pgoutput.MessageInsert;
    case 0x55 /* U */: {
      let key: Tuple | null = null;
      let old: Tuple | null = null;
      if (sub === 0x4b /* K */) key = keyOf(readTuple(reader, relation, null), relation);
      else if (sub === 0x4f /* O */) old = readTuple(reader, relation, null);
      else if (sub !== 0x4e /* N */) throw new Error(`pgoutput: unknown update part ${String.fromCharCode(sub!)}`);
      if (sub !== 0x4e) reader.pos++; // the 'N' of the new tuple
      return { tag: 'update', relation, key, old, new: readTuple(reader, relation, old) } as unknown as Pgoutput.MessageUpdate;
    }
    default: {
      // D
      if (sub === 0x4b) return { tag: 'delete', relation, key: keyOf(readTuple(reader, relation, null), relation), old: null } as unknown as Pgoutput.MessageDelete;
      if (sub === 0x4f) return { tag: 'delete', relation, key: null, old: readTuple(reader, relation, null) } as unknown as Pgoutput.MessageDelete;
      throw new Error(`pgoutput: unknown delete part ${String.fromCharCode(sub!)}`);
    }
  }
}

/**
 * An Insert `I` whose values stay bytes in the read they came in until something asks for them:
 * an insert into a table copied as it is goes to the target's COPY straight from those bytes
 * (appendCopyLine), with no string per value and no row object. In a CPU profile of a worker
 * applying a 100,000-row backlog, garbage collection was the largest item (~200 of 835 ms busy):
 * the parsed rows lived from their read until their batch committed, and each young-generation
 * collection copied them all. Anything else that reads `newRow` gets it parsed, once.
 */
export class PgoutputInsert {
  readonly kind = 'insert' as const;
  readonly schema: string;
  readonly table: string;
  private parsed: Tuple | null = null;

  constructor(
    readonly relation: Pgoutput.MessageRelation,
    private readonly read: Buffer,
    /** Where the tuple (its column count) starts in `read`. */
    private readonly tupleAt: number,
  ) {
    this.schema = relation.schema;
    this.table = relation.name;
  }

  get newRow(): Tuple {
    return (this.parsed ??= readTuple({ buf: this.read, pos: this.tupleAt }, this.relation, null));
  }

  /**
   * The row's key as the record of changed keys keeps it (`{v}`, `{v1,v2}`: ChangeApplier's
   * keyText), read from the bytes, when every key value may stand bare in an array (see
   * isBareElement); else null, and the caller quotes it from pick(). `positions`: the key columns'
   * places in the relation. Each inserted row passes here; picking the key into an object and
   * quoting it was a sixth of a worker's CPU in a backlog of inserts (cpu profile).
   */
  bareKeyText(positions: readonly number[]): string | null {
    const { read } = this;
    const n = read.readInt16BE(this.tupleAt);
    let pos = this.tupleAt + 2;
    let text = '{';
    let found = 0;
    for (let i = 0; i < n && found < positions.length; i++) {
      const kind = read[pos++];
      let len = 0;
      if (kind === 0x74 /* t */) {
        len = read.readInt32BE(pos);
        pos += 4;
      } else if (kind !== 0x6e /* n */) return null;
      const at = positions.indexOf(i);
      if (at >= 0) {
        // in key order, as keyText writes them
        if (at !== found || kind !== 0x74 || !isBareElement(read, pos, len)) return null;
        text += (found ? ',' : '') + read.toString('latin1', pos, pos + len);
        found++;
      }
      pos += len;
    }
    return found === positions.length ? text + '}' : null;
  }

  /** The values of `columns` only (a key), without parsing the others. */
  pick(columns: readonly string[]): Tuple {
    if (this.parsed) {
      const out: Tuple = {};
      for (const c of columns) out[c] = this.parsed[c];
      return out;
    }
    const out: Tuple = {};
    const { read } = this;
    const names = this.relation.columns;
    const n = read.readInt16BE(this.tupleAt);
    let pos = this.tupleAt + 2;
    for (let i = 0; i < n; i++) {
      const kind = read[pos++];
      const name = names[i]!.name;
      if (kind === 0x74 /* t */) {
        const len = read.readInt32BE(pos);
        pos += 4;
        if (columns.includes(name)) out[name] = read.toString('utf8', pos, pos + len);
        pos += len;
      } else if (kind === 0x6e /* n */) {
        if (columns.includes(name)) out[name] = null;
      } else throw new Error(`pgoutput: unknown column kind ${String.fromCharCode(kind!)} in an insert`);
    }
    return out;
  }

  /**
   * The row as one line of COPY text: the values of the columns `include` marks (by position in
   * the relation), tab-separated, escaped as COPY text requires, NULL as `\N`. The bytes are the
   * source's text output as sent (UTF-8, like the apply session's client encoding).
   */
  appendCopyLine(out: CopyTextBuffer, include: readonly boolean[]): void {
    const { read } = this;
    const n = read.readInt16BE(this.tupleAt);
    let pos = this.tupleAt + 2;
    let first = true;
    for (let i = 0; i < n; i++) {
      const kind = read[pos++];
      let len = 0;
      if (kind === 0x74 /* t */) {
        len = read.readInt32BE(pos);
        pos += 4;
      } else if (kind !== 0x6e /* n */) throw new Error(`pgoutput: unknown column kind ${String.fromCharCode(kind!)} in an insert`);
      if (include[i]) {
        if (!first) out.appendByte(0x09);
        first = false;
        if (kind === 0x74) out.appendEscaped(read, pos, len);
        else out.appendNull();
      }
      pos += len;
    }
    out.appendByte(0x0a);
  }

  /** Dead letters record the change as JSON: the row, parsed. */
  toJSON(): { kind: 'insert'; schema: string; table: string; newRow: Tuple } {
    return { kind: this.kind, schema: this.schema, table: this.table, newRow: this.newRow };
  }
}

/** A pgoutput Insert at `at` of a read (see PgoutputInsert). */
export function lazyInsert(buf: Buffer, relations: ReadonlyMap<number, Pgoutput.MessageRelation>, at: number): PgoutputInsert {
  const relation = relations.get(buf.readInt32BE(at + 1));
  if (!relation) throw new Error('pgoutput: row message for a relation that was not announced');
  // relation id, then 'N' and the tuple
  return new PgoutputInsert(relation, buf, at + 6);
}

/** `at`: where the message starts in `buf` (the stream's reads hold many messages). */
export function isRowMessage(buf: Buffer, at = 0): boolean {
  const tag = buf[at];
  return tag === 0x49 || tag === 0x55 || tag === 0x44;
}

/**
 * pgoutput's transaction boundaries, Begin `B` and Commit `C`: one of each per source transaction,
 * so with single-row transactions they are two thirds of the stream. Parsed here with positions
 * as PostgreSQL prints them (`16/B374D848`) and commit times as milliseconds since the Unix epoch
 * — the library's parser makes padded LSN strings and BigInt times that the stream then had to
 * convert back, per message. Same message shapes as the library's parser otherwise, except that
 * a Commit's `commitLsn` (the Begin's, repeated) is left null: nothing reads it.
 */
export function parseBoundaryMessage(buf: Buffer, at = 0): Pgoutput.MessageBegin | Pgoutput.MessageCommit {
  if (buf[at] === 0x42 /* B */) {
    return { tag: 'begin', commitLsn: readLsn(buf, at + 1), commitTime: readTime(buf, at + 9), xid: buf.readInt32BE(at + 17) } as unknown as Pgoutput.MessageBegin;
  }
  // C: flags (Int8), commit LSN (the Begin's, not printed again), end LSN, commit time
  return { tag: 'commit', flags: buf[at + 1]!, commitLsn: null, commitEndLsn: readLsn(buf, at + 10), commitTime: readTime(buf, at + 18) } as unknown as Pgoutput.MessageCommit;
}

export function isBoundaryMessage(buf: Buffer, at = 0): boolean {
  return buf[at] === 0x42 || buf[at] === 0x43;
}

/** An LSN as PostgreSQL prints it (`%X/%X`), or null for 0/0 (as the library's parser). */
export function readLsn(buf: Buffer, at: number): string | null {
  const hi = buf.readUInt32BE(at);
  const lo = buf.readUInt32BE(at + 4);
  return hi === 0 && lo === 0 ? null : `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** Microseconds since 2000-01-01 -> milliseconds since the Unix epoch (exact in a double until the year 2255). */
function readTime(buf: Buffer, at: number): number {
  return (buf.readUInt32BE(at) * 4294967296 + buf.readUInt32BE(at + 4)) / 1000 + 946_684_800_000;
}

function readTuple(r: { buf: Buffer; pos: number }, relation: Pgoutput.MessageRelation, toastFallback: Tuple | null): Tuple {
  const { buf } = r;
  const n = buf.readInt16BE(r.pos);
  r.pos += 2;
  const columns = relation.columns;
  // a column named __proto__ would set the prototype of a plain object
  const tuple: Tuple = columns.some((c) => c.name === '__proto__') ? Object.create(null) : {};
  for (let i = 0; i < n; i++) {
    const name = columns[i]!.name;
    const kind = buf[r.pos++];
    if (kind === 0x74 /* t */) {
      const len = buf.readInt32BE(r.pos);
      r.pos += 4;
      tuple[name] = buf.toString('utf8', r.pos, r.pos + len);
      r.pos += len;
    } else if (kind === 0x6e /* n */) tuple[name] = null;
    else if (kind === 0x75 /* u */) tuple[name] = toastFallback ? toastFallback[name] : undefined;
    else throw new Error(`pgoutput: unknown column kind ${String.fromCharCode(kind!)}`);
  }
  return tuple;
}

/** A key tuple carries NULL placeholders for the non-key columns: keep the key columns. */
function keyOf(tuple: Tuple, relation: Pgoutput.MessageRelation): Tuple {
  const key: Tuple = {};
  for (const k of relation.keyColumns) key[k] = tuple[k] === null ? undefined : tuple[k];
  return key;
}

/**
 * Whether the text at `start`, `len` bytes, may stand unquoted as a text[] element: not empty,
 * only ASCII letters, digits and `_.:+-`, not the word NULL (any case). The same rule as
 * change-applier's BARE_ARRAY_ELEMENT, on bytes.
 */
function isBareElement(read: Buffer, start: number, len: number): boolean {
  if (len === 0) return false;
  for (let i = start; i < start + len; i++) {
    const b = read[i]!;
    if (!((b >= 0x30 && b <= 0x3a) /* 0-9 : */ || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x2e || b === 0x2b || b === 0x2d)) return false;
  }
  return !(len === 4 && (read[start]! | 0x20) === 0x6e && (read[start + 1]! | 0x20) === 0x75 && (read[start + 2]! | 0x20) === 0x6c && (read[start + 3]! | 0x20) === 0x6c);
}
