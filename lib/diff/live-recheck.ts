import type { Replicator } from '../platform/roles.ts';
import { sourceRows, targetRows, type ChunkContext } from './chunk-compare.ts';
import { diffChunkRows, keyId, type ChunkDiff, type DiffEntry } from './row-diff.ts';
import type { KeyRange } from './side-query.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/** How the lag-aware re-check runs while replication applies a live load. */
export interface LiveRecheck {
  readonly replicator: Replicator;
  /** Rounds a row must differ in before it is reported. */
  readonly rounds: number;
  /** Epoch milliseconds: no wait for replication goes past it. */
  readonly deadline: number;
  /**
   * The side the replicator copies from: `source` (forward, blue) or `target` (reverse, after the
   * write switch: green's writes go to blue). Its reads are the states the other side must reach.
   * @default 'source'
   */
  readonly truth?: 'source' | 'target';
}

export interface RecheckOutcome {
  /** The differences that persisted in every round (categorized by the last read). */
  readonly diff: ChunkDiff;
  /** Rows that differed at first and were consistent in some round. */
  readonly inFlight: number;
  readonly rowsFetched: number;
  /** The source position replication did not reach before the deadline (rounds cut short). */
  readonly timedOut?: string;
}

/** Source reads kept per wait while sampling (each holds only the rows being re-checked). */
const MAX_SAMPLES = 64;
/** Above this many rows re-checked, the source is read only before and after each wait. */
const MAX_SAMPLED_ROWS = 500;
const SAMPLE_GAP_MS = 2;

type Row = (string | null)[];

/**
 * Re-checks the rows a first comparison found different, reading back only those rows (by key,
 * within `span`, the key range they came from). One round:
 *   s1 = source rows, p1 = source position; wait until the target applied p1; t1 = target rows;
 *   s2 = source rows, p2 = source position. A row is consistent when t1 equals s1 or s2; for the
 *   others, wait for p2 and read t2: consistent when t2 equals s2 (or the source read after t2).
 * While waiting, the source rows are read again back to back (a few rows, so cheap): a replicator
 * does not stop at p1, so the target may hold a state of a hot row between s1 and s2, and a row is
 * also consistent when the target equals any of those reads (each one a state the source held
 * after the position waited for). A row that really differs matches none in any round; rows still
 * inconsistent go to the next round, and those inconsistent in every round are reported.
 */
export async function recheckRows(ctx: ChunkContext, span: KeyRange, first: ChunkDiff, live: LiveRecheck): Promise<RecheckOutcome> {
  const firstIds = new Set(entriesOf(first).map((e) => e.id));
  let pending = [...firstIds];
  let last = first;
  let fetched = 0;
  let timedOut: string | undefined;
  const nk = ctx.plan.keys.length;
  const keyed = (ids: readonly string[]): KeyRange => ({ lower: span.lower, upper: span.upper, keys: ids.map((id) => JSON.parse(id) as (string | null)[]) });
  let readSourceSide = async (ids: readonly string[]): Promise<Row[]> => {
    const read = await sourceRows(ctx, keyed(ids));
    fetched += read.fetched;
    return read.rows;
  };
  let readTargetSide = async (ids: readonly string[]): Promise<Row[]> => {
    const rows = await targetRows(ctx, keyed(ids));
    fetched += rows.length;
    return rows;
  };
  const reverse = live.truth === 'target';
  // "source" and "target" below are the stream's: reversed, the stream reads green and writes blue
  if (reverse) [readSourceSide, readTargetSide] = [readTargetSide, readSourceSide];
  const readSource = (ids: readonly string[]) => readSourceSide(ids);
  const readTarget = (ids: readonly string[]) => readTargetSide(ids);
  // the diff is always blue's rows against green's (the plan's orientation: missing, extra)
  const compare = (src: Row[], tgt: Row[]) =>
    reverse
      ? diffChunkRows(ctx.plan, tgt, src, { floatTolerance: ctx.form.floatTolerance, deadLetterIds: ctx.deadLetterIds })
      : diffChunkRows(ctx.plan, src, tgt, { floatTolerance: ctx.form.floatTolerance, deadLetterIds: ctx.deadLetterIds });
  const only = (rows: Row[], ids: ReadonlySet<string>) => rows.filter((r) => ids.has(keyId(r.slice(0, nk))));
  /** Waits for `position`, reading the source rows meanwhile into `seen`. */
  const waitSampling = async (position: string, ids: readonly string[], seen: Row[][]): Promise<boolean> => {
    let reached: boolean | undefined;
    const wait = live.replicator.waitForPosition(position, Math.max(1, live.deadline - Date.now())).then((r) => (reached = r));
    if (ids.length <= MAX_SAMPLED_ROWS) {
      while (reached === undefined && seen.length < MAX_SAMPLES) {
        seen.push(await readSource(ids));
        await Promise.race([wait, sleep(SAMPLE_GAP_MS)]);
      }
    }
    return wait;
  };
  /** The ids of `ids` whose target row equals none of the source reads. */
  const unmatched = (ids: readonly string[], seen: readonly Row[][], tgt: Row[]) => {
    let left = new Set(ids);
    for (const src of seen) {
      if (!left.size) break;
      const differs = differing(compare(only(src, left), only(tgt, left)));
      left = new Set([...left].filter((id) => differs.has(id)));
    }
    return ids.filter((id) => left.has(id));
  };

  for (let round = 0; round < live.rounds && pending.length; round++) {
    const seen: Row[][] = [await readSource(pending)];
    const p1 = await live.replicator.sourcePosition();
    if (!(await waitSampling(p1, pending, seen))) {
      timedOut = p1;
      break;
    }
    const t1 = await readTarget(pending);
    const s2 = await readSource(pending);
    const p2 = await live.replicator.sourcePosition();
    seen.push(s2);
    let still = unmatched(pending, seen, t1);
    last = compare(only(s2, new Set(still)), only(t1, new Set(still)));
    if (still.length) {
      const after: Row[][] = [s2];
      if (!(await waitSampling(p2, still, after))) {
        pending = still;
        timedOut = p2;
        break;
      }
      const t2 = await readTarget(still);
      const s3 = await readSource(still);
      after.push(s3);
      still = unmatched(still, after, t2);
      last = compare(only(s3, new Set(still)), only(t2, new Set(still)));
    }
    pending = still;
  }
  // `last` holds every pending row (a wait that timed out in the first round leaves the first check)
  const keep = new Set(pending);
  const kept = (entries: readonly DiffEntry[]) => entries.filter((e) => keep.has(e.id));
  const diff: ChunkDiff = {
    missing: kept(last.missing),
    extra: kept(last.extra),
    different: kept(last.different),
    deadLetter: first.deadLetter,
    samples: [],
  };
  const keptKeys = new Set(entriesOf(diff).map((e) => JSON.stringify(e.key)));
  diff.samples.push(...last.samples.filter((s) => keptKeys.has(JSON.stringify(s.key))));
  return { diff, inFlight: firstIds.size - keep.size, rowsFetched: fetched, ...(timedOut ? { timedOut } : {}) };
}

function entriesOf(diff: ChunkDiff): DiffEntry[] {
  return [...diff.missing, ...diff.extra, ...diff.different];
}

function differing(diff: ChunkDiff): Set<string> {
  return new Set(entriesOf(diff).map((e) => e.id));
}
