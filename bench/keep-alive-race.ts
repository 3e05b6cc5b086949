/**
 * Writes that meet an app's keep-alive close. An app (its own process) closes connections idle
 * for `--close-ms` (default 1000) and announces nothing (no Keep-Alive hint, as gunicorn). `--lanes`
 * (20) clients each send `--requests` (10) POSTs one after another, spaced the app's limit ± 3 ms,
 * so each idle connection is reused about when the app closes it. Baseline: a plain keep-alive
 * agent (idle limit 4 s, the router's own) straight to the app; then the same through the
 * weighted router (one per lane: its own pool). Rounds alternate, so machine noise hits both.
 * Prints failed writes and writes the app applied; a failed one here was never applied (the app
 * closed before reading it), but nobody outside the app can know that, so none may be resent.
 *
 *   npx tsx bench/keep-alive-race.ts [--close-ms 1000] [--lanes 20] [--requests 10] [--rounds 2] [--json]
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { startWeightedRouter } from '../lib/router/weighted-router.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : NaN) || fallback;
const closeMs = arg('--close-ms', 1000);

if (args.includes('--app')) {
  let applied = 0;
  const server = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/applied') return res.end(String(applied));
      applied++;
      res.writeHead(201, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  server.timeout = closeMs; // Node's server closes a connection idle this long; no hint is sent
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
} else {
  const lanes = arg('--lanes', 20);
  const requests = arg('--requests', 10);
  const rounds = arg('--rounds', 2);
  const app = fork(fileURLToPath(import.meta.url), ['--app', '--close-ms', String(closeMs)], { execArgv: ['--import', 'tsx'] });
  try {
    const port = await new Promise<number>((resolve) => app.once('message', (m) => resolve(m as number)));
    const appUrl = `http://127.0.0.1:${port}`;
    const call = (url: string, method: string, agent: http.Agent | false) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const req = http.request(url, { method, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', (e) => resolve({ status: -1, body: e.message }));
        req.end(method === 'POST' ? '{"n":1}' : undefined);
      });
    const applied = async () => Number((await call(`${appUrl}/applied`, 'GET', false)).body);

    /** One lane: sequential POSTs on `send`, spaced around the app's idle limit. */
    const lane = async (send: () => Promise<{ status: number; body: string }>, reasons: Record<string, number>) => {
      let failed = 0;
      for (let i = 0; i < requests; i++) {
        const r = await send();
        if (r.status !== 201) {
          failed++;
          const reason = /"message":"([^"]*)"/.exec(r.body)?.[1] ?? r.body;
          reasons[reason] = (reasons[reason] ?? 0) + 1;
        }
        await new Promise((res) => setTimeout(res, closeMs - 3 + Math.random() * 6));
      }
      return failed;
    };
    const totals = { baseline: { sent: 0, failed: 0, applied: 0, reasons: {} as Record<string, number> }, router: { sent: 0, failed: 0, applied: 0, reasons: {} as Record<string, number> } };
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['baseline', 'router'] as const) {
        const t = totals[mode];
        const before = await applied();
        const failures = await Promise.all(
          Array.from({ length: lanes }, async () => {
            if (mode === 'baseline') {
              const agent = new http.Agent({ keepAlive: true, maxSockets: 1, timeout: 4000 });
              try {
                return await lane(() => call(`${appUrl}/orders`, 'POST', agent), t.reasons);
              } finally {
                agent.destroy();
              }
            }
            const router = await startWeightedRouter({ blueUrl: appUrl, greenUrl: appUrl });
            try {
              return await lane(() => call(`${router.url}/orders`, 'POST', false), t.reasons);
            } finally {
              await router.stop();
            }
          }),
        );
        t.sent += lanes * requests;
        t.failed += failures.reduce((a, b) => a + b, 0);
        t.applied += (await applied()) - before;
      }
    }
    const result = { closeMs, lanes, requests, rounds, ...totals, loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100) };
    if (args.includes('--json')) console.log(JSON.stringify(result));
    else {
      for (const mode of ['baseline', 'router'] as const) {
        const t = totals[mode];
        console.log(`${mode.padEnd(8)} ${t.failed} of ${t.sent} writes failed (${((100 * t.failed) / t.sent).toFixed(2)} %), ${t.applied} applied; ${JSON.stringify(t.reasons)}`);
      }
      console.log(`load average ${result.loadAverage.join(' ')}`);
    }
  } finally {
    app.kill();
  }
}
