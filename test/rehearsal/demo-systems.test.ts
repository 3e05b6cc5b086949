import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { launchDemoProcess, startDemoSystems } from '../../lib/rehearsal/demo-systems.ts';

/** The demo business's processes of one rehearsal folder (its command line names the folder). */
function demoProcessesFor(dir: string): number {
  // the bracket keeps pgrep from matching the shell that runs it
  return Number(execSync(`pgrep -f -c -- '[d]emo-business-main[^ ]* --rehearsal-dir ${dir}' || true`).toString().trim() || '0');
}

/** A 127.0.0.1 port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('a demo business that cannot start rejects with its error, and its process is gone', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-demo-'));
  try {
    const port = await closedPort();
    const url = `postgres://postgres:x@127.0.0.1:${port}/cainiao`;
    const out = new RecordingOutput();
    const started = startDemoSystems({ cainiaoUrl: url, duoduoUrl: url.replace('cainiao', 'duoduo'), seed: 1, orders: 10, rate: 10, out, dir });
    await expect(started).rejects.toThrow(/ECONNREFUSED|connect/);
    // the parent waited for its exit: nothing of it is left
    expect(demoProcessesFor(dir)).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test('a process launched ahead (booting while the servers start) that died before its start: a clear INTERNAL error, not a wait for a ready that never comes', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-demo-'));
  try {
    const launched = launchDemoProcess(dir);
    const { child, exited } = await launched;
    child.kill('SIGKILL');
    await exited;
    const url = 'postgres://postgres:x@127.0.0.1:1/cainiao';
    const started = startDemoSystems({ cainiaoUrl: url, duoduoUrl: url.replace('cainiao', 'duoduo'), seed: 1, orders: 10, rate: 10, out: new RecordingOutput(), dir }, launched);
    await expect(started).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/exited \(SIGKILL\) before it was started/) });
    expect(demoProcessesFor(dir)).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
