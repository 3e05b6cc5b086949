import type { Phase, PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import { outcomeMemo } from '../phases/outcome-memo.ts';
import type { ShadowFigures, ShadowMirror, ShadowSettings } from '../platform/roles.ts';
import { shadowReadsOff } from './shadow-off.ts';
import { describeFailure, ShadowTally, type Difference, type ShadowReport } from '../shadow/shadow-tally.ts';
import { readsAfterSwitchRefusal } from './reads-after-switch.ts';
import { shadowRouterTarget } from './traffic-inputs.ts';

/** What the phase found: a report, a skip with its reason, or "not available" with why. */
export type ShadowOutcome = { readonly kind: 'report'; readonly report: ShadowReport } | { readonly kind: 'skipped'; readonly reason: string } | { readonly kind: 'not-available'; readonly why: string };

const outcomes = outcomeMemo<ShadowOutcome>();

/** Rechecks waiting at once; a difference beyond it is not rechecked (it stays a mismatch: never the lenient side). */
const MAX_PENDING_RECHECKS = 64;
/** How often the phase reads the router's samples. */
const POLL_MS = 500;

/**
 * Shadow reads, before the first read shift: while every read is on blue, the router mirrors
 * `shadow.percent` of GET/HEAD requests to green (the client always gets blue's answer) and
 * this phase compares the answers per route (lib/shadow/). Apply runs the comparison for
 * `shadow.seconds`; verify is the gate: a route above `shadow.maxMismatchPercent`, or too few
 * samples, blocks the shift. Where nothing can mirror (an ALB), the phase says "not available"
 * and fails, unless the config skips it with a reason.
 */
export const shadowPhase: Phase = {
  name: 'shadow',
  requires: ['replicate', 'validate'],
  command: 'cutover shadow',
  mutates: true,

  refusal(input) {
    const s = input.options.seconds;
    if (s !== undefined && (typeof s !== 'number' || !Number.isFinite(s) || s < 1)) {
      return new CutoverError('USAGE', 'shadow --seconds takes how long to compare, in seconds', { received: s, allowed: '1..', fix: 'e.g. `cutover shadow --seconds 120`' });
    }
    return readsAfterSwitchRefusal(input, 'shadow');
  },

  async plan(ctx) {
    const cfg = ctx.env.shadow;
    if (cfg.skip) return [{ action: 'none', target: 'shadow reads', detail: `skipped by the config: ${cfg.skip.reason}` }];
    const why = unavailable(ctx);
    if (why) return [{ action: 'none', target: shadowRouterTarget(ctx), detail: `not available: ${why}` }];
    const s = settingsOf(ctx);
    const steps: PlanStep[] = [
      { action: 'router.configureShadow', target: shadowRouterTarget(ctx), detail: `mirror ${s.percent} % of GET/HEAD to green (x-cutover-shadow: 1; ${s.noisePercent} % of those to blue twice, for noise), timeout ${s.timeoutMs} ms, at most ${s.maxConcurrent} in flight; the client always gets blue's answer` },
      {
        action: 'shadow.compare',
        target: 'blue vs green answers',
        detail: `${secondsOf(ctx)} s: status, then the JSON body by ${cfg.compare.length} rule(s), per route; a difference is asked again after ${cfg.recheckAfterMs} ms; ${cfg.accepted.length} accepted difference(s) counted apart`,
      },
      {
        action: 'gate',
        target: 'shadow',
        detail: `at least ${cfg.minSamples} samples compared; on every route with >= ${cfg.minSamples} samples, mismatches beyond blue's noise <= ${cfg.maxMismatchPercent} % and reads green failed (no answer within ${s.timeoutMs} ms, an error, a 5xx) <= ${cfg.maxFailedPercent} %`,
      },
      { action: 'router.configureShadow', target: shadowRouterTarget(ctx), detail: 'mirroring off' },
    ];
    return steps;
  },

  async apply(ctx) {
    const cfg = ctx.env.shadow;
    if (cfg.skip) {
      ctx.journal.note('shadow.skipped', { reason: cfg.skip.reason });
      ctx.out.warn('shadow', `skipped by the config (shadow.skip): ${cfg.skip.reason} — green's answers were not compared with blue's before the shift`);
      return remember(ctx, { kind: 'skipped', reason: cfg.skip.reason });
    }
    const why = unavailable(ctx);
    if (why) {
      ctx.out.error('shadow', `not available: ${why}`);
      return remember(ctx, { kind: 'not-available', why });
    }
    const state = await ctx.platform.router.state();
    if (state.readWeightGreen > 0) {
      throw new CutoverError('PRECONDITION_FAILED', `shadow reads compare only while every read goes to blue; reads are at ${state.readWeightGreen} % green`, {
        received: state.readWeightGreen,
        allowed: '0 % green',
        fix: 'move reads back first (`cutover shift --to 0`), or go on with the shift',
        // refused before it mirrored anything: the shadow gate that passed earlier still stands
        changedNothing: true,
      });
    }
    const missing = await mirrorMissing(ctx, ctx.platform.shadow!);
    if (missing) {
      ctx.out.error('shadow', `not available: ${missing}`);
      return remember(ctx, { kind: 'not-available', why: missing });
    }
    const report = await compareShadowReads(ctx, ctx.platform.shadow!);
    printReport(ctx, report);
    return remember(ctx, { kind: 'report', report });
  },

  async verify(ctx) {
    const o = outcomes.get(ctx);
    if (!o) return { ok: false, summary: 'no shadow comparison in this run: run `cutover shadow`' };
    return outcomeOf(o, true);
  },

  async rollback(ctx) {
    const off = await shadowReadsOff(ctx, 'shadow');
    return { ok: true, summary: `${off ?? 'shadow reads were already off'} (they never changed what clients got)` };
  },
};

function remember(ctx: PhaseContext, o: ShadowOutcome): PhaseOutcome {
  outcomes.set(ctx, o);
  return outcomeOf(o, false);
}

/** Why shadow reads cannot run here, or null. */
function unavailable(ctx: PhaseContext): string | null {
  if (ctx.platform.shadow) return null;
  if (ctx.env.platform === 'aws') {
    return 'an ALB cannot mirror requests (its actions forward, redirect, return a fixed response or authenticate), so green\'s answers cannot be compared with blue\'s here; run the kit\'s router in front of blue behind the ALB and name it in shadowRouter.adminUrl, or set shadow.skip: { reason } in the config to go on without the comparison';
  }
  return `environment ${ctx.env.name} has no router configured (router.adminUrl): shadow reads need the kit's router in front of both apps`;
}

/** A router that answers but has no shadow endpoint (not the kit's, or older) cannot mirror: why, or null. */
async function mirrorMissing(ctx: PhaseContext, mirror: ShadowMirror): Promise<string | null> {
  try {
    await mirror.shadowFigures();
    return null;
  } catch (err) {
    if (!(err instanceof CutoverError) || err.code !== 'NOT_SUPPORTED') throw err;
    return `the router at ${shadowRouterTarget(ctx)} has no shadow endpoint (${err.message}), so it cannot mirror reads to green; run the kit's router in front of both apps, or set shadow.skip: { reason } in the config to go on without the comparison`;
  }
}

function secondsOf(ctx: PhaseContext): number {
  return typeof ctx.options.seconds === 'number' ? ctx.options.seconds : ctx.env.shadow.seconds;
}

function settingsOf(ctx: PhaseContext): ShadowSettings {
  const c = ctx.env.shadow;
  return { percent: c.percent, noisePercent: c.noisePercent, timeoutMs: c.timeoutMs, maxConcurrent: c.maxConcurrent };
}

/** Mirrors for the configured time, compares every sample, rechecks differences; mirroring is off again at the end, whatever happens. */
async function compareShadowReads(ctx: PhaseContext, mirror: ShadowMirror): Promise<ShadowReport> {
  const cfg = ctx.env.shadow;
  const settings = settingsOf(ctx);
  const seconds = secondsOf(ctx);
  const t0 = ctx.clock.now().getTime();
  const tally = new ShadowTally(cfg, t0);
  const pending = new Set<Promise<void>>();
  let notRechecked = 0;
  const f0 = await ctx.journal.step('router.configureShadow', { ...settings }, () => mirror.configureShadow(settings));
  let after = f0.lastSeq;
  let last: ShadowFigures = f0;

  const recheck = (diff: Difference) => {
    if (pending.size >= MAX_PENDING_RECHECKS) {
      notRechecked++;
      return;
    }
    const p = ctx.clock
      // no abort signal here: dozens of rechecks may wait at once (an abort is seen by the loop)
      .sleep(cfg.recheckAfterMs)
      .then(() => mirror.recheck({ method: diff.sample.method, path: diff.sample.path }))
      .then((again) => tally.rechecked(diff, again), () => tally.rechecked(diff, null))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const drain = async () => {
    for (;;) {
      const { samples, figures } = await mirror.shadowSamples(after, 1000);
      last = figures;
      for (const s of samples) {
        after = Math.max(after, s.seq);
        const diff = tally.add(s);
        if (diff) recheck(diff);
      }
      if (samples.length < 1000) return;
    }
  };

  ctx.out.info('shadow', `mirroring ${settings.percent} % of GET/HEAD to green for ${seconds} s (the client always gets blue's answer); comparing per route`);
  let mirroredMs = 0;
  try {
    while (!ctx.signal.aborted) {
      const elapsed = ctx.clock.now().getTime() - t0;
      if (elapsed >= seconds * 1000) break;
      await ctx.clock.sleep(Math.min(POLL_MS, seconds * 1000 - elapsed), ctx.signal).catch(() => {});
      await drain();
      ctx.out.progress({ topic: 'shadow', done: Math.round((ctx.clock.now().getTime() - t0) / 1000), total: seconds, unit: 's', figures: { compared: tally.samplesCompared, differing: tally.differences, greenFailed: tally.failures, dropped: droppedSince(f0, last) } });
    }
  } finally {
    mirroredMs = ctx.clock.now().getTime() - t0;
    await ctx.journal.step('router.configureShadow', { percent: 0 }, () => mirror.configureShadow(null));
    ctx.out.done('shadow');
  }
  // calls mirrored before "off" finish within the timeout (and a margin: timers run late on a
  // starved machine); what is still unanswered then is reported, not compared; then the rechecks
  const settleUntil = ctx.clock.now().getTime() + settings.timeoutMs + 4 * POLL_MS;
  await drain();
  while (last.inflight + (last.awaitingBlue ?? 0) > 0 && ctx.clock.now().getTime() < settleUntil && !ctx.signal.aborted) {
    await ctx.clock.sleep(100, ctx.signal).catch(() => {});
    await drain();
  }
  await Promise.all([...pending]);
  if (ctx.signal.aborted) throw new CutoverError('ABORTED', 'the shadow comparison was interrupted: nothing was judged (mirroring is off)', { fix: 'run `cutover shadow` again' });
  const dropped = { ...last.dropped };
  for (const k of Object.keys(dropped) as (keyof typeof dropped)[]) dropped[k] -= f0.dropped[k];
  const report = tally.report({ sampled: last.sampled - f0.sampled, dropped, unanswered: last.inflight + (last.awaitingBlue ?? 0) }, settings, mirroredMs / 1000);
  if (notRechecked) ctx.out.warn('shadow', `${notRechecked} difference(s) were not asked again (more than ${MAX_PENDING_RECHECKS} rechecks waiting): they count as mismatches`);
  return report;
}

function droppedSince(f0: ShadowFigures, now: ShadowFigures): number {
  const sum = (f: ShadowFigures) => Object.values(f.dropped).reduce((a, b) => a + b, 0);
  return sum(now) - sum(f0);
}

function printReport(ctx: PhaseContext, r: ShadowReport): void {
  const d = r.dropped;
  ctx.out.info(
    'shadow',
    `${r.compared} sample(s) compared in ${Math.round(r.seconds)} s (${r.sampled} mirrored; not compared, not green's doing: ${d.concurrency} over the concurrency limit, ${d.tooLarge} too large, ${d.overwritten} overwritten, ${d.blueFailed} failed by blue, ${r.unanswered} still unanswered at the end)`,
  );
  for (const x of r.routes) {
    const line =
      `${x.route}: ${x.samples} samples, ${x.mismatches} mismatch(es)${x.mismatchPercent === null ? '' : ` (${x.mismatchPercent} %)`}, ` +
      `${x.failed} failed by green${x.failed ? ` (${x.failedPercent} %: ${x.failedKinds.timeout} timed out, ${x.failedKinds.error} errors, ${x.failedKinds['5xx']} 5xx)` : ''}, ` +
      `noise ${x.noisePercent === null ? '-' : `${x.noisePercent} %`} of ${x.noiseSamples} blue-vs-blue${x.noisyPaths.length ? ` at ${x.noisyPaths.slice(0, 3).join(', ')}` : ''}, ` +
      `${x.noise} within the noise, ${x.transient} gone on recheck, ${x.accepted} accepted${x.judged ? '' : ` — not judged (fewer than ${r.gate.minSamples} samples)`}`;
    if (x.mismatches || x.failed) ctx.out.warn('shadow', line);
    else ctx.out.info('shadow', line);
    for (const a of x.acceptedReasons) ctx.out.info('shadow', `  ${a.count} accepted on ${x.route}: ${a.reason}`);
    for (const e of x.examples.filter((e) => e.class === 'mismatch')) {
      ctx.out.warn('shadow', `  e.g. ${e.request} differs at ${e.paths.slice(0, 5).join(', ')}: blue ${e.blue.status} ${short(e.blue.body)} / green ${e.green.status} ${short(e.green.body)}`);
    }
    for (const e of x.examples.filter((e) => e.class === 'failed')) ctx.out.warn('shadow', `  e.g. ${describeFailure(e)}`);
  }
}

function short(body: string): string {
  return body.length > 160 ? body.slice(0, 160) + '…' : body;
}

function outcomeOf(o: ShadowOutcome, gate: boolean): PhaseOutcome {
  if (o.kind === 'skipped') return { ok: true, summary: `skipped by the config: ${o.reason}`, figures: { skipped: true, reason: o.reason } };
  if (o.kind === 'not-available') return { ok: false, summary: `not available: ${o.why}`, figures: { available: false } };
  const r = o.report;
  const figures = {
    compared: r.compared,
    sampled: r.sampled,
    routes: r.routes.length,
    mismatches: r.routes.reduce((n, x) => n + x.mismatches, 0),
    greenFailed: r.routes.reduce((n, x) => n + x.failed, 0),
    accepted: r.routes.reduce((n, x) => n + x.accepted, 0),
    transient: r.routes.reduce((n, x) => n + x.transient, 0),
    worstRoute: [...r.routes].filter((x) => x.judged).sort((a, b) => (b.mismatchPercent ?? 0) + (b.failedPercent ?? 0) - ((a.mismatchPercent ?? 0) + (a.failedPercent ?? 0)))[0]?.route ?? null,
    maxMismatchPercent: r.gate.maxMismatchPercent,
    maxFailedPercent: r.gate.maxFailedPercent,
  };
  const described = `${r.compared} sample(s) on ${r.routes.length} route(s), ${figures.mismatches} mismatch(es), ${figures.greenFailed} failed by green, ${figures.accepted} accepted, ${figures.transient} gone on recheck`;
  if (!gate) return { ok: true, summary: `compared ${described}`, figures, result: r };
  if (r.gate.ok) {
    return { ok: true, summary: `green answers like blue: ${described}; every judged route within ${r.gate.maxMismatchPercent} % mismatches and ${r.gate.maxFailedPercent} % failed`, figures, result: r };
  }
  return { ok: false, summary: `green does not answer like blue: ${[...(r.gate.unproven ? [r.gate.unproven] : []), ...r.gate.reasons].join('; ')}`, figures, result: r };
}
