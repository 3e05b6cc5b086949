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
          exclude: ['test/rehearsal/**'],
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
