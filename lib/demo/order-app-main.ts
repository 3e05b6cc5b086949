/**
 * Entry of an order app in its own process (the rehearsal's `green-dies-after-switch` fault kills
 * it with SIGKILL): `node --import tsx lib/demo/order-app-main.ts --flavor duoduo`, database URL in
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
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    void app.stop().finally(() => process.exit(0));
  });
}
