/**
 * Entry of the detached replication worker: `lib/replication/worker-main.ts --env-file FILE
 * --direction forward|reverse [--wave NAME] [--from-position LSN] [--run-id ID]`, run as plain node on its cached
 * bundle (or `node --import tsx` when bundling fails: worker-bundle.ts).
 * Started by PostgresReplicator.start(); output goes to its log file, state to its status file.
 * SIGTERM/SIGINT stop it cleanly (the current batch commits first).
 */
import { parseArgs } from 'node:util';
import { warmSqlite } from '../mappings/sqlite.ts';
import { StreamOutput } from '../output/output.ts';
import { createStreamWorker } from './stream-worker.ts';
import { readWorkerStartFile } from './worker-start-file.ts';

const { values } = parseArgs({
  options: {
    'env-file': { type: 'string' },
    direction: { type: 'string' },
    wave: { type: 'string' },
    'from-position': { type: 'string' },
    // the launcher's id of this start, written into the status file (worker-launcher.ts)
    'run-id': { type: 'string' },
  },
});

const direction = values.direction;
if (!values['env-file'] || (direction !== 'forward' && direction !== 'reverse')) {
  process.stderr.write('usage: worker-main.ts --env-file FILE --direction forward|reverse [--wave NAME] [--from-position LSN]\n');
  process.exit(2);
}
const env = readWorkerStartFile(values['env-file']);
const out = new StreamOutput({ mode: 'plain', plainIntervalMs: 5000 });
const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => controller.abort());
const worker = createStreamWorker(env, direction, { wave: values.wave, fromPosition: values['from-position'], runId: values['run-id'] }, out);
out.info(`replicate ${worker.names.id}`, `worker ${process.pid} started`);
// the mapping's SQLite warms up while the worker connects (its first statement is slow)
warmSqlite();
worker.run(controller.signal).then(
  () => {
    out.info(`replicate ${worker.names.id}`, 'worker stopped');
    process.exit(0);
  },
  () => process.exit(1),
);
