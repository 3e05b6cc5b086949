import type { Replicator } from '../platform/roles.ts';
import { sourceRows, targetRows, type ChunkContext } from './chunk-compare.ts';
import { diffChunkRows, keyId, type ChunkDiff, type DiffEntry } from './row-diff.ts';
import type { KeyRange } from './side-query.ts';

/** How the lag-aware re-check runs while replication applies a live load. */
export interface LiveRecheck {
  readonly replicator: Replicator;
  /** Rounds a row must differ in before it is reported. */
  readonly rounds: number;
  /** Epoch milliseconds: no wait for replication goes past it. */
  readonly deadline: number;
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

type Row = (string | null)[];

/**
 * Re-checks the rows a first comparison found different, reading back only those rows (by key,
 * within `span`, the key range they came from). One round:
 *   s1 = source rows, p1 = source position; wait until the target applied p1; t1 = target rows;
 *   s2 = source rows, p2 = source position. A row is consistent when t1 equals s1 or s2; for the
 *   others, wait for p2 and read t2: consistent when t2 equals s2.
 * A hot row that changes between every read converges because it only needs to match one of the
 * source states it was seen in; a row that really differs matches none in any round. Rows still
 * inconsistent go to the next round; those inconsistent in every round are reported.
 */
export async function recheckRows(ctx: ChunkContext, span: KeyRange, first: ChunkDiff, live: LiveRecheck): Promise<RecheckOutcome> {
  const firstIds = new Set(entriesOf(first).map((e) => e.id));
  let pending = [...firstIds];
  let last = first;
  let fetched = 0;
  let timedOut: string | undefined;
  const nk = ctx.plan.keys.length;
  const wait = (position: string) => live.replicator.waitForPosition(position, Math.max(1, live.deadline - Date.now()));
  const keyed = (ids: readonly string[]): KeyRange => ({ lower: span.lower, upper: span.upper, keys: ids.map((id) => JSON.parse(id) as (string | null)[]) });
  const readSource = async (ids: readonly string[]) => {
    const read = await sourceRows(ctx, keyed(ids));
    fetched += read.fetched;
    return read.rows;
  };
  const readTarget = async (ids: readonly string[]) => {
    const rows = await targetRows(ctx, keyed(ids));
    fetched += rows.length;
    return rows;
  };
  const compare = (src: Row[], tgt: Row[]) => diffChunkRows(ctx.plan, src, tgt, { floatTolerance: ctx.form.floatTolerance, deadLetterIds: ctx.deadLetterIds });
  const only = (rows: Row[], ids: ReadonlySet<string>) => rows.filter((r) => ids.has(keyId(r.slice(0, nk))));

  for (let round = 0; round < live.rounds && pending.length; round++) {
    const s1 = await readSource(pending);
    const p1 = await live.replicator.sourcePosition();
    if (!(await wait(p1))) {
      timedOut = p1;
      break;
    }
    const t1 = await readTarget(pending);
    const s2 = await readSource(pending);
    const p2 = await live.replicator.sourcePosition();
    const atP1 = differing(compare(s1, t1));
    const atP2 = compare(s2, t1);
    const still = pending.filter((id) => atP1.has(id) && differing(atP2).has(id));
    last = atP2;
    if (still.length) {
      if (!(await wait(p2))) {
        pending = still;
        timedOut = p2;
        break;
      }
      const stillSet = new Set(still);
      const t2 = await readTarget(still);
      last = compare(only(s2, stillSet), t2);
      const settled = differing(last);
      pending = still.filter((id) => settled.has(id));
    } else pending = [];
  }
  // `last` holds every pending row (a wait that timed out in the first round leaves the first check)
  const keep = new Set(pending);
  const kept = (entries: readonly DiffEntry[]) => entries.filter((e) => keep.has(e.id));
  const source = last;
  const diff: ChunkDiff = {
    missing: kept(source.missing),
    extra: kept(source.extra),
    different: kept(source.different),
    deadLetter: first.deadLetter,
    samples: [],
  };
  const keptKeys = new Set(entriesOf(diff).map((e) => JSON.stringify(e.key)));
  diff.samples.push(...source.samples.filter((s) => keptKeys.has(JSON.stringify(s.key))));
  return { diff, inFlight: firstIds.size - keep.size, rowsFetched: fetched, ...(timedOut ? { timedOut } : {}) };
}

function entriesOf(diff: ChunkDiff): DiffEntry[] {
  return [...diff.missing, ...diff.extra, ...diff.different];
}

function differing(diff: ChunkDiff): Set<string> {
  return new Set(entriesOf(diff).map((e) => e.id));
}
