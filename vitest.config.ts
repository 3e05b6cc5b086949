import { defineConfig } from 'vitest/config';

// Tests start real PostgreSQL servers, HTTP servers and child processes on a 2-core machine.
// The end-to-end rehearsals measure "0 failed client requests" under live load, which CPU
// starvation from other test files would turn into timeouts: they run last, one at a time,
// after every other file (two at a time) has finished.
// The AWS SDK's notice that future releases need Node 22 is hidden, as in bin/cutover.mjs.
const shared = {
  testTimeout: 120_000,
  hookTimeout: 300_000,
  pool: 'forks' as const,
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
};

// Unit-like folders run without per-file isolation: each worker process imports the kit's modules
// once for all its files instead of once per file (31 of these files took 146 s isolated, 22 s
// not, at load 20). Left isolated: files that start databases, replication workers and apps (a
// leftover handle of one must not fail the next), and files that need a fresh process: they mock
// modules (test/cli/exit-codes), check what a fresh process has loaded
// (test/config/backup-store-config) or need real AWS clients (test/backup: test/aws stubs the
// client prototypes for good, with aws-sdk-client-mock).
const SHARED = [
  ...['architecture', 'aws', 'engine', 'estimate', 'infra', 'mappings', 'output', 'phases', 'router', 'shadow', 'throttle', 'traffic'].map((d) => `test/${d}/**/*.test.ts`),
  'test/config/load.test.ts',
  'test/config/reverse-exempt.test.ts',
];

export default defineConfig({
  test: {
    // the digest comes last: CI shows only the tail of the output (test/_reporters/failure-digest.ts)
    reporters: ['default', './test/_reporters/failure-digest.ts'],
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'kit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/rehearsal/**', ...SHARED],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'kit-shared',
          include: SHARED,
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'rehearsal',
          include: ['test/rehearsal/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
