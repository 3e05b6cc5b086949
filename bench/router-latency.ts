/**
 * Router benchmark: (1) the latency the router adds, p50/p99, against calling the app directly
 * (same client, same keep-alive, requests interleaved so machine noise hits both alike);
 * (2) the time from a read-weight change until 99 % of new requests follow it;
 * (3) the client-path cost of shadow reads: an open loop of GETs at `--rate` req/s (default 200)
 * through the router, in alternating 1 s blocks with mirroring off and on (`--shadow-percent`,
 * default 10, the config default), so machine noise hits both alike; p50/p99 with vs without.
 * Everything here shares one process; bench/shadow-cost.ts measures (3) with the router, blue and
 * green each in its own process, in rounds, with the router's CPU per request.
 *
 *   npx tsx bench/router-latency.ts [--requests 5000] [--rate 200] [--shadow-seconds 20] [--shadow-percent 10] [--json]
 */
import http from 'node:http';
import os from 'node:os';
import { RouterClient } from '../lib/platform/router-client.ts';
import { startWeightedRouter } from '../lib/router/weighted-router.ts';
import { quantile, round3, startBenchUpstream, timedRequest } from './router-upstream.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : NaN) || fallback;
const requests = arg('--requests', 5000);
const rate = arg('--rate', 200);
const shadowSeconds = arg('--shadow-seconds', 20);
const shadowPercent = arg('--shadow-percent', 10);

const blue = await startBenchUpstream('blue');
const green = await startBenchUpstream('green');
const router = await startWeightedRouter({ blueUrl: blue.url, greenUrl: green.url });
const admin = new RouterClient(router.adminUrl);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

try {
  // ---- added latency: weight 0, so every read is blue through the router vs blue directly
  for (let i = 0; i < 500; i++) {
    await timedRequest(agent, blue.url + '/warm');
    await timedRequest(agent, router.url + '/warm');
  }
  const direct: number[] = [];
  const viaRouter: number[] = [];
  for (let i = 0; i < requests; i++) {
    direct.push((await timedRequest(agent, blue.url + '/orders/1')).ms);
    viaRouter.push((await timedRequest(agent, router.url + '/orders/1')).ms);
  }
  const p = (xs: number[], q: number) => round3(quantile(xs, q));
  const added = { p50: round3(p(viaRouter, 0.5) - p(direct, 0.5)), p99: round3(p(viaRouter, 0.99) - p(direct, 0.99)) };

  // ---- weight change: closed loop of 8 concurrent clients; weight 0 -> 100 at t0
  const samples: { startedAt: number; side: string | null }[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const r = await timedRequest(agent, router.url + '/orders/1');
      samples.push({ startedAt: r.startedAt, side: r.side });
    }
  };
  const changes: number[] = [];
  const adminCalls: number[] = [];
  const workers = Array.from({ length: 8 }, worker);
  for (let round = 0; round < 10; round++) {
    await new Promise((r) => setTimeout(r, 100));
    const target = round % 2 === 0 ? 100 : 0;
    const want = target === 100 ? 'green' : 'blue';
    const t0 = performance.now();
    await admin.setReadWeight(target);
    adminCalls.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 200));
    // earliest time after which >= 99 % of requests started go to the new side
    const after = samples.filter((s) => s.startedAt >= t0).sort((a, b) => a.startedAt - b.startedAt);
    let follow = NaN;
    for (let i = 0; i < after.length; i++) {
      const rest = after.slice(i);
      if (rest.filter((s) => s.side === want).length >= 0.99 * rest.length) {
        follow = after[i]!.startedAt - t0;
        break;
      }
    }
    if (Number.isFinite(follow)) changes.push(follow);
  }
  running = false;
  await Promise.all(workers);
  await admin.setReadWeight(0);

  // ---- shadow reads: open loop at `rate`, blocks of 1 s alternating mirroring off / on
  const withoutShadow: number[] = [];
  const withShadow: number[] = [];
  const inflight: Promise<void>[] = [];
  const gap = 1000 / rate;
  for (let block = 0; block < shadowSeconds; block++) {
    const on = block % 2 === 1;
    await admin.configureShadow(on ? { percent: shadowPercent, noisePercent: 10, timeoutMs: 2000, maxConcurrent: 32 } : null);
    const into = on ? withShadow : withoutShadow;
    const start = performance.now();
    for (let i = 0; i < rate; i++) {
      const due = start + i * gap;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(timedRequest(agent, router.url + `/orders/${i}`).then((r) => void into.push(r.ms)));
    }
  }
  await Promise.all(inflight);
  const shadowFigures = await admin.configureShadow(null);

  const result = {
    requests,
    directMs: { p50: p(direct, 0.5), p99: p(direct, 0.99) },
    routerMs: { p50: p(viaRouter, 0.5), p99: p(viaRouter, 0.99) },
    addedMs: added,
    weightChangeToFollowMs: { p50: p(changes, 0.5), max: round3(Math.max(...changes)), changes: changes.length },
    adminCallMs: { p50: p(adminCalls, 0.5), max: round3(Math.max(...adminCalls)) },
    shadow: {
      rate,
      percent: shadowPercent,
      withoutMs: { p50: p(withoutShadow, 0.5), p99: p(withoutShadow, 0.99), n: withoutShadow.length },
      withMs: { p50: p(withShadow, 0.5), p99: p(withShadow, 0.99), n: withShadow.length },
      addedP99Ms: round3(p(withShadow, 0.99) - p(withoutShadow, 0.99)),
      ratioP50: round3(p(withShadow, 0.5) / p(withoutShadow, 0.5)),
      ratioP99: round3(p(withShadow, 0.99) / p(withoutShadow, 0.99)),
      mirrored: shadowFigures.completed,
      dropped: shadowFigures.dropped,
    },
    loadAverage: os.loadavg().map(round3),
    cpus: os.cpus().length,
    goals: { addedP50Ms: 0.2, addedP99Ms: 1, weightChangeMs: 100, shadowAddedP99Ms: 1 },
  };
  if (args.includes('--json')) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    process.stdout.write(
      [
        `router added latency: p50 ${added.p50} ms, p99 ${added.p99} ms  (direct p50 ${result.directMs.p50} / p99 ${result.directMs.p99}; via router p50 ${result.routerMs.p50} / p99 ${result.routerMs.p99}; ${requests} requests each)`,
        `weight change -> 99 % of new requests follow: p50 ${result.weightChangeToFollowMs.p50} ms, max ${result.weightChangeToFollowMs.max} ms (${changes.length} changes, measured from sending the admin call; the call itself p50 ${result.adminCallMs.p50} ms)`,
        `shadow reads at ${rate} req/s, ${shadowPercent} % mirrored: client p50 ${result.shadow.withMs.p50} ms vs ${result.shadow.withoutMs.p50} ms without (ratio ${result.shadow.ratioP50}), p99 ${result.shadow.withMs.p99} vs ${result.shadow.withoutMs.p99} ms (ratio ${result.shadow.ratioP99}, added ${result.shadow.addedP99Ms} ms); ${result.shadow.mirrored} mirrored, dropped ${JSON.stringify(result.shadow.dropped)}`,
        `machine: ${result.cpus} cpu(s), load average ${result.loadAverage.join(' ')}`,
        `goals: added p50 <= 0.2 ms, p99 <= 1 ms; follow <= 100 ms; shadow reads add <= 1 ms to the client p99`,
      ].join('\n') + '\n',
    );
  }
} finally {
  agent.destroy();
  await router.stop();
  await blue.stop();
  await green.stop();
}
