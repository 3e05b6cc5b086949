#!/usr/bin/env bash
# Mutation runs one gate module at a time, each with only the tests that judge it (issue 18).
#   LABEL=before|after bench/mutation/run-modules.sh [NAME ...]      (default: every module below)
# Writes reports/mutation/NAME-LABEL.json and .txt; `node bench/mutation/summary.mjs` tabulates
# them (--survivors lists what survived). Each run has its own config, temp folder and report, so
# two runs can go side by side; each is concurrency 1 (stryker.config.mjs): the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
label=${LABEL:-run}
declare -A MUTATE TESTS
MUTATE[gates]='lib/traffic/gates.ts'
TESTS[gates]='test/traffic/gates.test.ts,test/traffic/gate-figures.test.ts'
MUTATE[gate-watch]='lib/traffic/gate-watch.ts'
TESTS[gate-watch]='test/traffic/gate-watch.test.ts,test/traffic/gate-watch-limits.test.ts'
MUTATE[switch-prechecks]='lib/traffic/switch-phase.ts:116-134'
TESTS[switch-prechecks]='test/traffic/switch-phase.test.ts,test/traffic/switch-prechecks.test.ts'
MUTATE[rollback-proof]='lib/traffic/rollback.ts:263-291'
TESTS[rollback-proof]='test/traffic/rollback.test.ts,test/traffic/rollback-proof.test.ts'
MUTATE[validate-outcome]='lib/phases/validate-phase.ts:69-72,lib/phases/validate-phase.ts:82-106,lib/phases/validate-phase.ts:122-147'
TESTS[validate-outcome]='test/phases/validate-repair.test.ts,test/phases/validate-outcome.test.ts'
MUTATE[rehearsal-verdict]='lib/rehearsal/report.ts:97-111'
TESTS[rehearsal-verdict]='test/rehearsal/report-html.test.ts'
MUTATE[stream-health]='lib/replication/stream-health.ts'
TESTS[stream-health]='test/replication/stream-health.test.ts,test/replication/stream-health-limits.test.ts'
MUTATE[dms-metrics]='lib/aws/dms-metrics.ts:56-101'
TESTS[dms-metrics]='test/aws/dms-replicator.test.ts,test/aws/dms-lag.test.ts'
MUTATE[gate-alarms]='lib/platform/gate-alarms.ts'
TESTS[gate-alarms]='test/aws/cloudwatch-gates.test.ts,test/aws/gate-alarms.test.ts'
ORDER=(rehearsal-verdict switch-prechecks rollback-proof validate-outcome gate-watch gates stream-health dms-metrics gate-alarms)

mkdir -p reports/mutation
for name in "${@:-${ORDER[@]}}"; do
  run="$name-$label"
  config="reports/mutation/$run.config.mjs"
  mutate=$(printf "'%s', " ${MUTATE[$name]//,/ })
  cat >"$config" <<CONFIG
import base from '../../bench/mutation/stryker.config.mjs';
export default { ...base, mutate: [$mutate], jsonReporter: { fileName: 'reports/mutation/$run.json' }, tempDirName: '.stryker-tmp-$run' };
CONFIG
  echo "== $run: mutate ${MUTATE[$name]} with ${TESTS[$name]}"
  MUTATION_TESTS="${TESTS[$name]}" npx stryker run "$config" >"reports/mutation/$run.txt" 2>&1 || echo "stryker failed for $name (see reports/mutation/$run.txt)"
  node bench/mutation/summary.mjs "$run" | tail -1
done
