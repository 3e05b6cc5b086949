import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | null;

const SPECIAL = /[\\\t\n\r]/;

/** One value in COPY text format (backslash escapes; NULL as \N). */
function copyText(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Lines per chunk handed to the COPY stream (and between two progress calls). */
const LINES_PER_CHUNK = 2000;

/**
 * Bulk-loads rows with `COPY … FROM STDIN` (text format), streaming: rows are pulled from the
 * iterable only as fast as the server takes them, so memory stays flat at any row count.
 * Returns the number of rows written; `onRows` gets the running count after every chunk.
 */
export async function copyRows(
  client: pg.ClientBase,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]>,
  onRows?: (written: number) => void,
  options: { /** `COPY … WITH (FREEZE)`: rows written frozen (the table must be new in this transaction). @default false */ readonly freeze?: boolean } = {},
): Promise<number> {
  const sql = `copy ${table} (${columns.join(', ')}) from stdin${options.freeze ? ' with (freeze)' : ''}`;
  let written = 0;
  const chunks = copyTextChunks(rows, (n) => {
    written = n;
    onRows?.(n);
  });
  await pipeline(Readable.from(chunks, { objectMode: false }), client.query(copyFrom(sql)));
  return written;
}

/**
 * The rows as chunks of tab-separated text lines, NULL as `\N`, backslash escapes — the format of
 * PostgreSQL's `COPY … FROM STDIN` (text) and also MySQL's `LOAD DATA … INFILE` defaults (fields by
 * tab, escape `\`, lines by newline), so both seeders stream the same bytes. Pulled lazily;
 * `onRows` gets the running count after every chunk.
 */
export function* copyTextChunks(rows: Iterable<readonly CopyValue[]>, onRows?: (written: number) => void): Generator<string> {
  let written = 0;
  let batch = '';
  let n = 0;
  for (const row of rows) {
    let line = copyText(row[0] as CopyValue);
    for (let i = 1; i < row.length; i++) line += '\t' + copyText(row[i] as CopyValue);
    batch += line + '\n';
    if (++n >= LINES_PER_CHUNK) {
      yield batch;
      written += n;
      onRows?.(written);
      batch = '';
      n = 0;
    }
  }
  if (n) {
    yield batch;
    written += n;
    onRows?.(written);
  }
}
