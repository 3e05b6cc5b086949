import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { reverseCoverage, sideScope } from '../mappings/index.ts';
import { silentOutput } from '../output/output.ts';
import { openKitClient } from '../postgres/kit-client.ts';
import { resolveMappedTables } from '../mappings/mapped-tables.ts';
import { openTogether } from '../platform/open-together.ts';

/**
 * Before the write switch: the green tables the reverse mapping would not bring back to blue
 * (their writes after the switch would be lost on rollback), as a refusal, or null when every
 * forward target table is covered or exempted (`replication.reverseExempt`). `assess` reports the
 * same as blockers; this repeats it at the point of no return, against the catalogs as they are
 * now (the `postgres` platform's Inspector.reverseCoverageRefusal).
 */
export async function reverseCoverageRefusal(env: ResolvedPostgresEnvironment): Promise<string | null> {
  const [blue, green] = await openTogether(openKitClient(env.source.url, 'cutover-switch-check'), openKitClient(env.target.url, 'cutover-switch-check'));
  try {
    // resolved as the replicators resolve them (forward against blue, reverse against green)
    const [forward, reverse] = await Promise.all([
      resolveMappedTables(blue, sideScope(env, 'source'), env.mappingFiles.forward, silentOutput),
      resolveMappedTables(green, sideScope(env, 'target'), env.mappingFiles.reverse, silentOutput),
    ]);
    const coverage = reverseCoverage(forward, reverse, env.replication.reverseExempt ?? []);
    if (coverage.ok) return null;
    return `a rollback would lose green's writes to ${coverage.uncovered.map((g) => g.table).join(', ')}: ${coverage.uncovered
      .map((g) => g.message)
      .join('; ')}. Bring them back in ${env.mappingFiles.reverse}, or declare them in replication.reverseExempt if nothing writes them on green after the switch`;
  } finally {
    await Promise.all([blue, green].map((c) => c.end().catch(() => {})));
  }
}
