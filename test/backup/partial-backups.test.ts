import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FolderBackupStore } from '../../lib/backup/backup-store.ts';
import { findPartialBackups, IN_PROGRESS_FILE, sweepPartialBackups } from '../../lib/backup/partial-backups.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { processStartMark } from '../../lib/platform/process-liveness.ts';

/** A process of this host: `exited` resolves once it is gone (and reaped). */
function child(): { proc: ChildProcess; exited: Promise<void> } {
  const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return { proc, exited: new Promise((resolve) => proc.on('exit', () => resolve())) };
}

describe('partial backups (a snapshot folder with no manifest)', () => {
  let dir: string;
  let store: FolderBackupStore;
  let running: ReturnType<typeof child>;
  let deadPid: number;

  const marker = (id: string, owner: { pid: number; host?: string; processStart?: string | null; created?: { slot?: string; publication?: string } }) =>
    store.put(`${id}/${IN_PROGRESS_FILE}`, JSON.stringify({ id, pid: owner.pid, host: owner.host ?? os.hostname(), processStart: owner.processStart ?? null, startedAt: '2026-12-07T06:00:00.000Z', toolVersion: '0.0.0', created: owner.created }));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-partials-'));
    store = new FolderBackupStore(dir);
    running = child();
    const gone = child();
    deadPid = gone.proc.pid!;
    gone.proc.kill('SIGKILL');
    await gone.exited;
  });
  afterAll(async () => {
    running?.proc.kill('SIGKILL');
    await running?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test('only an owner provably gone (same host, not running, or its pid now another process\'s) has its folder removed; the others are named and kept', async () => {
    await marker('snap-dead', { pid: deadPid, created: { slot: 'cutover_prod', publication: 'cutover_prod' } });
    await store.put('snap-dead/tables/public.t.copy.gz', 'half');
    await marker('snap-reused', { pid: running.proc.pid!, processStart: '1' }); // the pid, but not the process that wrote it
    await marker('snap-running', { pid: running.proc.pid!, processStart: processStartMark(running.proc.pid!) });
    await store.put('snap-running/tables/public.t.copy.gz', 'being written');
    await marker('snap-elsewhere', { pid: deadPid, host: 'another-host.example' });
    await store.put('snap-unowned/tables/public.t.copy.gz', 'an older kit\'s partial');
    await marker('snap-done', { pid: deadPid }); // killed between its manifest and deleting the marker: complete
    await store.put('snap-done/manifest.json', '{}');
    await store.put('notes/readme.txt', 'not a snapshot folder');

    const found = await findPartialBackups(store);
    expect(found.map((p) => [p.id, p.ownerGone])).toEqual([
      ['snap-dead', true],
      ['snap-elsewhere', false],
      ['snap-reused', true],
      ['snap-running', false],
      ['snap-unowned', false],
    ]);
    expect(found.find((p) => p.id === 'snap-dead')).toMatchObject({ objects: 2, owner: { pid: deadPid, host: os.hostname(), startedAt: '2026-12-07T06:00:00.000Z' } });

    const out = new RecordingOutput();
    await sweepPartialBackups(store, out);
    const lines = out.lines.map((l) => `${l.level} ${l.message}`);
    expect(lines).toContain(`info removed partial backup snap-dead (no manifest): its snapshot (pid ${deadPid} on ${os.hostname()}, started 2026-12-07T06:00:00.000Z) is no longer running`);
    // what the killed run made on the source is named, never dropped: a replication may use it by now
    expect(lines).toContain(
      `warn the killed snapshot snap-dead had created replication slot cutover_prod and publication cutover_prod on the source, which stay (a replication may use them): if none does, drop them (select pg_drop_replication_slot('cutover_prod'); drop publication "cutover_prod")`,
    );
    expect(lines.find((l) => l.includes('snap-running'))).toMatch(/^warn partial backup snap-running in .* has no manifest: not usable; its snapshot \(pid \d+ .*\) is still running — once it is not, the next snapshot removes it: left alone$/);
    expect(lines.find((l) => l.includes('snap-elsewhere'))).toMatch(/on another host \(another-host\.example\): it cannot be checked from here/);
    expect(lines.find((l) => l.includes('snap-unowned'))).toMatch(/no manifest and no owner marker .* delete snap-unowned\/ by hand: left alone$/);
    expect((await store.list()).map((k) => k.split('/')[0])).toEqual(
      ['notes', 'snap-done', 'snap-done', 'snap-elsewhere', 'snap-running', 'snap-running', 'snap-unowned'],
    );

    // once the writer is gone, the next sweep removes its folder too
    running.proc.kill('SIGKILL');
    await running.exited;
    await sweepPartialBackups(store, new RecordingOutput());
    expect((await findPartialBackups(store)).map((p) => p.id)).toEqual(['snap-elsewhere', 'snap-unowned']);
  });
});
