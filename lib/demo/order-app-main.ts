/**
 * Entry of an order app in its own process (the rehearsal's `green-dies-after-switch` fault kills
 * it with SIGKILL): `node <its cached bundle> --flavor duoduo` (worker-bundle.ts), database URL in
 * the `ORDER_APP_DATABASE_URL` environment variable (never on the command line, where `ps` shows
 * it). Prints one JSON line `{ "url": …, "port": … }` on stdout once it listens; SIGTERM stops it.
 */
import { parseArgs } from 'node:util';
import { startOrderApp } from './order-app.ts';

const { values } = parseArgs({ options: { flavor: { type: 'string' }, port: { type: 'string' } } });
const flavor = values.flavor;
const databaseUrl = process.env.ORDER_APP_DATABASE_URL;
if ((flavor !== 'cainiao' && flavor !== 'duoduo') || !databaseUrl) {
  process.stderr.write('usage: ORDER_APP_DATABASE_URL=postgres://… order-app-main.ts --flavor cainiao|duoduo [--port N]\n');
  process.exit(2);
}
const app = await startOrderApp({ flavor, databaseUrl, port: values.port ? Number(values.port) : undefined });
process.stdout.write(JSON.stringify({ url: app.url, port: app.port }) + '\n');
const stop = () => void app.stop().finally(() => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, stop);
// the process that started it died without stopping it (kill -9): no orphan app holding a pool
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();
