/**
 * The client-path cost of shadow reads (issue 16: at most 1 ms added to the client's p99 at
 * 200 req/s), with the router, blue and green each in its own process (in one process the apps'
 * work and the load generator's would be charged to the router) and this process only sending.
 *
 * An open loop of GETs at `--rate` req/s through the router, in many short rounds; each round has
 * one block with mirroring off and one with it on (`--percent`, default 10, the config default; 10 %
 * of the mirrored reads also go to blue twice, as the default noise check; the samples are drained
 * every 500 ms as the shadow phase does), in alternating order (off,on then on,off) so a drift in
 * the machine's load hits both alike. Many short rounds rather than a few long ones: a burst of
 * another process spoils one round, and the round is what the statistics resample.
 *
 * Printed: per round and pooled client p50/p99 off vs on; the added p99 and p50 with a 95 %
 * interval (a bootstrap over rounds, bench/paired-bootstrap.ts); the router process's CPU time per
 * client request off vs on, with its interval — CPU time is far less disturbed by other processes
 * than wall time, and what mirroring adds to the router's single event loop is what a client
 * request can wait behind; what was mirrored or dropped; the load average. On a shared machine
 * the interval says what the run can and cannot show: an interval wider than the 1 ms goal
 * proves nothing either way. Run it under `nice -n 10` next to other work.
 *
 *   npx tsx bench/shadow-cost.ts [--rate 200] [--rounds 24] [--block-seconds 1.5] [--percent 10] [--quiet] [--json]
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { RouterClient } from '../lib/platform/router-client.ts';
import { meanDifference, medianDifference, pooledQuantileDifferences, type Interval } from './paired-bootstrap.ts';
import { quantile, round3, startBenchUpstream, timedRequest } from './router-upstream.ts';

type ChildReady = { url: string; adminUrl?: string };
type CpuReply = { cpuMs: number; eventLoopP99Ms: number };

// ---- child processes: `--child upstream NAME` or `--child router BLUE_URL GREEN_URL`
if (process.argv[2] === '--child') {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let stop: () => Promise<void>;
  if (process.argv[3] === 'upstream') {
    const up = await startBenchUpstream(process.argv[4]!);
    stop = up.stop;
    process.send!({ url: up.url } satisfies ChildReady);
  } else {
    const { startWeightedRouter } = await import('../lib/router/weighted-router.ts');
    const router = await startWeightedRouter({ blueUrl: process.argv[4]!, greenUrl: process.argv[5]! });
    stop = router.stop;
    process.send!({ url: router.url, adminUrl: router.adminUrl } satisfies ChildReady);
  }
  process.on('message', (m: string) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuMs: (u.user + u.system) / 1000, eventLoopP99Ms: delay.percentile(99) / 1e6 } satisfies CpuReply);
      delay.reset();
    } else if (m === 'stop') void stop().then(() => process.exit(0));
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : NaN) || fallback;
  const rate = arg('--rate', 200);
  const rounds = arg('--rounds', 24);
  const blockSeconds = arg('--block-seconds', 1.5);
  const percent = arg('--percent', 10);

  const children: ChildProcess[] = [];
  const start = (argv: string[]) =>
    new Promise<{ child: ChildProcess; ready: ChildReady }>((resolve, reject) => {
      const child = fork(import.meta.filename, ['--child', ...argv], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      child.once('message', (ready: ChildReady) => resolve({ child, ready }));
      child.once('exit', (code) => reject(new Error(`child ${argv.join(' ')} exited ${code}`)));
    });
  const ask = (child: ChildProcess) => new Promise<CpuReply>((resolve) => (child.once('message', resolve), child.send('cpu')));

  try {
    const [blue, green] = await Promise.all([start(['upstream', 'blue']), start(['upstream', 'green'])]);
    const router = await start(['router', blue.ready.url, green.ready.url]);
    const admin = new RouterClient(router.ready.adminUrl!);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const url = router.ready.url;
    const settings = { percent, noisePercent: 10, timeoutMs: 2000, maxConcurrent: 32 };

    // warm both paths (JIT, keep-alive connections to both apps) before measuring
    await admin.configureShadow(settings);
    for (let i = 0; i < 300; i++) await timedRequest(agent, `${url}/orders/${i}`);
    await admin.configureShadow(null);
    for (let i = 0; i < 300; i++) await timedRequest(agent, `${url}/orders/${i}`);

    /** One block: open loop at `rate` for blockSeconds; client latencies, router CPU per request. */
    const block = async (on: boolean) => {
      await admin.configureShadow(on ? settings : null);
      const before = await admin.shadowFigures();
      const cpu0 = await ask(router.child); // also restarts the event-loop delay histogram
      const ms: number[] = [];
      const inflight: Promise<void>[] = [];
      // the shadow phase drains the samples every 500 ms (lib/traffic/shadow-phase.ts): so does this
      let readUpTo = before.lastSeq;
      let draining = on;
      const drainer = (async () => {
        while (draining) {
          await new Promise((r) => setTimeout(r, 500));
          const { samples } = await admin.shadowSamples(readUpTo, 1000);
          if (samples.length) readUpTo = samples[samples.length - 1]!.seq;
        }
      })();
      const gap = 1000 / rate;
      const n = Math.round(rate * blockSeconds);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const wait = t0 + i * gap - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        inflight.push(timedRequest(agent, `${url}/orders/${i % 500}`).then((r) => void ms.push(r.ms)));
      }
      await Promise.all(inflight);
      const sentFor = performance.now() - t0;
      draining = false;
      await drainer;
      const cpu = await ask(router.child);
      const after = await admin.shadowFigures();
      const dropped = Object.values(after.dropped).reduce((a, b) => a + b, 0) - Object.values(before.dropped).reduce((a, b) => a + b, 0);
      return { ms, cpuUs: ((cpu.cpuMs - cpu0.cpuMs) * 1000) / n, eventLoopP99Ms: cpu.eventLoopP99Ms, mirrored: after.completed - before.completed, dropped, achievedRate: Math.round((n / sentFor) * 1000) };
    };
    const perRound: {
      round: number;
      order: string;
      off: { p50: number; p99: number; cpuUsPerRequest: number; eventLoopP99Ms: number; rate: number };
      on: { p50: number; p99: number; cpuUsPerRequest: number; eventLoopP99Ms: number; rate: number; mirrored: number; dropped: number };
      addedP99Ms: number;
      load1: number;
    }[] = [];
    const allOff: number[] = [];
    const allOn: number[] = [];
    const roundMs: { off: number[]; on: number[] }[] = [];
    for (let r = 0; r < rounds; r++) {
      const onFirst = r % 2 === 1;
      const results = {} as Record<'off' | 'on', Awaited<ReturnType<typeof block>>>;
      for (const on of onFirst ? [true, false] : [false, true]) {
        const b = await block(on);
        results[on ? 'on' : 'off'] = b;
        (on ? allOn : allOff).push(...b.ms);
      }
      roundMs.push({ off: results.off.ms, on: results.on.ms });
      const fig = (x: (typeof results)['on']) => ({ p50: round3(quantile(x.ms, 0.5)), p99: round3(quantile(x.ms, 0.99)), cpuUsPerRequest: Math.round(x.cpuUs), eventLoopP99Ms: round3(x.eventLoopP99Ms), rate: x.achievedRate });
      const row = {
        round: r + 1,
        order: onFirst ? 'on,off' : 'off,on',
        off: fig(results.off),
        on: { ...fig(results.on), mirrored: results.on.mirrored, dropped: results.on.dropped },
        addedP99Ms: 0,
        load1: round3(os.loadavg()[0]!),
      };
      row.addedP99Ms = round3(row.on.p99 - row.off.p99);
      perRound.push(row);
      if (!args.includes('--json') && !args.includes('--quiet')) {
        process.stdout.write(
          `round ${row.round} (${row.order}): p99 off ${row.off.p99} ms / on ${row.on.p99} ms (added ${row.addedP99Ms} ms), p50 ${row.off.p50} / ${row.on.p50} ms, ` +
            `router CPU ${row.off.cpuUsPerRequest} / ${row.on.cpuUsPerRequest} µs per request, router event-loop delay p99 ${row.off.eventLoopP99Ms} / ${row.on.eventLoopP99Ms} ms, ` +
            `${row.on.mirrored} mirrored, ${row.on.dropped} dropped, sent ${row.off.rate}/${row.on.rate} req/s, load ${row.load1}\n`,
        );
      }
    }
    await admin.configureShadow(null);
    agent.destroy();

    const added = perRound.map((r) => r.addedP99Ms).sort((a, b) => a - b);
    const [p99Interval, p50Interval] = pooledQuantileDifferences(roundMs, [0.99, 0.5]) as [Interval, Interval];
    const median = (xs: number[]) => (xs.length % 2 ? xs[(xs.length - 1) / 2]! : (xs[xs.length / 2 - 1]! + xs[xs.length / 2]!) / 2);
    const pooled = { off: { p50: round3(quantile(allOff, 0.5)), p99: round3(quantile(allOff, 0.99)), n: allOff.length }, on: { p50: round3(quantile(allOn, 0.5)), p99: round3(quantile(allOn, 0.99)), n: allOn.length } };
    const result = {
      rate,
      percent,
      rounds,
      blockSeconds,
      pooled: { ...pooled, addedP99Ms: round3(pooled.on.p99 - pooled.off.p99), ratioP99: round3(pooled.on.p99 / pooled.off.p99), ratioP50: round3(pooled.on.p50 / pooled.off.p50) },
      perRoundAddedP99Ms: { median: round3(median(added)), min: added[0], max: added[added.length - 1] },
      // robust to a few rounds hit by another process's burst: the median round's p99 each way
      medianRoundP99Ms: { off: round3(median(perRound.map((r) => r.off.p99).sort((a, b) => a - b))), on: round3(median(perRound.map((r) => r.on.p99).sort((a, b) => a - b))) },
      routerCpuUsPerRequest: { off: median(perRound.map((r) => r.off.cpuUsPerRequest).sort((a, b) => a - b)), on: median(perRound.map((r) => r.on.cpuUsPerRequest).sort((a, b) => a - b)) },
      // 95 % intervals, resampling rounds (bench/paired-bootstrap.ts)
      interval: {
        addedP99Ms: rounded(p99Interval),
        medianRoundAddedP99Ms: rounded(medianDifference(perRound.map((r) => r.addedP99Ms))),
        addedP50Ms: rounded(p50Interval),
        addedRouterCpuUsPerRequest: rounded(meanDifference(perRound.map((r) => r.on.cpuUsPerRequest - r.off.cpuUsPerRequest))),
      },
      // what one mirrored read costs the router's event loop: the CPU added per client request over the share mirrored
      routerCpuUsPerMirroredRead: Math.round(
        median(perRound.map((r) => (r.on.cpuUsPerRequest - r.off.cpuUsPerRequest) / Math.max(1e-9, r.on.mirrored / Math.round(rate * blockSeconds)))),
      ),
      perRound,
      loadAverage: os.loadavg().map(round3),
      cpus: os.cpus().length,
      goal: { addedP99Ms: 1 },
    };
    if (args.includes('--json')) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      process.stdout.write(
        [
          `pooled over ${rounds} rounds (${pooled.off.n} requests each way): p99 off ${pooled.off.p99} ms / on ${pooled.on.p99} ms (added ${result.pooled.addedP99Ms} ms, ratio ${result.pooled.ratioP99}); p50 ${pooled.off.p50} / ${pooled.on.p50} ms (ratio ${result.pooled.ratioP50})`,
          `per-round added p99: median ${result.perRoundAddedP99Ms.median} ms (min ${result.perRoundAddedP99Ms.min}, max ${result.perRoundAddedP99Ms.max}); median round's p99: off ${result.medianRoundP99Ms.off} ms / on ${result.medianRoundP99Ms.on} ms`,
          `router CPU per client request (median of rounds): ${result.routerCpuUsPerRequest.off} µs off / ${result.routerCpuUsPerRequest.on} µs on; per mirrored read ${result.routerCpuUsPerMirroredRead} µs (the longest a client request can wait behind one, in pieces)`,
          `95 % intervals over rounds: added p99 (pooled) ${show(result.interval.addedP99Ms, 'ms')}; median round's added p99 ${show(result.interval.medianRoundAddedP99Ms, 'ms')}; added p50 ${show(result.interval.addedP50Ms, 'ms')}; added router CPU per client request ${show(result.interval.addedRouterCpuUsPerRequest, 'µs')}`,
          `verdict (pooled p99): ${verdict(result.interval.addedP99Ms)}`,
          `verdict (median round's p99, less hit by bursts of other processes): ${verdict(result.interval.medianRoundAddedP99Ms)}`,
          `machine: ${result.cpus} cpu(s), load average ${result.loadAverage.join(' ')}; goal: mirroring ${percent} % at ${rate} req/s adds <= 1 ms to the client p99`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    for (const c of children) if (c.connected) c.send('stop');
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
  }
}

function rounded(i: Interval): Interval {
  return { estimate: round3(i.estimate), lo: round3(i.lo), hi: round3(i.hi) };
}

function show(i: Interval, unit: string): string {
  return `${i.estimate} ${unit} [${i.lo}, ${i.hi}]`;
}

/** What the p99 interval shows against the 1 ms goal, in words: never more than it shows. */
function verdict(i: Interval): string {
  if (i.hi <= 1) return `the added p99 is at most ${i.hi} ms with 95 % confidence: within the 1 ms goal`;
  if (i.lo > 1) return `the added p99 is above 1 ms with 95 % confidence (at least ${i.lo} ms): the goal is not met`;
  return `not shown either way: the interval [${i.lo}, ${i.hi}] ms spans the 1 ms goal (the machine's noise is larger than the effect; more rounds or a quieter machine)`;
}
