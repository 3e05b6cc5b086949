import type pg from 'pg';
import { CutoverError } from '../errors.ts';
import type { ValidationReport } from '../platform/roles.ts';
import { queryText } from './comparison-pool.ts';

export interface ReconciliationCheck {
  readonly name: string;
  readonly source: string;
  readonly target: string;
}

/**
 * Business invariants (对账): each check's source query on the source and target query on the
 * target; equal when the two result sets print the same JSON (rows as arrays of text in the
 * canonical session, so `count(*)` on both sides compares as "42" = "42").
 * `align` runs between the two reads: it lets replication reach the source read's position.
 */
export async function reconcile(
  checks: readonly ReconciliationCheck[],
  sourceDb: pg.Pool,
  targetDb: pg.Pool,
  align: () => Promise<void> = async () => {},
): Promise<ValidationReport['reconciliation']> {
  const out: { name: string; equal: boolean; source: unknown; target: unknown }[] = [];
  for (const check of checks) {
    const source = await run(sourceDb, check, 'source');
    await align();
    const target = await run(targetDb, check, 'target');
    out.push({ name: check.name, equal: JSON.stringify(source) === JSON.stringify(target), source, target });
  }
  return out;
}

async function run(db: pg.Pool, check: ReconciliationCheck, side: 'source' | 'target'): Promise<(string | null)[][]> {
  try {
    return await queryText(db, check[side]);
  } catch (err) {
    throw new CutoverError('CONFIG_INVALID', `reconciliation "${check.name}": the ${side} query failed: ${(err as Error).message}`, {
      received: check[side],
      fix: `correct validation.reconciliation[name=${check.name}].${side} in the config`,
      cause: err,
    });
  }
}
