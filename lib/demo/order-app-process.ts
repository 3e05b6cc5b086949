import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CutoverError } from '../errors.ts';
import { workerCommand } from '../replication/worker-bundle.ts';
import type { OrderApp, OrderAppOptions } from './order-app.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, 'order-app-main.ts');
const PACKAGE_ROOT = path.resolve(HERE, '..', '..');

/** An order app in a child process: the same API as `startOrderApp`, plus its pid and a SIGKILL. */
export interface OrderAppProcess extends OrderApp {
  readonly pid: number;
  /** SIGKILL: the app dies with whatever it was doing (no response, no pool shutdown). */
  kill(): void;
}

/** Starts `order-app-main.ts` in its own process and resolves once it listens. */
export async function spawnOrderApp(options: OrderAppOptions): Promise<OrderAppProcess> {
  // plain node on a cached bundle of the entry, as the replication workers (tsx costs seconds per start)
  const command = await workerCommand(MAIN);
  const child = spawn(process.execPath, [...command.nodeArgs, '--flavor', options.flavor, ...(options.port ? ['--port', String(options.port)] : [])], {
    cwd: PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ORDER_APP_DATABASE_URL: options.databaseUrl },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('did not listen within 60 s')), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as { url: string; port: number });
        } catch (err) {
          reject(err as Error);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}: ${stderr.trim()}`));
    });
  }).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new CutoverError('INTERNAL', `the ${options.flavor} app process did not start: ${err.message}`, { fix: 'run `npx tsx lib/demo/order-app-main.ts --flavor …` by hand to see why' });
  });
  child.stdout.resume();
  return {
    url: ready.url,
    port: ready.port,
    flavor: options.flavor,
    pid: child.pid!,
    setFault() {
      throw new CutoverError('NOT_SUPPORTED', 'setFault is not available on an app in its own process', { fix: 'use startOrderApp for an in-process app' });
    },
    kill() {
      child.kill('SIGKILL');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
