import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../errors.ts';
import type { ColumnSample, RowKey } from '../platform/roles.ts';

/** The finished result of one chunk, as checkpointed (and replayed on resume). */
export interface ChunkResult {
  readonly table: string;
  readonly index: number;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly mismatched: boolean;
  readonly missing: RowKey[];
  readonly extra: RowKey[];
  readonly different: RowKey[];
  readonly deadLetter: RowKey[];
  readonly samples: ColumnSample[];
  readonly inFlight: number;
  readonly rowsFetched: number;
  /** Repair statements (target terms) for this chunk's differences. */
  readonly repair: string[];
  /** The source key of each repair statement, when the validator knows it (a rejected one becomes a dead letter). */
  readonly repairKeys?: RowKey[];
  /** A chunk sized to `pacing.chunkTargetMs`: its buckets (`index` is its first). @default - a fixed chunk (`index` is its number) */
  readonly buckets?: number;
}

type Line =
  | { type: 'run'; fingerprint: string; startedAt: string }
  | { type: 'boundaries'; table: string; boundaries: string[][] }
  | ({ type: 'chunk' } & ChunkResult)
  | { type: 'done'; finishedAt: string };

/**
 * The validation run log: one JSON line per finished chunk, appended as it finishes, so a killed
 * validation resumes from the last finished chunk. A run with a different fingerprint (other
 * tables, mapping, chunk size or tolerance) or one that finished starts over. A torn last line
 * (killed mid-write) is ignored.
 */
export class ValidationCheckpoint {
  readonly file: string;
  readonly resumed: boolean;
  readonly startedAt: string;
  private readonly boundaries = new Map<string, string[][]>();
  private readonly chunks = new Map<string, ChunkResult>();

  constructor(stateDir: string, fingerprint: string, now: () => Date = () => new Date()) {
    this.file = path.join(stateDir, 'validation-run.jsonl');
    mkdirSync(stateDir, { recursive: true });
    const previous = existsSync(this.file) ? parseLines(readFileSync(this.file, 'utf8')) : [];
    const head = previous[0];
    const finished = previous.some((l) => l.type === 'done');
    if (head?.type === 'run' && head.fingerprint === fingerprint && !finished) {
      this.resumed = true;
      this.startedAt = head.startedAt;
      for (const line of previous) {
        if (line.type === 'boundaries') this.boundaries.set(line.table, line.boundaries);
        if (line.type === 'chunk') {
          const { type: _t, ...result } = line;
          this.chunks.set(chunkId(line.table, line.index), result);
        }
      }
      // a torn last line would glue onto the next append
      writeFileSync(this.file, previous.map((l) => JSON.stringify(l) + '\n').join(''));
    } else {
      this.resumed = false;
      this.startedAt = now().toISOString();
      writeFileSync(this.file, JSON.stringify({ type: 'run', fingerprint, startedAt: this.startedAt } satisfies Line) + '\n');
    }
  }

  boundariesOf(table: string): string[][] | undefined {
    return this.boundaries.get(table);
  }

  recordBoundaries(table: string, boundaries: string[][]): void {
    this.boundaries.set(table, boundaries);
    this.append({ type: 'boundaries', table, boundaries });
  }

  finishedChunk(table: string, index: number): ChunkResult | undefined {
    return this.chunks.get(chunkId(table, index));
  }

  get finishedChunks(): number {
    return this.chunks.size;
  }

  recordChunk(result: ChunkResult): void {
    this.chunks.set(chunkId(result.table, result.index), result);
    this.append({ type: 'chunk', ...result });
  }

  finish(now: () => Date = () => new Date()): void {
    this.append({ type: 'done', finishedAt: now().toISOString() });
  }

  private append(line: Line): void {
    appendFileSync(this.file, JSON.stringify(line) + '\n');
  }
}

function chunkId(table: string, index: number): string {
  return `${table}#${index}`;
}

function parseLines(text: string): Line[] {
  const out: Line[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    try {
      out.push(JSON.parse(raw) as Line);
    } catch {
      break;
    }
  }
  return out;
}

/** Stops a full validation between chunks when asked; its checkpoint lets the next run resume there. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CutoverError('ABORTED', 'validation aborted', { fix: 'run `cutover validate` again: it resumes where it stopped' });
}
