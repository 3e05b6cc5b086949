import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Tests start real PostgreSQL servers, HTTP servers and child processes on a 2-core machine.
// The end-to-end rehearsals measure "0 failed client requests" under live load, which CPU
// starvation from other test files would turn into timeouts: they run last, one at a time,
// after every other file (two at a time) has finished. A rehearsal keeps about one core busy
// (its servers, apps, router and workers); the other core runs BESIDE_REHEARSALS meanwhile, at
// the lowest CPU priority (test/_helpers/lowest-priority.ts), so they get only what the
// rehearsal leaves idle.
// The AWS SDK's notice that future releases need Node 22 is hidden, as in bin/cutover.mjs.
const shared = {
  testTimeout: 120_000,
  hookTimeout: 300_000,
  pool: 'forks' as const,
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
};

// Unit-like folders run without per-file isolation: each worker process imports the kit's modules
// once for all its files instead of once per file (31 of these files took 146 s isolated, 22 s
// not, at load 20). Also shared: files that start only database servers (PostgreSQL, MariaDB) and
// talk to them through clients they close, every server stopped in afterAll (15 of them: 49-65
// CPU-s shared, 69-78 isolated, at load 8-15; 5 more that also run the CLI in-process: 18.8-20.4
// vs 25.6 CPU-s). Also files whose replicators or apps run in-process and are stopped in
// afterAll. Left isolated: files that start detached replication workers, child processes or
// apps in their own process (a leftover handle of one must not fail the next), and files
// that need a fresh process: they mock modules (test/cli/exit-codes), check what a fresh process
// has loaded (test/config/backup-store-config) or need real AWS clients (test/backup: test/aws
// stubs the client prototypes for good, with aws-sdk-client-mock).
const SHARED = [
  ...['architecture', 'aws', 'engine', 'estimate', 'mappings', 'output', 'phases', 'router', 'shadow', 'throttle', 'traffic'].map((d) => `test/${d}/**/*.test.ts`),
  'test/config/load.test.ts',
  'test/config/reverse-exempt.test.ts',
  'test/config/rehearsal-gates.test.ts',
  'test/cli/runbook-commands.test.ts',
  'test/demo/seeded-random.test.ts',
  'test/engines/binlog-values.test.ts',
  'test/postgres/hold-owner.test.ts',
  'test/postgres/reused-kit-session.test.ts',
  'test/rehearsal/blue-footprint.test.ts',
  ...['lsn', 'pgoutput-rows', 'status-writer', 'stream-health', 'stream-health-limits', 'stream-names', 'transaction-queue'].map((f) => `test/replication/${f}.test.ts`),
  ...['apply-warm-up', 'copy-data-framer', 'read-coalescing', 'back-pressure', 'apply-capacity'].map((f) => `test/replication/${f}.test.ts`),
  'test/platform/kept-sessions.test.ts',
  // database servers only (most of them run BESIDE_REHEARSALS, below)
  'test/demo/generator.test.ts',
  // database servers, in-process (foreground) replicators or apps, all stopped in afterAll/afterEach;
  // their spies restored. Isolated, each paid ~1 CPU-s importing the kit again.
  'test/replication/heartbeat-majors.test.ts',
  'test/diff/live-validation.test.ts',
  ...['load-generator', 'order-app', 'order-app-mysql'].map((f) => `test/demo/${f}.test.ts`),
];

