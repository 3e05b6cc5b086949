import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { Replicator, ValidationReport } from '../platform/roles.ts';
import { NO_PARALLEL_WORKERS, queryText } from './comparison-pool.ts';

export interface ReconciliationCheck {
  readonly name: string;
  readonly source: string;
  readonly target: string;
}

export type ReconciliationResult = ValidationReport['reconciliation'][number] & {
  /**
   * Still different after every aligned round while replication was applying a live load: reported,
   * but not a failure of this validation; the frozen validation at the write switch decides.
   */
  readonly inFlight?: boolean;
};

/** Replication is running: evaluate both sides at aligned positions, several times if needed. */
export interface LiveReconciliation {
  readonly replicator: Replicator;
  /** The side the replicator copies from (`target`: reverse replication after the write switch). @default 'source' */
  readonly truth?: 'source' | 'target';
  readonly rounds: number;
  readonly timeoutMs: number;
  readonly out: Output;
}

/**
 * Business invariants (对账): each check's source query on the source and target query on the
 * target; equal when the two result sets print the same JSON (rows as arrays of text in the
 * canonical session, so `count(*)` on both sides compares as "42" = "42").
 *
 * Frozen source (or no replication running): one read per side, any difference fails. While
 * replication applies writes the two reads are aligned: source (position p1), wait until the
 * target applied p1, target, source again; equal when the target matches either source result.
 * Up to `rounds` tries; a difference that survives them is `inFlight` (see ReconciliationResult).
 */
export async function reconcile(
  checks: readonly ReconciliationCheck[],
  sourceDb: pg.Pool,
  targetDb: pg.Pool,
  live?: LiveReconciliation,
): Promise<ReconciliationResult[]> {
  if (!live) {
    // frozen (the write hold): nothing moves, so every check runs at once, as many as the pools'
    // sessions allow; each second here holds the business's writes
    return Promise.all(
      checks.map(async (check) => {
        const [source, target] = await Promise.all([run(sourceDb, check, 'source'), run(targetDb, check, 'target')]);
        return { name: check.name, equal: same(source, target), source, target };
      }),
    );
  }
  const out: ReconciliationResult[] = [];
  for (const check of checks) out.push(await reconcileLive(check, sourceDb, targetDb, live));
  return out;
}

async function reconcileLive(check: ReconciliationCheck, sourceDb: pg.Pool, targetDb: pg.Pool, live: LiveReconciliation): Promise<ReconciliationResult> {
  const deadline = Date.now() + live.timeoutMs;
  let source: unknown = null;
  let target: unknown = null;
  // the side the stream copies from is read before and after the wait; the other once it applied
  const reverse = live.truth === 'target';
  const readTruth = () => (reverse ? run(targetDb, check, 'target') : run(sourceDb, check, 'source'));
  const readCopy = () => (reverse ? run(sourceDb, check, 'source') : run(targetDb, check, 'target'));
  for (let round = 1; round <= live.rounds; round++) {
    const before = await readTruth();
    const position = await live.replicator.sourcePosition();
    const reached = await live.replicator.waitForPosition(position, Math.max(1, deadline - Date.now()));
    if (!reached) live.out.warn('validate', `reconciliation ${check.name}: ${reverse ? 'reverse ' : ''}replication did not reach ${position} in time; comparing with the ${reverse ? 'source' : 'target'} as it is`);
    const copy = await readCopy();
    const after = await readTruth();
    const truth = same(before, copy) ? before : after;
    if (same(before, copy) || same(after, copy)) return { name: check.name, equal: true, source: reverse ? copy : truth, target: reverse ? truth : copy };
    [source, target] = reverse ? [copy, after] : [after, copy];
    if (!reached) break;
  }
  return { name: check.name, equal: false, inFlight: true, source, target };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function run(db: pg.Pool, check: ReconciliationCheck, side: 'source' | 'target'): Promise<(string | null)[][]> {
  let client: pg.PoolClient | undefined;
  try {
    client = await db.connect();
    // a business query over whole tables runs with the server's own parallel workers, not with
    // the engine's session setting (comparison-pool.ts), which is restored afterwards
    await client.query('RESET max_parallel_workers_per_gather').catch(() => {});
    try {
      return await queryText(client, check[side]);
    } finally {
      await client.query(NO_PARALLEL_WORKERS).catch(() => {});
    }
  } catch (err) {
    throw new CutoverError('CONFIG_INVALID', `reconciliation "${check.name}": the ${side} query failed: ${(err as Error).message}`, {
      received: check[side],
      fix: `correct validation.reconciliation[name=${check.name}].${side} in the config`,
      cause: err,
    });
  } finally {
    client?.release();
  }
}

