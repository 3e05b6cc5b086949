import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { processStartMark, recordedProcessAlive, writeStatusFile, type WorkerStatusFile } from '../../lib/replication/status-file.ts';
import type { StreamNames } from '../../lib/replication/stream-names.ts';
import { launchWorker, type ForegroundWorker } from '../../lib/replication/worker-launcher.ts';

/**
 * The launcher judges a start by the status file its own worker writes. A foreground start runs
 * the worker in this process (same pid), so a start right after a failed one finds the failed
 * run's file, same pid, written moments ago: that must not be taken for the new run's.
 */
describe('worker launcher: a start reads only its own run\'s status', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-launcher-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { stateDir: dir } as unknown as ResolvedPostgresEnvironment;
  const names = { id: 'forward', direction: 'forward', statusFile: path.join(dir, 'forward.status.json'), logFile: path.join(dir, 'forward.log'), envFile: path.join(dir, 'forward.env.json') } as unknown as StreamNames;

  interface FakeWorker {
    run(signal: AbortSignal): Promise<void>;
  }
  const status = (runId: string | undefined, phase: WorkerStatusFile['phase'], extra: Partial<WorkerStatusFile> = {}): WorkerStatusFile =>
    ({
      stream: names.id,
      slot: 'cutover',
      direction: 'forward',
      phase,
      lagMs: null,
      lagBytes: null,
      appliedRowsPerSec: 0,
      tables: [],
      deadLetters: 0,
      startedAt: new Date().toISOString(),
      worker: { pid: process.pid, host: os.hostname(), heartbeatAt: new Date().toISOString(), alive: true },
      ...(runId ? { runId } : {}),
      ...extra,
    }) as WorkerStatusFile;

  const launch = (foreground: Map<string, ForegroundWorker<FakeWorker>>, createWorker: (runId: string) => FakeWorker) =>
    launchWorker<FakeWorker>({ env, names, out: new RecordingOutput(), foreground, inProcess: true, createWorker, main: 'unused', args: [], startTimeoutMs: 15_000 });

  test('a foreground start right after a failed one waits for its own worker, never reporting the failed run\'s status', async () => {
    const foreground = new Map<string, ForegroundWorker<FakeWorker>>();
    // the first run fails at once, as a worker does on a refused precondition: status `failed`, then it throws
    await expect(
      launch(foreground, (runId) => ({
        async run() {
          writeStatusFile(names.statusFile, status(runId, 'failed', { error: 'the first run failed' }));
          throw new Error('the first run failed');
        },
      })),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', message: expect.stringContaining('the first run failed') });

    // the cause is fixed and the next start follows immediately; its worker takes a moment to connect
    let release!: () => void;
    const connected = new Promise<void>((r) => (release = r));
    const second = launch(foreground, (runId) => ({
      async run(signal) {
        await connected;
        writeStatusFile(names.statusFile, status(runId, 'cdc', { liveSince: new Date().toISOString() }));
        await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
      },
    }));
    let settled: string | null = null;
    second.then(() => (settled = 'healthy'), (err: Error) => (settled = err.message));
    // while the new worker has written nothing, the start is still waiting: the old `failed` file is not its status
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBeNull();
    release();
    await second;
    expect(settled).toBe('healthy');
    foreground.get(names.id)!.controller.abort();
    await foreground.get(names.id)!.done;
  });

  test('a status file of another run with this very pid and a fresh startedAt is not taken as this start\'s health', async () => {
    const foreground = new Map<string, ForegroundWorker<FakeWorker>>();
    let release!: () => void;
    const connected = new Promise<void>((r) => (release = r));
    // written by a run that is not this one (e.g. the previous foreground run of this process), healthy-looking
    writeStatusFile(names.statusFile, status('another-run', 'cdc', { liveSince: new Date().toISOString() }));
    const started = launch(foreground, (runId) => ({
      async run(signal) {
        await connected;
        writeStatusFile(names.statusFile, status(runId, 'failed', { error: 'this run failed' }));
        throw new Error('this run failed');
      },
    }));
    let settled: string | null = null;
    started.then(() => (settled = 'healthy'), (err: Error) => (settled = err.message));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBeNull();
    release();
    await expect(started).rejects.toMatchObject({ message: expect.stringContaining('this run failed') });
  });

  test('a live process that took a dead worker\'s pid is not "already running": the start goes ahead', async () => {
    // an unrelated process with the pid a worker's status file names (after a reboot, say)
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = stranger.pid!;
      await new Promise((r) => setTimeout(r, 50));
      const mark = processStartMark(pid);
      expect(recordedProcessAlive({ pid, start: mark })).toBe(true);
      expect(recordedProcessAlive({ pid })).toBe(true); // a file without a mark: the pid alone, as before
      expect(recordedProcessAlive({ pid, start: `${mark}0` })).toBe(false);
      writeStatusFile(names.statusFile, status('a-run-before-the-reboot', 'cdc', { worker: { pid, host: os.hostname(), heartbeatAt: new Date().toISOString(), alive: true, start: `${mark}0` } }));
      const foreground = new Map<string, ForegroundWorker<FakeWorker>>();
      let created = 0;
      await launch(foreground, (runId) => {
        created++;
        return {
          async run(signal) {
            writeStatusFile(names.statusFile, status(runId, 'cdc', { liveSince: new Date().toISOString() }));
            await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
          },
        };
      });
      expect(created).toBe(1);
      foreground.get(names.id)!.controller.abort();
      await foreground.get(names.id)!.done;
      expect(stranger.exitCode).toBeNull(); // left alone
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
