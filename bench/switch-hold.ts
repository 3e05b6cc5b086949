/**
 * Write-switch benchmark through the real router under an open-loop load (default 200 req/s,
 * 30 % writes): failed client requests during switch and rollback, write hold p50/p99, and
 * rollback time from the command to 100 % on blue. The data plane (fence, replication,
 * validation) is the in-memory fake with a fixed catch-up delay, so these figures are the
 * router's and the phases' own cost; the rehearsal measures the same with real PostgreSQL.
 *
 *   npx tsx bench/switch-hold.ts [--rate 200] [--rounds 5] [--catch-up-ms 50] [--json]
 */
import http from 'node:http';
import os from 'node:os';
import { RouterClient } from '../lib/platform/router-client.ts';
import { startWeightedRouter } from '../lib/router/weighted-router.ts';
import { runRollback } from '../lib/traffic/rollback.ts';
import { switchPhase } from '../lib/traffic/switch-phase.ts';
import { fakePlatform } from '../test/traffic/fakes/fake-platform.ts';
import { phaseContext } from '../test/traffic/fakes/phase-context.ts';
import { testEnvironment } from '../test/traffic/fakes/test-env.ts';
import { quantile, round3, startBenchUpstream, timedRequest } from './router-upstream.ts';

const args = process.argv.slice(2);
const opt = (name: string, d: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const rate = opt('--rate', 200);
const rounds = opt('--rounds', 5);
const catchUpMs = opt('--catch-up-ms', 50);

const blue = await startBenchUpstream('blue', 5);
const green = await startBenchUpstream('green', 5);
const router = await startWeightedRouter({ blueUrl: blue.url, greenUrl: green.url });
const client = new RouterClient(router.adminUrl);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const env = testEnvironment({ switch: { catchUpTimeoutMs: 5000, maxHoldMs: 15000, sequenceGap: 100 } });

let sent = 0;
let failed = 0;
const inflight = new Set<Promise<unknown>>();
const loadStart = performance.now();
const load = setInterval(() => {
  // open loop: every request due by now is sent, whether or not earlier ones finished
  const due = Math.floor(((performance.now() - loadStart) * rate) / 1000) - sent;
  for (let k = 0; k < due; k++) {
    const n = sent++;
    const write = n % 10 < 3;
    const p = timedRequest(agent, router.url + (write ? '/orders' : '/orders/1'), write ? 'POST' : 'GET', write ? JSON.stringify({ n }) : undefined)
      .then((r) => (r.status >= 300 ? failed++ : 0), () => failed++)
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
}, 5);

const holds: { p50: number; p99: number; max: number; released: number }[] = [];
const toBlue: number[] = [];
try {
  await new Promise((r) => setTimeout(r, 1000));
  for (let round = 0; round < rounds; round++) {
    await client.setReadWeight(100);
    const p = fakePlatform({ router: client });
    const wait = p.forward.waitForPosition.bind(p.forward);
    p.forward.waitForPosition = async (pos, t) => {
      await new Promise((r) => setTimeout(r, catchUpMs));
      return wait(pos, t);
    };
    const sw = await switchPhase.apply(phaseContext(env, p));
    if (!sw.ok) throw new Error(`switch failed: ${sw.summary}`);
    const f = sw.figures as { writePauseMs: { p50: number; p99: number; max: number }; released: number };
    holds.push({ ...f.writePauseMs, released: f.released });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    const back = await runRollback(phaseContext(env, p));
    if (!back.ok) throw new Error(`rollback failed: ${back.summary}`);
    toBlue.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  clearInterval(load);
  await Promise.all([...inflight]);
}

const result = {
  rate,
  achievedRate: round3(sent / ((performance.now() - loadStart) / 1000)),
  rounds,
  simulatedCatchUpMs: catchUpMs,
  requests: sent,
  failedRequests: failed,
  writeHoldMs: { p50: round3(quantile(holds.map((h) => h.p50), 0.5)), p99: round3(Math.max(...holds.map((h) => h.p99))), max: round3(Math.max(...holds.map((h) => h.max))) },
  heldWritesPerSwitch: round3(holds.reduce((a, h) => a + h.released, 0) / holds.length),
  rollbackToBlueMs: { p50: round3(quantile(toBlue, 0.5)), max: round3(Math.max(...toBlue)) },
  clientFailuresSeenByRouter: (await client.metrics()).clientFailures,
  loadAverage: os.loadavg().map(round3),
  cpus: os.cpus().length,
  goals: { failedRequests: 0, writeHoldP99Ms: 1000, rollbackToBlueMs: '2000 + reverse lag' },
};
agent.destroy();
await router.stop();
await blue.stop();
await green.stop();
if (args.includes('--json')) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else
  process.stdout.write(
    [
      `${rounds} switch+rollback rounds under ${rate} req/s (achieved ${result.achievedRate}; 30 % writes): ${result.requests} requests, ${result.failedRequests} failed`,
      `write hold: p50 ${result.writeHoldMs.p50} ms, p99 ${result.writeHoldMs.p99} ms, max ${result.writeHoldMs.max} ms (${result.heldWritesPerSwitch} writes held per switch; simulated catch-up ${catchUpMs} ms)`,
      `rollback command -> 100 % blue: p50 ${result.rollbackToBlueMs.p50} ms, max ${result.rollbackToBlueMs.max} ms (reverse drain instant in this bench)`,
      `machine: ${result.cpus} cpu(s), load average ${result.loadAverage.join(' ')}`,
    ].join('\n') + '\n',
  );
