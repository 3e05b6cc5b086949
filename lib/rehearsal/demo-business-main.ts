/**
 * Entry of the demo business in its own process (blue app, router, load generator; green too,
 * or green's own process under it): `node <its cached bundle> --rehearsal-dir DIR` (worker-bundle.ts;
 * `node --import tsx` when bundling fails), started and driven by demo-systems.ts over the IPC channel. The folder on
 * the command line only names the process for `ps` (the Ctrl-C test finds it by it); the database
 * URLs come in the first IPC message, never on the command line.
 *
 * Why a process of its own: the kit's CPU work (validation hashing, COPY, apply) would stall an
 * event loop shared with the apps, the router and the load generator, and the rehearsal would
 * count the machine's failed requests as the kit's.
 *
 * It stops its servers and exits when asked (`stop`), on SIGTERM, or when the channel closes (the
 * rehearsal died). SIGINT is left to the rehearsal: Ctrl-C in a terminal reaches the whole process
 * group, and the rehearsal stops the business in its cleanup order.
 */
import { asCutoverError } from '../errors.ts';
import type { Output, ProgressUpdate } from '../output/output.ts';
import { startDemoBusiness, type DemoBusiness } from './demo-business.ts';
import type { DemoCall, DemoChildMessage, DemoParentMessage, DemoStartOptions, WireError } from './demo-business-protocol.ts';
import { StarvationMeter } from './starvation-meter.ts';

if (!process.send) {
  process.stderr.write('demo-business-main.ts is started by the rehearsal (demo-systems.ts) with an IPC channel\n');
  process.exit(2);
}

function send(m: DemoChildMessage): void {
  if (process.connected) process.send!(m);
}

function wireError(err: unknown): WireError {
  const e = asCutoverError(err);
  return { code: e.code, message: e.message, ...(e.details.fix ? { fix: e.details.fix } : {}), ...(e.details.problems ? { problems: [...e.details.problems] } : {}) };
}

/** An Output whose lines are printed by the rehearsal's; progress at most every 250 ms per topic (plain mode shows one line per 2 s anyway). */
function forwardingOutput(mode: Output['mode']): Output {
  const lastProgress = new Map<string, number>();
  const line = (method: 'info' | 'ok' | 'warn' | 'error' | 'step') => (topic: string, message: string) => send({ type: 'out', method, topic, message });
  return {
    mode,
    info: line('info'),
    ok: line('ok'),
    warn: line('warn'),
    error: line('error'),
    step: line('step'),
    progress(update: ProgressUpdate) {
      const now = Date.now();
      if (now - (lastProgress.get(update.topic) ?? 0) < 250) return;
      lastProgress.set(update.topic, now);
      send({ type: 'progress', update });
    },
    done(topic: string) {
      lastProgress.delete(topic);
      send({ type: 'done', topic });
    },
    result() {},
  };
}

let business: DemoBusiness | null = null;
const starvation = new StarvationMeter();
let stopping: Promise<void> | null = null;
let peakRss = process.memoryUsage().rss;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
rssTimer.unref();

function stopAndExit(code: number): Promise<void> {
  stopping ??= (async () => {
    await business?.stop().catch(() => {});
    clearInterval(rssTimer);
  })();
  return stopping.then(() => {
    if (process.connected) process.disconnect();
    process.exit(code);
  });
}

async function answer(call: DemoCall): Promise<unknown> {
  if (call.op === 'stop') {
    await (stopping ??= (business?.stop() ?? Promise.resolve()).catch(() => {}));
    return null;
  }
  if (!business) throw new Error(`${call.op}: the demo business has not started`);
  switch (call.op) {
    case 'loadStart':
      business.load.start();
      starvation.start();
      return null;
    case 'loadStop': {
      const r = await business.load.stop();
      return { ...r, peakRssMiB: peakRss / 1024 / 1024, starvation: starvation.stop() };
    }
    case 'checkLedger':
      return business.checkLedger(call.side);
    case 'setFault':
      business.green.setFault(call.fault);
      return null;
  }
}

process.on('SIGINT', () => {}); // the rehearsal decides (see above)
process.on('SIGTERM', () => void stopAndExit(0));
process.on('disconnect', () => void stopAndExit(0));
process.on('message', (raw) => {
  const m = raw as DemoParentMessage;
  if (m.type === 'start') void start(m.options);
  else if (m.type === 'call') {
    answer(m.call).then(
      (value) => {
        send({ type: 'reply', id: m.id, ok: true, value });
        if (m.call.op === 'stop') void stopAndExit(0);
      },
      (err: unknown) => send({ type: 'reply', id: m.id, ok: false, error: wireError(err) }),
    );
  }
});

async function start(options: DemoStartOptions): Promise<void> {
  try {
    const { outMode, ...rest } = options;
    business = await startDemoBusiness({ ...rest, out: forwardingOutput(outMode) });
    const { ids: _ids, ...summary } = business.summary;
    send({
      type: 'ready',
      summary,
      blueUrl: business.blue.url,
      greenUrl: business.green.url,
      greenPid: business.greenProcess?.pid ?? null,
      routerUrl: business.router.url,
      routerAdminUrl: business.router.adminUrl,
    });
  } catch (err) {
    send({ type: 'start-failed', error: wireError(err) });
    await stopAndExit(1);
  }
}
