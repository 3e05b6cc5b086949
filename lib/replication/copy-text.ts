import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * PostgreSQL COPY text format (tab-separated, `\N` for NULL, backslash escapes), used when a
 * mapping needs JavaScript per row (an expression with no SQL translation): source COPY lines are
 * decoded, transformed and encoded again for the target COPY.
 */
const UNESCAPE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

export function decodeCopyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const ch = field[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = field[++i] ?? '';
    if (next in UNESCAPE) out += UNESCAPE[next];
    else if (/[0-7]/.test(next)) {
      let oct = next;
      while (oct.length < 3 && /[0-7]/.test(field[i + 1] ?? '')) oct += field[++i];
      out += String.fromCharCode(parseInt(oct, 8));
    } else if (next === 'x' && /[0-9a-fA-F]/.test(field[i + 1] ?? '')) {
      let hex = field[++i]!;
      if (/[0-9a-fA-F]/.test(field[i + 1] ?? '')) hex += field[++i];
      out += String.fromCharCode(parseInt(hex, 16));
    } else out += next;
  }
  return out;
}

export function decodeCopyLine(line: string): (string | null)[] {
  return line.split('\t').map(decodeCopyField);
}

/** A JavaScript value in PostgreSQL's text input form (null stays null). */
export function toPgText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return '\\x' + Buffer.from(value).toString('hex');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

const COPY_SPECIAL = /[\\\n\r\t]/;

export function encodeCopyField(value: unknown): string {
  const text = toPgText(value);
  if (text === null) return '\\N';
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/**
 * Transform stream: COPY text lines in, `fn(fields)` per row, COPY text lines out (or nothing
 * when `fn` returns null). Counts emitted rows.
 */
export class CopyRowTransform extends Transform {
  public rows = 0;
  private rest = '';
  // a multi-byte character (Chinese text) may be split across chunks
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly fn: (fields: (string | null)[]) => unknown[] | null) {
    super({ decodeStrings: true, encoding: undefined });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      const text = this.rest + this.decoder.write(chunk);
      const lines = text.split('\n');
      this.rest = lines.pop()!;
      let out = '';
      for (const line of lines) out += this.row(line);
      if (out) this.push(out);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      const last = this.rest + this.decoder.end();
      if (last) this.push(this.row(last));
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
  private row(line: string): string {
    const result = this.fn(decodeCopyLine(line));
    if (!result) return '';
    this.rows++;
    return result.map(encodeCopyField).join('\t') + '\n';
  }
}
