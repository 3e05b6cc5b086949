import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | null;

/** One value in COPY text format (backslash escapes; NULL as \N). */
function copyText(value: CopyValue): string {
  if (value === null) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Bulk-loads rows with `COPY … FROM STDIN` (text format), in chunks of lines to keep memory flat. */
export async function copyRows(client: pg.ClientBase, table: string, columns: readonly string[], rows: Iterable<readonly CopyValue[]>): Promise<void> {
  const sql = `copy ${table} (${columns.join(', ')}) from stdin`;
  function* lines() {
    let batch: string[] = [];
    for (const row of rows) {
      batch.push(row.map(copyText).join('\t') + '\n');
      if (batch.length >= 1000) {
        yield batch.join('');
        batch = [];
      }
    }
    if (batch.length) yield batch.join('');
  }
  await pipeline(Readable.from(lines()), client.query(copyFrom(sql)));
}
