import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CutoverError } from '../errors.ts';
import type { OrderAppFault } from '../demo/order-app.ts';
import type { Output } from '../output/output.ts';
import type { Side } from '../platform/roles.ts';
import { workerCommand } from '../replication/worker-bundle.ts';
import { startDemoBusiness, type DemoBusiness, type DemoBusinessOptions, type LoadResult } from './demo-business.ts';
import type { DemoCall, DemoChildMessage, DemoParentMessage, DemoSummary, WireError } from './demo-business-protocol.ts';
import type { StarvationFigures } from './starvation-meter.ts';

export type { LoadResult } from './demo-business.ts';

const MAIN = fileURLToPath(new URL('./demo-business-main.ts', import.meta.url));
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Seeding 5,000,000 orders takes minutes: the start waits for `ready` as long as the child lives. */
const STOP_TIMEOUT_MS = 30_000;

export interface DemoSystemsOptions extends DemoBusinessOptions {
  /** The rehearsal folder: names the business's process for `ps` (and the Ctrl-C test). */
  readonly dir: string;
  /**
   * Run the business in the kit's own process, as rehearsals did before (the bench
   * bench/demo-isolation.ts compares both). @default false: its own process
   */
  readonly inProcess?: boolean;
}

/** The demo business as the rehearsal drives it, wherever it runs. */
export interface DemoSystems {
  readonly summary: DemoSummary;
  readonly blue: { readonly url: string };
  /** `setFault` resolves once the green app applies it. */
  readonly green: { readonly url: string; setFault(fault: OrderAppFault | null): Promise<void> };
  /** The green app's own process when `greenProcess` was asked for (a fault kills it), else null. */
  readonly greenProcess: { readonly pid: number; kill(): void } | null;
  /** The weighted router: the kit talks to its admin URL, as it would to a real one. */
  readonly router: { readonly url: string; readonly adminUrl: string };
  /** The business's process id; this process's own id when it runs in process. */
  readonly pid: number;
  readonly load: { start(): Promise<void>; stop(): Promise<LoadResult & { readonly peakRssMiB?: number; readonly starvation?: StarvationFigures }> };
  /** Every acknowledged write looked up on one side's database, in its own schema. */
  checkLedger(side: Side): Promise<{ acknowledged: number; missing: number; mismatched: number; missingIds: string[]; mismatchedIds: string[] }>;
  stop(): Promise<void>;
}

/** The business's process, spawned and booting, not started yet (launchDemoProcess). */
export interface DemoProcess {
  readonly child: ChildProcess;
  /** Its stderr's last 2000 characters. */
  stderr(): string;
  readonly exited: Promise<void>;
  /** Ends it (SIGTERM, then SIGKILL after the stop timeout) unless it is gone already. */
  stop(): Promise<void>;
}

/**
 * Spawns the business's process — plain node on a cached bundle of its entry, as the replication
 * workers (tsx costs seconds per start) — which boots and then waits for its start message with
 * the servers' URLs (startDemoSystems). A rehearsal spawns it before it starts the servers, so
 * the boot (most of a second on a busy machine) overlaps theirs.
 */
