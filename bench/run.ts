/**
 * `npm run bench`: every benchmark, one after the other (they start their own servers and print
 * ratios against a baseline measured in the same run, with absolute times and the load average).
 * `npm run bench -- validate-scan router-latency` runs only those.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHES = ['seed', 'replication-full-load', 'replication-cdc', 'replication-large-txn', 'replication-wide-rows', 'validate-scan', 'router-latency', 'shadow-cost', 'switch-hold', 'sequence-sync', 'keep-alive-race', 'faults', 'demo-isolation'] as const;

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(BENCHES as readonly string[]).includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHES.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : BENCHES) {
  console.log(`\n=== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
