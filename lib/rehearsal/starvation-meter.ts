import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * How much a process was kept from running while it measured: how long its main thread was ready
 * to run but waited for a CPU (Linux's schedstat run delay; null elsewhere), and how late its event
 * loop ran. The demo business (apps, router, load generator) is one event loop: a rehearsal's
 * "no failed request" assumes it gets the CPU it asks for. On a machine busy with other work it
 * may not, and then its apps time out on their own (a pool wait of 5 s, a statement timeout), the
 * kit's waits stretch and its client's 30 s runs out; these figures, beside the failures, say so.
 */
export interface StarvationFigures {
  /** Seconds measured. */
  readonly seconds: number;
  /** Seconds the main thread ran on a CPU, null where unknown. */
  readonly cpuSeconds: number | null;
  /** Seconds the main thread was ready to run but waited for a CPU, null where unknown. */
  readonly cpuWaitSeconds: number | null;
  /** How late the event loop was (ms, sampled every 20 ms): a timer or an answer waits this long. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

export class StarvationMeter {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private startedAt = 0;
  private startStat: readonly [number, number] | null = null;

  start(): void {
    this.delay.reset();
    this.delay.enable();
    this.startedAt = performance.now();
    this.startStat = mainThreadSchedstat();
  }

  stop(): StarvationFigures {
    this.delay.disable();
    const end = mainThreadSchedstat();
    const begin = this.startStat;
    const seconds = (ns: number) => Math.round(ns / 1e7) / 100;
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    return {
      seconds: Math.round((performance.now() - this.startedAt) / 10) / 100,
      cpuSeconds: begin && end ? seconds(end[0] - begin[0]) : null,
      cpuWaitSeconds: begin && end ? seconds(end[1] - begin[1]) : null,
      eventLoopDelayMs: this.delay.count ? { p50: ms(this.delay.percentile(50)), p99: ms(this.delay.percentile(99)), max: ms(this.delay.max) } : { p50: 0, p99: 0, max: 0 },
    };
  }
}

/** The main thread's [ns on a CPU, ns waiting for one] (/proc/self/schedstat: the thread group leader), or null off Linux. */
function mainThreadSchedstat(): readonly [number, number] | null {
  try {
    const [run, wait] = readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? [run!, wait!] : null;
  } catch {
    return null;
  }
}

/** One line for people: `waited 12.3 s for a CPU in 60.1 s of load (ran 8.2 s); event loop late p99 850 ms, max 4100 ms`. */
export function starvationLine(s: StarvationFigures): string {
  const cpu = s.cpuWaitSeconds === null ? `${s.seconds} s of load` : `waited ${s.cpuWaitSeconds} s for a CPU in ${s.seconds} s of load (ran ${s.cpuSeconds} s)`;
  return `${cpu}; event loop late p99 ${s.eventLoopDelayMs.p99} ms, max ${s.eventLoopDelayMs.max} ms`;
}
