import type pg from 'pg';
import type { QualityCheck } from '../config/common-schema.ts';
import type { Finding, RowKey } from '../platform/roles.ts';

/** Sample keys kept per finding. */
export const SAMPLE_KEYS = 5;

/**
 * The config's data-quality checks on the source. A check's SQL returns one row per finding whose
 * columns are the key (e.g. `select cust_id from t_customer where email !~ '@'`); the finding
 * carries the count, a few sample keys and what the mapping does about it. A check whose SQL
 * fails is reported as a warning finding with the server's message, so one typo does not hide
 * every other finding.
 */
export async function runQualityChecks(client: pg.ClientBase, checks: readonly QualityCheck[], before?: (check: QualityCheck) => void): Promise<Finding[]> {
  return runQualityChecksWith(async (sql) => (await client.query(sql)).rows, checks, before);
}

/** The same on any engine: `run` returns a statement's rows (a MySQL-family source runs its own dialect's checks). */
export async function runQualityChecksWith(
  run: (sql: string) => Promise<Record<string, unknown>[]>,
  checks: readonly QualityCheck[],
  /** Called as each check starts (progress output). */
  before?: (check: QualityCheck) => void,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const check of checks) {
    before?.(check);
    const base = { id: check.id, ...(check.table ? { table: check.table } : {}), handling: check.handling };
    try {
      const body = check.sql.trim().replace(/;\s*$/, '');
      const [count] = await run(`SELECT count(*) AS n FROM (${body}) AS finding`);
      const samples = await run(`SELECT * FROM (${body}) AS finding LIMIT ${SAMPLE_KEYS}`);
      const n = Number(count!.n);
      findings.push({
        ...base,
        severity: n > 0 ? check.severity : 'info',
        count: n,
        sampleKeys: samples.map((r) => ({ ...r }) as RowKey),
        message: `${check.description}: ${n} row(s)`,
      });
    } catch (err) {
      findings.push({
        ...base,
        severity: 'warning',
        count: 0,
        sampleKeys: [],
        message: `${check.description}: the check's SQL failed: ${(err as Error).message}`,
        handling: `correct assess.checks[id=${check.id}].sql in the config`,
      });
    }
  }
  return findings;
}