export async function launchDemoProcess(dir: string): Promise<DemoProcess> {
  const command = await workerCommand(MAIN);
  const child = spawn(process.execPath, [...command.nodeArgs, '--rehearsal-dir', dir], {
    cwd: PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  child.stdout!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('error', () => {}); // a failed send is answered by its callback, a death by 'exit'
  return { child, stderr: () => stderr, exited, stop: () => stopChild(child, exited) };
}

/**
 * Seeds cainiao, creates duoduo's schema and starts the blue and green apps, the weighted router
 * and (on `load.start()`) the load generator — in a process of their own (demo-business-main.ts),
 * so the kit's CPU work in this process (validation hashing, COPY, apply) does not stall the
 * business it is moving; the rehearsal then measures the kit, not the machine. Resolves once the
 * business serves; any failure stops the process and its servers. `launched`: its process spawned
 * ahead (launchDemoProcess); without it the process is spawned now.
 */
export async function startDemoSystems(o: DemoSystemsOptions, launched?: Promise<DemoProcess>): Promise<DemoSystems> {
  if (o.inProcess) return inProcess(await startDemoBusiness(o));
  const { out, dir: _dir, inProcess: _inProcess, ...options } = o;
  const { child, stderr: stderrOf, exited } = await (launched ?? launchDemoProcess(o.dir));
  const died = (what: string) =>
    new CutoverError('INTERNAL', `the demo business process (${child.pid}) ${what}${stderrOf().trim() ? `: ${stderrOf().trim()}` : ''}`, {
      fix: 'see its output above; a rehearsal does not resume: run it again',
    });

  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let ready: ((m: Extract<DemoChildMessage, { type: 'ready' }>) => void) | null = null;
  let failed: ((e: Error) => void) | null = null;
  child.on('message', (raw) => {
    const m = raw as DemoChildMessage;
    if (m.type === 'out') out[m.method](m.topic, m.message);
    else if (m.type === 'progress') out.progress(m.update);
    else if (m.type === 'done') out.done(m.topic);
    else if (m.type === 'ready') ready?.(m);
    else if (m.type === 'start-failed') failed?.(fromWire(m.error));
    else if (m.type === 'reply') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(fromWire(m.error));
    }
  });
  child.once('exit', (code, signal) => {
    const e = died(`exited (${signal ?? `code ${code}`})`);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    failed?.(e);
  });
  const call = <T>(c: DemoCall): Promise<T> => {
    if (!child.connected) return Promise.reject(died('is gone'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // with a callback a failed send (EPIPE: the process went away between the connected check
      // and the write, e.g. during Ctrl-C) rejects this call instead of throwing an unhandled
      // 'error' event that ended the rehearsal with exit 1 instead of 130
      child.send({ type: 'call', id, call: c } satisfies DemoParentMessage, (err) => {
        if (!err) return;
        pending.delete(id);
        reject(died(`could not be reached (${err.message})`));
      });
    });
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await call({ op: 'stop' }).catch(() => child.kill('SIGKILL'));
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    // launched ahead, it may have died before the listener above was there to see it
    if (child.exitCode !== null || child.signalCode !== null) throw died(`exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was started`);
    const started = await new Promise<Extract<DemoChildMessage, { type: 'ready' }>>((resolve, reject) => {
      ready = resolve;
      failed = reject;
      child.send({ type: 'start', options: { ...options, outMode: out.mode } } satisfies DemoParentMessage, (err) => {
        if (err) reject(died(`could not be reached (${err.message})`));
      });
    });
    failed = null;
    const greenPid = started.greenPid;
    return {
      summary: started.summary,
      blue: { url: started.blueUrl },
      green: { url: started.greenUrl, setFault: (fault) => call({ op: 'setFault', fault }) },
      greenProcess: greenPid === null ? null : { pid: greenPid, kill: () => process.kill(greenPid, 'SIGKILL') },
      router: { url: started.routerUrl, adminUrl: started.routerAdminUrl },
      pid: child.pid!,
      load: { start: () => call({ op: 'loadStart' }), stop: () => call({ op: 'loadStop' }) },
      checkLedger: (side) => call({ op: 'checkLedger', side }),
      stop,
    };
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
}

/** After a failed start: ask, then SIGKILL if it does not go within the stop timeout. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function fromWire(e: WireError): CutoverError {
  return new CutoverError(e.code, e.message, { ...(e.fix ? { fix: e.fix } : {}), ...(e.problems ? { problems: e.problems } : {}) });
}

/** The business in this process, behind the same interface. */
function inProcess(b: DemoBusiness): DemoSystems {
  const { ids: _ids, ...summary } = b.summary;
  return {
    summary,
    blue: { url: b.blue.url },
    green: { url: b.green.url, setFault: async (fault) => b.green.setFault(fault) },
    greenProcess: b.greenProcess && { pid: b.greenProcess.pid, kill: () => b.greenProcess!.kill() },
    router: { url: b.router.url, adminUrl: b.router.adminUrl },
    pid: process.pid,
    load: { start: async () => b.load.start(), stop: () => b.load.stop() },
    checkLedger: (side) => b.checkLedger(side),
    stop: () => b.stop(),
  };
}
