import { narrowMismatches } from './bucket-narrowing.ts';
import { diffChunk, hashedRange, rowsPerRange, type ChunkContext, type ChunkHashes } from './chunk-compare.ts';
import { diffChunkRows, type ChunkDiff } from './row-diff.ts';
import { bucketRange, MAX_ARMS, type KeyRange } from './side-query.ts';

/** Mismatching buckets followed up together, at most: one statement's ranges per side. */
const BATCH_BUCKETS = MAX_ARMS;

export interface ChunkFollowUp {
  readonly diff: ChunkDiff;
  /** Rows shipped to narrow and diff this chunk's buckets. */
  readonly rowsFetched: number;
}

interface Job {
  readonly range: KeyRange;
  readonly hashes: ChunkHashes;
  resolve(found: ChunkFollowUp): void;
  reject(err: unknown): void;
}

/**
 * The follow-up of one table's mismatching chunks, several chunks at a time: their buckets are
 * narrowed together (bucket-narrowing.ts) and the rows of all their leaves shipped together, so a
 * scattered difference costs its rows and a share of a few statements rather than four round
 * trips of its own. A batch goes as soon as it holds BATCH_BUCKETS buckets; the rest once every
 * chunk of the table has been hashed.
 */
export class MismatchBatches {
  private readonly pending: Job[] = [];
  private pendingBuckets = 0;

  /**
   * `unhashed`: the table's chunks (or buckets) still to hash in this run (each one reports `hashed(units)`);
   * `sessions`: per side, what the batches left when no scan runs any more are spread over.
   */
  constructor(
    private readonly ctx: ChunkContext,
    private unhashed: number,
    private readonly sessions: number,
  ) {}

  /** The diff of a chunk's mismatching buckets, found together with other chunks'. */
  resolve(range: KeyRange, hashes: ChunkHashes): Promise<ChunkFollowUp> {
    return new Promise((resolve, reject) => {
      this.pending.push({ range, hashes, resolve, reject });
      this.pendingBuckets += hashes.mismatchedBuckets.length;
      this.flush();
    });
  }

  /** `units` (a chunk, or an adapted chunk's buckets) fewer to hash (hashed, or failed); after the last one no batch waits to fill. */
  hashed(units = 1): void {
    this.unhashed -= units;
    this.flush();
  }

  private flush(): void {
    // once every chunk is hashed, nothing else keeps the sessions busy: smaller batches, in parallel
    const size = this.unhashed > 0 ? BATCH_BUCKETS : Math.max(1, Math.ceil(Math.min(this.pendingBuckets, BATCH_BUCKETS) / this.sessions));
    while (this.pending.length && (this.pendingBuckets >= BATCH_BUCKETS || this.unhashed <= 0)) {
      const batch: Job[] = [];
      let buckets = 0;
      while (this.pending.length && (!batch.length || buckets + this.pending[0]!.hashes.mismatchedBuckets.length <= size)) {
        const job = this.pending.shift()!;
        batch.push(job);
        buckets += job.hashes.mismatchedBuckets.length;
      }
      this.pendingBuckets -= buckets;
      followUp(this.ctx, batch).then(
        (found) => batch.forEach((job, i) => job.resolve(found[i]!)),
        (err: unknown) => batch.forEach((job) => job.reject(err)),
      );
    }
  }
}

/** Narrows the chunks' mismatching buckets together, ships the leaves' rows and diffs each chunk. */
async function followUp(ctx: ChunkContext, chunks: readonly { range: KeyRange; hashes: ChunkHashes }[]): Promise<ChunkFollowUp[]> {
  const narrowed = await narrowMismatches(
    ctx,
    chunks.flatMap((c, owner) => c.hashes.mismatchedBuckets.map((b) => ({ range: bucketRange(hashedRange(ctx, c.range), b), rows: c.hashes.bucketRows.get(b) ?? 0, owner }))),
  );
  const leavesOf = (owner: number) => narrowed.leaves.flatMap((leaf, i) => (leaf.owner === owner ? [i] : []));
  const narrowing = (owner: number) => narrowed.rowsFetched.get(owner) ?? 0;
  if (ctx.plan.viaTransformer) {
    // the transformer reads a chunk's source rows itself: one chunk per statement
    return Promise.all(
      chunks.map(async (_, owner) => {
        const found = await diffChunk(ctx, leavesOf(owner).map((i) => narrowed.leaves[i]!.range));
        return { diff: found.diff, rowsFetched: narrowing(owner) + found.rowsFetched };
      }),
    );
  }
  const rows = await rowsPerRange(ctx, narrowed.leaves.map((leaf) => leaf.range));
  return chunks.map((_, owner) => {
    const source = leavesOf(owner).flatMap((i) => rows.source[i]!);
    const target = leavesOf(owner).flatMap((i) => rows.target[i]!);
    const diff = diffChunkRows(ctx.plan, source, target, { floatTolerance: ctx.form.floatTolerance, deadLetterIds: ctx.deadLetterIds });
    return { diff, rowsFetched: narrowing(owner) + source.length + target.length };
  });
}
