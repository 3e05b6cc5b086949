/**
 * COPY text data built as bytes, for values that are bytes already (pgoutput's text values, see
 * PgoutputInsert.appendCopyLine): escaped as they are copied, never decoded into strings.
 * Values from JavaScript go in as text (`appendText`).
 */
export class CopyTextBuffer {
  private bytes: Buffer;
  private length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** `len` bytes of `src` from `at`, with backslash, newline, carriage return and tab escaped (COPY text's specials). */
  appendEscaped(src: Buffer, at: number, len: number): void {
    this.reserve(len * 2);
    const out = this.bytes;
    let o = this.length;
    for (let i = at, end = at + len; i < end; i++) {
      const b = src[i]!;
      if (b === 0x5c /* \ */ || b === 0x0a || b === 0x0d || b === 0x09) {
        out[o++] = 0x5c;
        out[o++] = b === 0x5c ? 0x5c : b === 0x0a ? 0x6e /* n */ : b === 0x0d ? 0x72 /* r */ : 0x74 /* t */;
      } else out[o++] = b;
    }
    this.length = o;
  }

  /** `\N`: NULL in COPY text. */
  appendNull(): void {
    this.reserve(2);
    this.bytes[this.length++] = 0x5c;
    this.bytes[this.length++] = 0x4e;
  }

  appendByte(b: number): void {
    this.reserve(1);
    this.bytes[this.length++] = b;
  }

  /** Text already in COPY form (encodeCopyField's), as UTF-8. */
  appendText(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** The data so far (a view: valid until the next append). */
  data(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + more));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}
