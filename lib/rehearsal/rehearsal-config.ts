import path from 'node:path';
import type { CutoverConfigInput } from '../config/schema.ts';
import { demoQualityChecks, demoReconciliation, demoSmokeFlow } from './demo-config.ts';

export interface RehearsalConfigInput {
  readonly repoRoot: string;
  readonly dir: string;
  readonly cainiaoUrl: string;
  readonly duoduoUrl: string;
  readonly routerAdminUrl: string;
  readonly blueAppUrl: string;
  readonly greenAppUrl: string;
  readonly shiftBakeSeconds: number;
  readonly bakeSeconds: number;
}

/**
 * The `postgres` environment the rehearsal drives: the very mapping files the CDK app deploys,
 * the demo's quality checks, reconciliation and smoke flow, and short bakes so the whole
 * rehearsal fits in about two minutes. Written to `<dir>/cutover.config.json` (mode 600) so the
 * CLI can be pointed at a `--keep` rehearsal.
 */
export function buildRehearsalConfig(i: RehearsalConfigInput): CutoverConfigInput {
  return {
    environments: {
      rehearsal: {
        platform: 'postgres',
        protected: false,
        source: { url: i.cainiaoUrl },
        target: { url: i.duoduoUrl },
        mappings: {
          forward: path.join(i.repoRoot, 'mappings', 'cainiao-to-duoduo.json'),
          reverse: path.join(i.repoRoot, 'mappings', 'duoduo-to-cainiao.json'),
        },
        stateDir: path.join(i.dir, 'state'),
        backup: { dir: path.join(i.dir, 'state', 'backups') },
        router: { adminUrl: i.routerAdminUrl },
        apps: { blue: { url: i.blueAppUrl }, green: { url: i.greenAppUrl } },
        replication: { parallelTables: 2, chunkRows: 2000, batchSize: 500, waves: [] },
        validation: { chunkRows: 2000, concurrency: 2, floatTolerance: 0, reconciliation: demoReconciliation() },
        shift: { steps: [1, 10, 50, 100], bakeSeconds: i.shiftBakeSeconds },
        gates: { maxErrorRatio: 0.05, maxP99RatioToBlue: 5, maxLagMs: 2000, maxValidationAgeSeconds: 3600, minRequests: 10 },
        switch: { catchUpTimeoutMs: 10_000, maxHoldMs: 15_000, sequenceGap: 1000 },
        bake: { seconds: i.bakeSeconds },
        assess: { checks: demoQualityChecks() },
        smoke: demoSmokeFlow(),
      },
    },
  };
}
