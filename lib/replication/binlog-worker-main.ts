/**
 * Entry of the detached binlog replication worker (a MySQL-family source, forward):
 * `lib/replication/binlog-worker-main.ts --env-file FILE [--wave NAME] [--run-id ID]`, run as plain node on its
 * cached bundle (or `node --import tsx` when bundling fails: worker-bundle.ts).
 * Started by BinlogReplicator.start(); output goes to its log file, state to its status file.
 * SIGTERM/SIGINT stop it cleanly (the batches in flight commit first).
 */
import { parseArgs } from 'node:util';
import { warmSqlite } from '../mappings/sqlite.ts';
import { StreamOutput } from '../output/output.ts';
import { BinlogReplicationWorker } from './binlog-worker.ts';
import { readWorkerStartFile } from './worker-start-file.ts';

const { values } = parseArgs({ options: { 'env-file': { type: 'string' }, wave: { type: 'string' }, 'run-id': { type: 'string' } } });
if (!values['env-file']) {
  process.stderr.write('usage: binlog-worker-main.ts --env-file FILE [--wave NAME]\n');
  process.exit(2);
}
const env = readWorkerStartFile(values['env-file']);
const out = new StreamOutput({ mode: 'plain', plainIntervalMs: 5000 });
const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => controller.abort());
const worker = new BinlogReplicationWorker(env, { wave: values.wave, runId: values['run-id'] }, out);
out.info(`replicate ${worker.names.id}`, `binlog worker ${process.pid} started`);
// the mapping's SQLite warms up while the worker connects (its first statement is slow)
warmSqlite();
worker.run(controller.signal).then(
  () => {
    out.info(`replicate ${worker.names.id}`, 'worker stopped');
    process.exit(0);
  },
  () => process.exit(1),
);
