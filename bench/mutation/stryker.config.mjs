// Mutation testing of the gate and verdict modules (issue 18): `npm run mutation`.
// Not part of `npm test` (minutes, not seconds). Scores land in reports/mutation/.
// Mutated: the gates and the gate watch, the switch's pre-checks, the rollback's proof, the
// validation outcome, the rehearsal verdict, and replication status (source-measured lag,
// DMS latency, CloudWatch alarms).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'bench/mutation/vitest.config.ts', related: false },
  mutate: [
    'lib/traffic/gates.ts',
    'lib/traffic/gate-watch.ts',
    'lib/traffic/switch-phase.ts:116-134',
    'lib/traffic/rollback.ts:263-291',
    'lib/phases/validate-phase.ts:69-72',
    'lib/phases/validate-phase.ts:82-106',
    'lib/phases/validate-phase.ts:122-147',
    'lib/rehearsal/report.ts:97-111',
    'lib/replication/stream-health.ts',
    'lib/aws/dms-metrics.ts:56-101',
    'lib/platform/gate-alarms.ts',
  ],
  // TypeScript 7's native compiler has no JS API for Stryker's tsconfig rewriting: point it at
  // no file (the sandbox keeps the tree's layout, so tsconfig.json needs no rewriting anyway)
  tsconfigFile: 'bench/mutation/no-tsconfig-rewrite.json',
  coverageAnalysis: 'perTest',
  // static mutants (module-level constants) run every test and took half the time: ignored, and
  // reported as such
  ignoreStatic: true,
  // ~7 sessions share 2 cores: one test process
  concurrency: 1,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.cutover', 'reports', 'cdk.out', '.stryker-tmp*'],
};
