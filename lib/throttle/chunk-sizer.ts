/**
 * Rows per chunk adapted to a target chunk time, the way pt-table-checksum's `--chunk-time` does
 * it: the table's rows/s over its last chunks, smoothed (an exponentially weighted moving
 * average, so one chunk that hit a cold cache or a lock does not swing the size), times the target
 * time, within [minRows, maxRows]. The first chunk has `minRows` rows (start small: nothing is
 * known about the table yet), and a chunk is at most twice the one before (a fast first chunk on a
 * warm cache does not jump straight to `maxRows`); shrinking is not limited (a slow source is the
 * case that matters).
 */
export interface ChunkSizerLimits {
  readonly targetMs: number;
  readonly minRows: number;
  readonly maxRows: number;
}

/** Weight of the newest chunk's rate in the average (pt-table-checksum's default is 0.75). */
export const RATE_WEIGHT = 0.5;

export class ChunkSizer {
  /** Smoothed rows per millisecond; null before the first chunk with rows. */
  private rate: number | null = null;
  private rows: number;

  constructor(private readonly limits: ChunkSizerLimits) {
    this.rows = limits.minRows;
  }

  /** Rows for the next chunk. */
  next(): number {
    return this.rows;
  }

  /** Rows per millisecond as smoothed so far (null: no chunk with rows yet). */
  smoothedRate(): number | null {
    return this.rate;
  }

  /** A finished chunk: `rows` read in `ms` (its own time, not the pauses before it). */
  record(rows: number, ms: number): void {
    // an empty chunk (a gap in the keys, the table's end) says nothing about the rate
    if (rows <= 0) return;
    const rate = rows / Math.max(1, ms);
    this.rate = this.rate === null ? rate : RATE_WEIGHT * rate + (1 - RATE_WEIGHT) * this.rate;
    const wanted = Math.min(this.rate * this.limits.targetMs, this.rows * 2);
    this.rows = Math.max(this.limits.minRows, Math.min(this.limits.maxRows, Math.round(wanted)));
  }
}
