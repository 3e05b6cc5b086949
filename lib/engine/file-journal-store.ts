import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { withAppendMutex } from './append-mutex.ts';
import type { JournalRecord, JournalStore, NewJournalRecord } from './journal-store.ts';

/**
 * The journal of a `postgres` environment: one JSON record per line in `<stateDir>/journal.jsonl`.
 * Appends use O_APPEND and fsync, so a record that was acknowledged survives kill -9 and power
 * loss; a torn last line (killed mid-write) is skipped on read and never breaks the next append.
 * Nothing is created until the first append (dry-run and `status` leave no trace).
 */
export class FileJournalStore implements JournalStore {
  public readonly location: string;
  private queue: Promise<unknown> = Promise.resolve();
  private cache: { size: number; lastSeq: number; endsWithNewline: boolean } | null = null;

  constructor(public readonly file: string) {
    this.location = pathToFileURL(file).href;
  }

  /** `<stateDir>/journal.jsonl`. */
  static inStateDir(stateDir: string): FileJournalStore {
    return new FileJournalStore(path.join(stateDir, 'journal.jsonl'));
  }

  append(record: NewJournalRecord): Promise<JournalRecord> {
    const next = this.queue.then(() => this.appendNow(record));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async readAll(): Promise<JournalRecord[]> {
    return this.parse().records;
  }

  private async appendNow(record: NewJournalRecord): Promise<JournalRecord> {
    mkdirSync(path.dirname(this.file), { recursive: true });
    return withAppendMutex(`${this.file}.append-lock`, () => {
      const tail = this.tail();
      const full: JournalRecord = { seq: tail.lastSeq + 1, ...record };
      const line = (tail.endsWithNewline ? '' : '\n') + JSON.stringify(full) + '\n';
      const fd = openSync(this.file, 'a');
      try {
        writeSync(fd, line);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.cache = { size: tail.size + Buffer.byteLength(line), lastSeq: full.seq, endsWithNewline: true };
      return full;
    });
  }

  /** Last sequence number, reusing the cached value when the file did not change under us. */
  private tail(): { size: number; lastSeq: number; endsWithNewline: boolean } {
    const size = existsSync(this.file) ? statSync(this.file).size : 0;
    if (this.cache && this.cache.size === size) return this.cache;
    const parsed = this.parse();
    this.cache = { size, lastSeq: parsed.records.at(-1)?.seq ?? 0, endsWithNewline: parsed.endsWithNewline };
    return this.cache;
  }

  private parse(): { records: JournalRecord[]; endsWithNewline: boolean } {
    if (!existsSync(this.file)) return { records: [], endsWithNewline: true };
    const text = readFileSync(this.file, 'utf8');
    const records: JournalRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as JournalRecord;
        if (typeof r.seq === 'number') records.push(r);
      } catch {
        // a line torn by kill -9 mid-write: it was never acknowledged, so it is not a record
      }
    }
    return { records, endsWithNewline: text.length === 0 || text.endsWith('\n') };
  }
}
