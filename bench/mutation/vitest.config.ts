import { defineConfig } from 'vitest/config';

// The fast tests that judge the gate and verdict modules (bench/mutation/stryker.config.mjs):
// fakes, no database server, so every mutant runs in seconds. MUTATION_TESTS (comma-separated
// test files) narrows a run to the tests of the module it mutates (bench/mutation/run-modules.sh).
const all = [
  'test/traffic/gates.test.ts',
  'test/traffic/gate-figures.test.ts',
  'test/traffic/gate-watch.test.ts',
  'test/traffic/gate-watch-limits.test.ts',
  'test/traffic/switch-phase.test.ts',
  'test/traffic/switch-prechecks.test.ts',
  'test/traffic/rollback.test.ts',
  'test/traffic/rollback-proof.test.ts',
  'test/replication/stream-health.test.ts',
  'test/replication/stream-health-limits.test.ts',
  'test/aws/dms-replicator.test.ts',
  'test/aws/dms-lag.test.ts',
  'test/aws/cloudwatch-gates.test.ts',
  'test/aws/gate-alarms.test.ts',
  'test/rehearsal/report-html.test.ts',
  'test/phases/validate-repair.test.ts',
  'test/phases/validate-outcome.test.ts',
];
const only = process.env.MUTATION_TESTS?.split(',').filter(Boolean);

export default defineConfig({
  test: {
    include: only?.length ? only : all,
    pool: 'forks',
    testTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
