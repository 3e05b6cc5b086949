import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { loadTableMappings, readCatalog, resolveTableMappings, reverseCoverage } from '../mappings/index.ts';
import { openKitClient } from '../postgres/kit-client.ts';

/**
 * Before the write switch: the green tables the reverse mapping would not bring back to blue
 * (their writes after the switch would be lost on rollback), as a refusal, or null when every
 * forward target table is covered or exempted (`replication.reverseExempt`). `assess` reports the
 * same as blockers; this repeats it at the point of no return, against the catalogs as they are
 * now (the `postgres` platform's Inspector.reverseCoverageRefusal).
 */
export async function reverseCoverageRefusal(env: ResolvedPostgresEnvironment): Promise<string | null> {
  const [blue, green] = await Promise.all([openKitClient(env.source.url, 'cutover-switch-check'), openKitClient(env.target.url, 'cutover-switch-check')]);
  try {
    const [forwardDoc, reverseDoc, blueCatalog, greenCatalog] = await Promise.all([
      loadTableMappings(env.mappingFiles.forward),
      loadTableMappings(env.mappingFiles.reverse),
      readCatalog(blue, env.source.schemas),
      readCatalog(green, env.target.schemas),
    ]);
    const coverage = reverseCoverage(
      resolveTableMappings(forwardDoc, blueCatalog).tables,
      resolveTableMappings(reverseDoc, greenCatalog).tables,
      env.replication.reverseExempt ?? [],
    );
    if (coverage.ok) return null;
    return `a rollback would lose green's writes to ${coverage.uncovered.map((g) => g.table).join(', ')}: ${coverage.uncovered
      .map((g) => g.message)
      .join('; ')}. Bring them back in ${env.mappingFiles.reverse}, or declare them in replication.reverseExempt if nothing writes them on green after the switch`;
  } finally {
    await Promise.all([blue.end().catch(() => {}), green.end().catch(() => {})]);
  }
}
