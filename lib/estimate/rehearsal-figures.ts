import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../errors.ts';

/** File name of the figures a rehearsal records in its state (journal) folder. */
export const REHEARSAL_FIGURES_FILE = 'rehearsal-figures.json';

/** One source table as the rehearsal saw it (assess statistics) and loaded it. */
export interface TableFigures {
  /** `schema.table` on the source. */
  readonly source: string;
  readonly rows: number;
  /** `pg_total_relation_size` (table, TOAST and indexes), as assess reports it. */
  readonly bytes: number;
  /** Seconds from the table's first chunk to its last one loaded (other lanes load other tables meanwhile); null when not measured. */
  readonly loadSeconds: number | null;
}

/**
 * What a rehearsal measured, recorded so `cutover estimate` can forecast another environment
 * later. Every duration is wall time on the rehearsal's machine.
 */
export interface RehearsalFigures {
  readonly version: 1;
  readonly recordedAt: string;
  /** Demo size, for people reading the file. */
  readonly orders: number;
  readonly parallelTables: number;
  readonly tables: readonly TableFigures[];
  /** Full load: first chunk to last. */
  readonly fullLoad: { readonly seconds: number };
  readonly cdc: {
    /** Changes/s apply sustains while busy (CDC changes / time with batches in flight); null when CDC applied nothing. */
    readonly applyChangesPerSec: number | null;
    /** Changes/s the rehearsal's load wrote on the source while CDC ran. */
    readonly writeChangesPerSec: number;
    /** From the end of the full load to the lag gate passing. */
    readonly catchUpSeconds: number | null;
    /**
     * Changes/s apply sustained from CDC's start to the lag gate passing: the backlog the full load
     * left, applied in big batches — far faster than the trickle after it (`applyChangesPerSec`).
     * Absent from rehearsals recorded before it was measured.
     */
    readonly catchUpApplyChangesPerSec?: number | null;
  };
  readonly validate: { readonly seconds: number; readonly rowsCompared: number };
  /** The write switch's steps while writes were held, in ms (journal durations); null when the switch did not run. */
  readonly hold: {
    readonly partsMs: Readonly<Record<string, number>>;
    readonly frozenValidateMs: number;
    readonly totalMs: number;
    /**
     * Of the frozen validation, the reconciliation's whole-table aggregates (they grow with the
     * data; the changed rows it compares are seconds of writes). Absent when not measured.
     */
    readonly frozenReconciliationMs?: number;
  } | null;
}

export function writeRehearsalFigures(stateDir: string, figures: RehearsalFigures): string {
  mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, REHEARSAL_FIGURES_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(figures, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

export function readRehearsalFigures(file: string): RehearsalFigures {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CutoverError('USAGE', `no rehearsal figures at ${file}`, {
      received: file,
      fix: 'run a rehearsal first (`npm start -- --orders N`, it records them in its state folder), or pass --figures PATH',
    });
  }
  let figures: RehearsalFigures;
  try {
    figures = JSON.parse(text) as RehearsalFigures;
  } catch (err) {
    throw new CutoverError('CONFIG_INVALID', `${file} is not JSON: ${(err as Error).message}`, { received: file, fix: 'run the rehearsal again to record it anew' });
  }
  if (figures?.version !== 1 || !Array.isArray(figures.tables) || typeof figures.fullLoad?.seconds !== 'number' || typeof figures.validate?.seconds !== 'number') {
    throw new CutoverError('CONFIG_INVALID', `${file} is not a rehearsal figures file (version 1)`, {
      received: file,
      allowed: `a ${REHEARSAL_FIGURES_FILE} written by \`npm start\``,
      fix: 'run the rehearsal again to record it anew',
    });
  }
  return figures;
}
