import { setTimeout as sleep } from 'node:timers/promises';
import type { Output } from '../output/output.ts';
import { readStatusFile, recordedProcessAlive } from './status-file.ts';
import type { StreamNames } from './stream-names.ts';
import type { ForegroundWorker } from './worker-launcher.ts';

/** How often a worker sent SIGTERM is checked for having exited. */
const EXIT_POLL_MS = 10;
/** How often one sent SIGKILL is checked. */
const KILL_POLL_MS = 20;

/**
 * Stops a replicator's workers: the ones running in this process (aborted, then awaited), then
 * each stream's detached worker that its status file records as alive: SIGTERM, and SIGKILL if it
 * has not exited after `timeoutMs`. Returns once every one of them is gone. Shared by the WAL
 * (postgres-replicator.ts) and binlog (binlog-replicator.ts) replicators, as `launchWorker` is.
 */
export async function stopWorkers<W>(o: { readonly foreground: Map<string, ForegroundWorker<W>>; readonly streams: readonly StreamNames[]; readonly timeoutMs: number; readonly out: Output }): Promise<void> {
  for (const [id, run] of o.foreground) {
    run.controller.abort();
    await run.done;
    o.foreground.delete(id);
  }
  for (const names of o.streams) {
    const worker = readStatusFile(names.statusFile)?.worker;
    const pid = worker?.pid;
    if (!pid || pid === process.pid || !recordedProcessAlive(worker)) continue;
    process.kill(pid, 'SIGTERM');
    const until = Date.now() + o.timeoutMs;
    // the write switch stops forward replication just after releasing the held writes, and
    // finalize both directions: a worker commits its batch and exits within moments
    // alive and still the same process: once it exits, its pid may go to another process
    while (recordedProcessAlive(worker) && Date.now() < until) await sleep(EXIT_POLL_MS);
    if (recordedProcessAlive(worker)) {
      o.out.warn(`replicate ${names.id}`, `worker ${pid} ignored SIGTERM for ${o.timeoutMs} ms: killing it`);
      process.kill(pid, 'SIGKILL');
      while (recordedProcessAlive(worker)) await sleep(KILL_POLL_MS);
    }
    o.out.ok(`replicate ${names.id}`, `worker ${pid} stopped`);
  }
}
