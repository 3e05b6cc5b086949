import path from 'node:path';
import type { CutoverConfigInput } from '../config/schema.ts';
import { CAINIAO_MYSQL_QUALITY_CHECKS, CAINIAO_QUALITY_CHECKS } from '../demo/quality-checks.ts';
import { DEMO_MYSQL_RECONCILIATION, DEMO_RECONCILIATION } from '../demo/reconciliation.ts';
import { mappingFilesFor } from '../demo/mapping-files.ts';
import { demoShadowConfig } from '../demo/shadow-rules.ts';
import { demoSmokeFlow } from '../demo/smoke-flow.ts';

export interface RehearsalConfigInput {
  readonly repoRoot: string;
  readonly dir: string;
  readonly cainiaoUrl: string;
  readonly duoduoUrl: string;
  /** The legacy cainiao's engine: picks the mapping files and the reconciliation queries. @default 'postgres' */
  readonly legacy?: 'postgres' | 'mysql';
  readonly routerAdminUrl: string;
  readonly blueAppUrl: string;
  readonly greenAppUrl: string;
  readonly shiftBakeSeconds: number;
  readonly bakeSeconds: number;
  /** @default [1, 10, 50, 100] */
  readonly shiftSteps?: readonly number[];
  /** @default 10 */
  readonly minRequests?: number;
  /** @default 5 */
  readonly maxP99RatioToBlue?: number;
  /** Shadow phase length, seconds; 0 skips the phase (`shadow.skip`, with the reason). @default 8 */
  readonly shadowSeconds?: number;
  /** Percent of reads mirrored in the shadow phase. @default 25 */
  readonly shadowPercent?: number;
  /** An S3-compatible store for the backups. @default none: a folder under the working folder */
  readonly s3?: { readonly endpoint: string; readonly bucket: string };
  /**
   * Pacing of the reads on blue: off, or the longest pause. A small rehearsal's reading phases take
   * seconds, so a long pause would only lengthen it; a large one keeps the default 30 s.
   * @default - the defaults of `pacing`
   */
  readonly pacing?: { readonly enabled: boolean; readonly maxPauseMs?: number };
  /** The smoke-test account and product of the seeded data. */
  readonly smoke: { customerId: number; productId: number };
}

/**
 * The `postgres` environment the rehearsal drives: the very mapping files the CDK app deploys,
 * the demo's quality checks, reconciliation and smoke flow, and short bakes so the whole
 * rehearsal fits in about two minutes. Written to `<dir>/cutover.config.json` (mode 600) so the
 * CLI can be pointed at a `--keep` rehearsal.
 */
export function buildRehearsalConfig(i: RehearsalConfigInput): CutoverConfigInput {
  const legacy = i.legacy ?? 'postgres';
  const files = mappingFilesFor(legacy);
  return {
    environments: {
      rehearsal: {
        platform: 'postgres',
        protected: false,
        source: { url: i.cainiaoUrl },
        target: { url: i.duoduoUrl },
        mappings: {
          forward: path.join(i.repoRoot, files.forward),
          reverse: path.join(i.repoRoot, files.reverse),
        },
        stateDir: path.join(i.dir, 'state'),
        backup: i.s3 ? { s3: { endpoint: i.s3.endpoint, bucket: i.s3.bucket, prefix: 'rehearsal' } } : { dir: path.join(i.dir, 'state', 'backups') },
        router: { adminUrl: i.routerAdminUrl },
        apps: { blue: { url: i.blueAppUrl }, green: { url: i.greenAppUrl } },
        // paced, the full load reads each planned chunk in slices sized to pacing.chunkTargetMs: a
        // planned chunk must leave them room to grow (unpaced, small chunks keep kill -9 tests short)
        replication: { parallelTables: 2, chunkRows: i.pacing?.enabled ? 50_000 : 2000, batchSize: 2000, waves: [] },
        ...(i.pacing ? { pacing: { enabled: i.pacing.enabled, ...(i.pacing.maxPauseMs ? { maxPauseMs: i.pacing.maxPauseMs } : {}) } } : {}),
        validation: { chunkRows: 2000, concurrency: 2, floatTolerance: 0, reconciliation: legacy === 'mysql' ? DEMO_MYSQL_RECONCILIATION : DEMO_RECONCILIATION },
        shadow: {
          ...demoShadowConfig({ seconds: i.shadowSeconds || 8, percent: i.shadowPercent ?? 25 }),
          ...(i.shadowSeconds === 0 ? { skip: { reason: 'this rehearsal was run with shadowSeconds 0: its fault scenario is not about the shadow comparison' } } : {}),
        },
        shift: { steps: [...(i.shiftSteps ?? [1, 10, 50, 100])], bakeSeconds: i.shiftBakeSeconds },
        // latency floor 50 ms: on a 2-core machine running both servers, the apps and the load, a green
        // just loaded reads cold pages; p99 100 ms against blue's 10 ms (157 requests) rolled a quiet
        // 100,000-order rehearsal back. Green up to 250 ms passes while blue is fast; 500 ms does not.
        gates: { maxErrorRatio: 0.05, maxP99RatioToBlue: i.maxP99RatioToBlue ?? 5, latencyFloorMs: 50, maxLagMs: 2000, maxValidationAgeSeconds: 3600, minRequests: i.minRequests ?? 10 },
        switch: { catchUpTimeoutMs: 10_000, maxHoldMs: 15_000, sequenceGap: 1000 },
        bake: { seconds: i.bakeSeconds },
        assess: { checks: legacy === 'mysql' ? CAINIAO_MYSQL_QUALITY_CHECKS : CAINIAO_QUALITY_CHECKS },
        smoke: demoSmokeFlow(i.smoke),
      },
    },
  };
}
