import { defineConfig } from 'vitest/config';

// Tests start real PostgreSQL servers and HTTP servers; two cores, so keep parallelism modest
// and timeouts generous (a server start is ~2 s, a CDK synth with nag ~10 s).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