// Files that run beside the rehearsals (see the top): no timing in their assertions (a starved run
// is only slower), nothing the rehearsals share. The CDK synths (CPU only), and files that start
// only database servers (PostgreSQL, MariaDB), some with the CLI in-process (test/cli/run-cli.ts),
// no worker started; every server stopped in afterAll. Not isolated, as SHARED.
// test/demo/generator.test.ts stays in SHARED: it asserts the seeding's load time.
const BESIDE_REHEARSALS = [
  'test/infra/**/*.test.ts',
  'test/assess/mapping-coverage.test.ts',
  'test/assess/postgres-inspector.test.ts',
  'test/backup/mysql-snapshotter.test.ts',
  ...['cainiao-mysql', 'mapping-engine', 'mapping-files', 'quality-checks'].map((f) => `test/demo/${f}.test.ts`),
  'test/diff/bucket-narrowing.test.ts',
  'test/diff/comparison-pool.test.ts',
  ...['cross-engine-resume-repair', 'mariadb-helper', 'mysql-assess'].map((f) => `test/engines/${f}.test.ts`),
  'test/rehearsal/mariadb-server.test.ts',
  'test/replication/change-applier-prepared.test.ts',
  // database servers and the CLI run in-process (test/cli/run-cli.ts), no worker started
  'test/assess/target-state.test.ts',
  ...['estimate', 'mappings-check-env', 'validate-contract'].map((f) => `test/cli/${f}.test.ts`),
  'test/engines/cross-engine-validate.test.ts',
  // database servers and in-process (foreground) replicators, stopped in afterAll; or the CLI
  // in-process with no worker started. They ran in the kit's first stretch (38 of its ~420
  // worker-seconds) while this worker idled about 50 s of the rehearsals' ~118.
  'test/assess/foreign-kit-schema.test.ts',
  'test/assess/least-privilege.test.ts',
  'test/backup/postgres-snapshotter.test.ts',
  'test/demo/mapping-files-mysql.test.ts',
  'test/diff/postgres-validator.test.ts',
  'test/postgres/embedded-server.test.ts',
  ...['reverse-and-sequences', 'unsent-toast-values'].map((f) => `test/replication/${f}.test.ts`),
  // the same kind, moved from kit-shared: in four clean-clone CI runs the rehearsals took 141-158 s
  // and this project's files 117-134 s, so this worker idled ~24 s at the end while the kit's
  // stretch before it (two workers) was ~200 s; these four took 19-20 s there (their spies restored)
  ...['postgres-replicator', 'sequences-direction'].map((f) => `test/replication/${f}.test.ts`),
  'test/diff/cross-engine-frozen-changed-rows.test.ts',
  'test/engines/mysql-fence-sequences.test.ts',
];

// The rehearsals are test/rehearsal/*.rehearsal.ts, run one after another by ONE file,
// rehearsals.test.ts (a file is one worker's task; separate files could run two at once). The
// files of test/rehearsal that run no rehearsal (a report renderer, the MariaDB helper, the demo
// business's start failures, a mocked server start, a pure function) run with the kit's files.
// Any other test file there is refused here: name a rehearsal NAME.rehearsal.ts.
const NOT_REHEARSALS = ['blue-footprint', 'demo-systems', 'exit-codes', 'mariadb-server', 'report-html', 'starvation-meter'].map((f) => `${f}.test.ts`);
const REHEARSALS = ['test/rehearsal/rehearsals.test.ts'];
const strays = readdirSync(new URL('./test/rehearsal', import.meta.url)).filter((f) => f.endsWith('.test.ts') && !NOT_REHEARSALS.includes(f) && `test/rehearsal/${f}` !== REHEARSALS[0]);
if (strays.length) {
  throw new Error(`test/rehearsal/${strays.join(', ')}: a rehearsal is named NAME.rehearsal.ts (test/rehearsal/rehearsals.test.ts runs them one at a time); a file that runs no rehearsal goes in NOT_REHEARSALS (vitest.config.ts)`);
}

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
          exclude: [...REHEARSALS, ...SHARED, ...BESIDE_REHEARSALS],
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
      // group 1: the rehearsals' one file on one worker, BESIDE_REHEARSALS on the other. vitest
      // queues a group's projects by name: 'rehearsal' before 'rehearsal-beside', so the
      // rehearsals start at once, not after a queue of the others.
      {
        test: {
          ...shared,
          name: 'rehearsal',
          include: REHEARSALS,
          // one worker process for all of them: the kit's modules are imported once, not once per
          // rehearsal (about 1 CPU-s each, on the run's critical path). Each rehearsal stops what it
          // started — servers, apps, router, workers, signal traps — and leaves no handle behind.
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...shared,
          name: 'rehearsal-beside',
          include: BESIDE_REHEARSALS,
          isolate: false,
          setupFiles: ['test/_helpers/lowest-priority.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
