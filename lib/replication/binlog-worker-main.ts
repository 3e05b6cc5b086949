/**
 * Entry of the detached binlog replication worker (a MySQL-family source, forward):
 * `node --import tsx lib/replication/binlog-worker-main.ts --env-file FILE [--wave NAME]`.
 * Started by BinlogReplicator.start(); output goes to its log file, state to its status file.
 * SIGTERM/SIGINT stop it cleanly (the batches in flight commit first).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { StreamOutput } from '../output/output.ts';
import { BinlogReplicationWorker } from './binlog-worker.ts';

const { values } = parseArgs({ options: { 'env-file': { type: 'string' }, wave: { type: 'string' } } });
if (!values['env-file']) {
  process.stderr.write('usage: binlog-worker-main.ts --env-file FILE [--wave NAME]\n');
  process.exit(2);
}
const env = JSON.parse(readFileSync(values['env-file'], 'utf8')) as ResolvedPostgresEnvironment;
const out = new StreamOutput({ mode: 'plain', plainIntervalMs: 5000 });
const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => controller.abort());
const worker = new BinlogReplicationWorker(env, { wave: values.wave }, out);
out.info(`replicate ${worker.names.id}`, `binlog worker ${process.pid} started`);
worker.run(controller.signal).then(
  () => {
    out.info(`replicate ${worker.names.id}`, 'worker stopped');
    process.exit(0);
  },
  () => process.exit(1),
);
