import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProvablyDead } from '../engine/operator.ts';
import type { Phase, PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import { describeFigures, evaluateGates, type BlueLatencyMs, type GateVerdict } from './gates.ts';
import { duration, watchGates } from './gate-watch.ts';
import { shadowReadsOff } from './shadow-off.ts';
import { readsAfterSwitchRefusal } from './reads-after-switch.ts';
import { runSmoke } from './smoke.ts';
import { freshStreamingLag, greenAppUrl, routerTarget, streamingLagMs, validationAgeSeconds } from './traffic-inputs.ts';

/** `shift --pause` leaves this file; a running shift holds its step while it exists. */
export function shiftPauseFile(stateDir: string): string {
  return path.join(stateDir, 'shift.pause');
}

/** A running shift names itself here (pid, host, since) so `--pause`/`--resume` can tell it is there. */
export function shiftRunningFile(stateDir: string): string {
  return path.join(stateDir, 'shift.running');
}

export interface RunningShift {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/**
 * The shift running in this environment, or null: its marker must exist and its process must
 * not be provably gone (a marker left by a killed shift does not count).
 */
export function runningShift(stateDir: string): RunningShift | null {
  let marker: RunningShift;
  try {
    marker = JSON.parse(readFileSync(shiftRunningFile(stateDir), 'utf8')) as RunningShift;
  } catch {
    return null;
  }
  if (typeof marker?.pid !== 'number' || typeof marker.host !== 'string') return null;
  return isProvablyDead(marker) ? null : marker;
}

/**
 * `shift --pause` / `--resume`, for a shift running in another process (no lock, no journal: the
 * running shift holds the lock and journals its pause itself). Refused — nothing changed — when no
 * shift is running: a pause file left for later would silently hold the next shift.
 */
export function holdRunningShift(stateDir: string, action: 'pause' | 'resume', dryRun = false): PhaseOutcome {
  const running = runningShift(stateDir);
  const pauseFile = shiftPauseFile(stateDir);
  if (!running) {
    throw new CutoverError('USAGE', `no shift is running: there is nothing to ${action} (nothing was changed)`, {
      received: `no live shift in ${shiftRunningFile(stateDir)}`,
      allowed: `--${action} while \`cutover shift\` is baking a step, from another terminal`,
      fix:
        action === 'pause'
          ? 'to hold reads at one weight without a running shift: `cutover shift --to N`'
          : '`cutover shift` continues the shift from the current weight',
    });
  }
  const who = `the shift of pid ${running.pid} on ${running.host} (since ${running.since})`;
  const figures = { file: pauseFile, pid: running.pid, host: running.host };
  if (action === 'pause') {
    if (existsSync(pauseFile)) return { ok: true, summary: `${who} is already paused; \`cutover shift --resume\` continues it`, figures };
    if (dryRun) return { ok: true, summary: `would pause ${who} (write ${pauseFile}); nothing was changed`, figures };
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(pauseFile, new Date().toISOString() + '\n');
    return { ok: true, summary: `paused ${who}: it holds its current step (gates still watched) until \`cutover shift --resume\``, figures };
  }
  if (!existsSync(pauseFile)) return { ok: true, summary: `${who} is not paused: nothing to resume`, figures };
  if (dryRun) return { ok: true, summary: `would resume ${who} (remove ${pauseFile}); nothing was changed`, figures };
  rmSync(pauseFile, { force: true });
  return { ok: true, summary: `resumed ${who}: it moves on`, figures };
}

function targetWeights(ctx: PhaseContext, current: number): number[] {
  const to = ctx.options.to;
  if (to !== undefined) {
    if (typeof to !== 'number' || !Number.isFinite(to) || to < 0 || to > 100) {
      throw new CutoverError('USAGE', 'shift --to takes a percentage of reads for green', { received: to, allowed: '0..100', fix: 'e.g. `cutover shift --to 50`' });
    }
    return to === current ? [] : [to];
  }
  return ctx.env.shift.steps.filter((s) => s > current);
}

/**
 * Reads move to green in `env.shift.steps`, each held `bakeSeconds` while the gates are
 * evaluated every 500 ms; a failing gate puts reads back to 0 % at once. The first move off 0 %
 * is refused until the smoke flow passes against green directly.
 */
export const shiftPhase: Phase = {
  name: 'shift',
  // the shadow gate (green answers like blue) opens the first read shift
  requires: ['validate', 'shadow'],
  command: 'cutover shift',
  mutates: true,
  // once writes are on green, reads may not move back toward blue (rollback is the way back)
  refusal: (input) => readsAfterSwitchRefusal(input, 'shift'),

  async plan(ctx) {
    if (ctx.options.pause) return [{ action: 'shift.pause', target: shiftPauseFile(ctx.env.stateDir), detail: 'the running shift holds its current step (refused when no shift is running)' }];
    if (ctx.options.resume) return [{ action: 'shift.resume', target: shiftPauseFile(ctx.env.stateDir), detail: 'the running shift moves on (refused when no shift is running)' }];
    const current = (await ctx.platform.router.state()).readWeightGreen;
    const targets = targetWeights(ctx, current);
    const steps: PlanStep[] = [];
    if (current === 0 && targets.length && targets[0]! > 0) {
      steps.push({ action: 'smoke', target: greenAppUrl(ctx) ?? '(no green app URL)', detail: `${ctx.env.smoke.length} step(s): ${ctx.env.smoke.map((s) => s.name).join(' -> ') || 'none configured'}` });
    }
    steps.push({ action: 'gates.check', target: 'replication + validation', detail: `lag <= ${ctx.env.gates.maxLagMs} ms` });
    for (const w of targets) {
      steps.push({
        action: 'router.setReadWeight',
        target: routerTarget(ctx),
        detail: `reads ${w} % to green, bake ${ctx.env.shift.bakeSeconds} s: green errors <= ${ctx.env.gates.maxErrorRatio * 100} % (beyond chance at 95 % confidence), p99 <= ${ctx.env.gates.maxP99RatioToBlue}x blue's (p90 or median below 100 green requests), at least ${ctx.env.gates.minRequests} green requests, else reads back to 0 %`,
      });
    }
    if (!targets.length) steps.push({ action: 'none', target: routerTarget(ctx), detail: `reads already at ${current} % green` });
    return steps;
  },

  async apply(ctx) {
    if (ctx.options.pause) return holdRunningShift(ctx.env.stateDir, 'pause');
    if (ctx.options.resume) return holdRunningShift(ctx.env.stateDir, 'resume');
    return withRunningMarker(ctx, () => shiftReads(ctx, shiftPauseFile(ctx.env.stateDir)));
  },

  async verify(ctx) {
    const s = await ctx.platform.router.state();
    return s.readWeightGreen === 100
      ? { ok: true, summary: 'all reads on green', figures: { readWeightGreen: 100 } }
      : { ok: false, summary: `reads at ${s.readWeightGreen} % green, not 100 %: run \`cutover shift\``, figures: { readWeightGreen: s.readWeightGreen } };
  },

  async rollback(ctx) {
    await ctx.journal.step('router.setReadWeight', { to: 0, reason: 'shift rollback' }, () => ctx.platform.router.setReadWeight(0));
    // at 0 % green a router left mirroring (a killed shadow phase) would mirror again
    const off = await shadowReadsOff(ctx, 'shift');
    return { ok: true, summary: `reads back on blue (0 % green)${off ? `; ${off}` : ''}`, figures: { readWeightGreen: 0 } };
  },
};

/**
 * Names this process as the running shift for the duration of `fn`. A pause file already there
 * was left when no shift was running (a stray `--pause`, or a shift killed while paused): it is
 * removed, with a warning, rather than silently holding this shift at its first step.
 */
async function withRunningMarker(ctx: PhaseContext, fn: () => Promise<PhaseOutcome>): Promise<PhaseOutcome> {
  const { stateDir } = ctx.env;
  const pauseFile = shiftPauseFile(stateDir);
  const marker = shiftRunningFile(stateDir);
  if (existsSync(pauseFile)) {
    let since = '?';
    try {
      since = readFileSync(pauseFile, 'utf8').trim() || since;
    } catch {
      // unreadable: removed all the same
    }
    rmSync(pauseFile, { force: true });
    ctx.journal.note('shift.stale-pause-removed', { file: pauseFile, since });
    ctx.out.warn('shift', `removed a pause file from ${since}, left before this shift started (${pauseFile}); this shift is not paused — \`cutover shift --pause\` from another terminal holds it while it runs`);
  }
  const me: RunningShift = { pid: process.pid, host: os.hostname(), since: ctx.clock.now().toISOString() };
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(marker, JSON.stringify(me) + '\n');
  try {
    return await fn();
  } finally {
    try {
      const current = JSON.parse(readFileSync(marker, 'utf8')) as RunningShift;
      if (current.pid === me.pid && current.host === me.host && current.since === me.since) rmSync(marker, { force: true });
    } catch {
      // already gone
    }
  }
}

async function shiftReads(ctx: PhaseContext, pauseFile: string): Promise<PhaseOutcome> {
  const { router, forward } = ctx.platform;
  let weight = (await router.state()).readWeightGreen;
  const targets = targetWeights(ctx, weight);
  if (!targets.length) return { ok: true, summary: `reads already at ${weight} % green`, figures: { readWeightGreen: weight } };
  // a router left mirroring (a killed shadow phase) would mirror again whenever reads go back to 0 %
  await shadowReadsOff(ctx, 'shift');

  // moving reads back toward blue is always allowed and needs no gate
  if (targets.length === 1 && targets[0]! < weight) {
    const to = targets[0]!;
    await ctx.journal.step('router.setReadWeight', { from: weight, to }, () => router.setReadWeight(to));
    return { ok: true, summary: `reads at ${to} % green`, figures: { readWeightGreen: to } };
  }

  if (weight === 0) {
    const smoke = await smokeGate(ctx);
    if (smoke) return smoke;
  }

  const lag = () => streamingLagMs(forward);
  const age = () => validationAgeSeconds(ctx);
  // only a worker status written after this check began, from a worker that is connected, opens it
  const checkBegan = Date.now();
  const pre = await holdForLag(ctx, async () => {
    const reading = await freshStreamingLag(forward, checkBegan);
    return { verdict: evaluateGates({ lagMs: reading.lagMs, validationAgeSeconds: age(), gates: ctx.env.gates }), notYet: reading.notYet };
  });
  if (!pre.ok) {
    ctx.journal.note('shift.gate-refused', { reasons: pre.reasons, ...pre.figures });
    for (const r of pre.reasons) ctx.out.error('shift', r);
    return { ok: false, summary: `shift refused before moving: ${pre.reasons.join('; ')}`, figures: { readWeightGreen: weight, ...pre.figures }, result: pre };
  }

  const { gates } = ctx.env;
  const bakeSeconds = ctx.env.shift.bakeSeconds;
  let baseline: BlueLatencyMs | null = null;
  for (const target of targets) {
    await ctx.journal.step('router.setReadWeight', { from: weight, to: target }, () => router.setReadWeight(target));
    weight = target;
    const at = weight;
    ctx.out.info(
      'shift',
      `reads ${at} % to green; baking ${bakeSeconds} s with gates: green errors <= ${pctOf(gates.maxErrorRatio)} (beyond chance at 95 % confidence), p99 <= ${gates.maxP99RatioToBlue}x blue's (p90 or median below 100 green requests), lag <= ${gates.maxLagMs} ms, at least ${gates.minRequests} green requests`,
    );
    const watch = await watchGates(ctx, {
      seconds: bakeSeconds,
      lag,
      alarms: ctx.platform.alarms ? () => ctx.platform.alarms!.judge('shift') : undefined,
      validationAge: age,
      paused: () => existsSync(pauseFile),
      pausedMessage: (ms) => `paused at ${at} %${ms ? ` for ${duration(ms)}` : ''} (gates still watched) — \`cutover shift --resume\` continues`,
      baselineBlue: baseline,
      topic: 'shift',
      label: `reads ${at} %`,
      progressFigures: { reads: `${at}%` },
      unprovenFix: 'send real traffic through the router (a step needs gates.minRequests green requests), or set gates.minRequests lower in the config (0: no proof needed); then run `cutover shift` again',
    });
    if (!watch.ok) {
      if (watch.aborted) return { ok: false, summary: `shift interrupted at ${weight} % green (reads left there; \`cutover shift\` continues, \`cutover rollback\` goes back)`, figures: { readWeightGreen: weight } };
      const v = watch.verdict;
      await ctx.journal.step('router.setReadWeight', { from: weight, to: 0, reason: v.reasons.join('; ') }, () => router.setReadWeight(0));
      ctx.journal.note('shift.gate-failed', { atWeight: weight, reasons: v.reasons, notProven: watch.unproven === true, ...v.figures });
      for (const r of v.reasons) ctx.out.error('shift', `gate failed at ${weight} %: ${r}`);
      ctx.out.warn('shift', `reads are back on blue (0 % green); at ${weight} %: ${describeFigures(v.figures)}`);
      return { ok: false, summary: `gate failed at ${weight} % green: ${v.reasons.join('; ')}; reads rolled back to 0 %`, figures: { readWeightGreen: 0, failedAtWeight: weight, ...v.figures }, result: v };
    }
    baseline = watch.baselineBlue;
    const extra = watch.provingSeconds > 0 ? ` (${Math.round(watch.provingSeconds)} s of it waiting for ${gates.minRequests} green requests)` : '';
    ctx.out.ok('shift', `reads ${weight} % to green held ${Math.round(watch.watchedSeconds)} s${extra} with gates green: ${describeFigures(watch.verdict.figures)}`);
    ctx.journal.note('shift.step-held', { atWeight: weight, watchedSeconds: watch.watchedSeconds, ...watch.verdict.figures });
  }
  return { ok: true, summary: `reads at ${weight} % green`, figures: { readWeightGreen: weight } };
}

function pctOf(ratio: number): string {
  return `${Math.round(ratio * 10_000) / 100} %`;
}

/** null when the smoke gate passes; the refusing outcome otherwise. */
async function smokeGate(ctx: PhaseContext): Promise<PhaseOutcome | null> {
  const steps = ctx.env.smoke;
  if (!steps.length) {
    ctx.out.warn('smoke', 'no smoke flow configured (smoke: []): nothing checks green end to end before reads move');
    return null;
  }
  const url = greenAppUrl(ctx);
  if (!url) {
    return {
      ok: false,
      summary: 'shift refused: the smoke flow needs green\'s direct URL; set apps.green.url in the config (or pass --smoke-url)',
      figures: { readWeightGreen: 0 },
    };
  }
  const result = await ctx.journal.step('shift.smoke', { url, steps: steps.map((s) => s.name) }, () => runSmoke(steps, url, ctx.out));
  if (result.ok) return null;
  const failed = result.results.find((r) => !r.ok);
  return {
    ok: false,
    summary: `shift refused: smoke step "${failed?.name}" failed against ${url}: ${failed?.problems.join('; ')}`,
    figures: { readWeightGreen: 0, smokeFailedStep: failed?.name ?? null },
    result,
  };
}

/** How long the shift waits, before moving any read, for replication lag to come back under the limit. */
export const LAG_HOLD_SECONDS = 120;

/**
 * The gates before the first move, held while the lag is the only reason to say no: a measured
 * replication lag above the limit (a restarted server, a burst of writes), or a lag that cannot be
 * trusted yet — the worker is reconnecting, or its status predates the check (see
 * freshStreamingLag). Re-evaluated every 500 ms for up to LAG_HOLD_SECONDS, with a line when the
 * hold begins and when it ends and live progress (the lag) while it lasts, so no read moves onto a
 * green that is behind. Any other red reason refuses at once. A lag that grows once a step has
 * begun is the step's gates' (reads go back).
 */
async function holdForLag(ctx: PhaseContext, evaluate: () => Promise<{ verdict: GateVerdict; notYet: string | null }>): Promise<GateVerdict> {
  const started = ctx.clock.now().getTime();
  let reading = await evaluate();
  const limit = ctx.env.gates.maxLagMs;
  // a measured lag above the limit is worth waiting for; an unknown one (replication stopped) is not
  const lagOnly = (v: GateVerdict) => !v.ok && v.figures.lagMs !== null && v.reasons.length === 1 && v.figures.lagMs > limit;
  // why to keep waiting, or null: go (green) or refuse (another reason)
  const waitFor = (r: { verdict: GateVerdict; notYet: string | null }): string | null =>
    lagOnly(r.verdict) ? (r.notYet ? `${r.verdict.reasons[0]}; ${r.notYet}` : r.verdict.reasons[0]!) : r.verdict.ok && r.notYet ? r.notYet : null;
  const why = waitFor(reading);
  if (why === null) return reading.verdict;
  ctx.journal.note('shift.held-for-lag', { reasons: [why], waitSeconds: LAG_HOLD_SECONDS, ...reading.verdict.figures });
  ctx.out.warn('shift', `holding the shift before moving any read: ${why}; waiting up to ${LAG_HOLD_SECONDS} s for it to stream with lag under ${limit} ms`);
  try {
    while (waitFor(reading) !== null && ctx.clock.now().getTime() - started < LAG_HOLD_SECONDS * 1000 && !ctx.signal.aborted) {
      const waited = Math.floor((ctx.clock.now().getTime() - started) / 1000);
      ctx.out.progress({
        topic: 'shift',
        done: Math.min(waited, LAG_HOLD_SECONDS),
        total: LAG_HOLD_SECONDS,
        unit: 's',
        figures: { state: 'held-for-lag', lagMs: reading.verdict.figures.lagMs ?? '?', maxLagMs: limit },
      });
      await ctx.clock.sleep(500, ctx.signal).catch(() => {});
      reading = await evaluate();
    }
  } finally {
    ctx.out.done('shift');
  }
  const waited = Math.round((ctx.clock.now().getTime() - started) / 100) / 10;
  // the hold ran out (or was interrupted) while the lag could not be trusted: that is a refusal
  const verdict = reading.verdict.ok && reading.notYet ? { ...reading.verdict, ok: false, reasons: [reading.notYet] } : reading.verdict;
  if (verdict.ok) ctx.out.ok('shift', `replication lag back under the limit after ${waited} s (lag ${verdict.figures.lagMs} ms): shifting`);
  ctx.journal.note('shift.lag-hold-ended', { waitedSeconds: waited, ok: verdict.ok, lagMs: verdict.figures.lagMs });
  return verdict;
}
