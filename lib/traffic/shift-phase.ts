import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Phase, PhaseContext, PhaseOutcome, PlanStep } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import { evaluateGates } from './gates.ts';
import { watchGates } from './gate-watch.ts';
import { runSmoke } from './smoke.ts';
import { greenAppUrl, routerTarget, streamingLagMs, validationAgeSeconds } from './traffic-inputs.ts';

/** `shift --pause` leaves this file; a running shift holds its step while it exists. */
export function shiftPauseFile(stateDir: string): string {
  return path.join(stateDir, 'shift.pause');
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
  requires: ['validate'],
  command: 'cutover shift',
  mutates: true,

  async plan(ctx) {
    if (ctx.options.pause) return [{ action: 'shift.pause', target: shiftPauseFile(ctx.env.stateDir), detail: 'the running shift holds its current step' }];
    if (ctx.options.resume) return [{ action: 'shift.resume', target: shiftPauseFile(ctx.env.stateDir), detail: 'the running shift moves on' }];
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
        detail: `reads ${w} % to green, bake ${ctx.env.shift.bakeSeconds} s: green errors <= ${ctx.env.gates.maxErrorRatio * 100} %, p99 <= ${ctx.env.gates.maxP99RatioToBlue}x blue, else reads back to 0 %`,
      });
    }
    if (!targets.length) steps.push({ action: 'none', target: routerTarget(ctx), detail: `reads already at ${current} % green` });
    return steps;
  },

  async apply(ctx) {
    const pauseFile = shiftPauseFile(ctx.env.stateDir);
    if (ctx.options.pause) {
      mkdirSync(ctx.env.stateDir, { recursive: true });
      writeFileSync(pauseFile, new Date().toISOString() + '\n');
      ctx.journal.note('shift.pause', { file: pauseFile });
      return { ok: true, summary: 'shift paused: a running shift holds its current step (gates still watched) until `cutover shift --resume`' };
    }
    if (ctx.options.resume) {
      rmSync(pauseFile, { force: true });
      ctx.journal.note('shift.resume', { file: pauseFile });
      return { ok: true, summary: 'shift resumed: a running shift moves on; if none is running, run `cutover shift`' };
    }
    return shiftReads(ctx, pauseFile);
  },

  async verify(ctx) {
    const s = await ctx.platform.router.state();
    return s.readWeightGreen === 100
      ? { ok: true, summary: 'all reads on green', figures: { readWeightGreen: 100 } }
      : { ok: false, summary: `reads at ${s.readWeightGreen} % green, not 100 %: run \`cutover shift\``, figures: { readWeightGreen: s.readWeightGreen } };
  },

  async rollback(ctx) {
    await ctx.journal.step('router.setReadWeight', { to: 0, reason: 'shift rollback' }, () => ctx.platform.router.setReadWeight(0));
    return { ok: true, summary: 'reads back on blue (0 % green)', figures: { readWeightGreen: 0 } };
  },
};

async function shiftReads(ctx: PhaseContext, pauseFile: string): Promise<PhaseOutcome> {
  const { router, forward } = ctx.platform;
  let weight = (await router.state()).readWeightGreen;
  const targets = targetWeights(ctx, weight);
  if (!targets.length) return { ok: true, summary: `reads already at ${weight} % green`, figures: { readWeightGreen: weight } };

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
  const pre = evaluateGates({ lagMs: await lag(), validationAgeSeconds: age(), gates: ctx.env.gates });
  if (!pre.ok) {
    ctx.journal.note('shift.gate-refused', { reasons: pre.reasons, ...pre.figures });
    for (const r of pre.reasons) ctx.out.error('shift', r);
    return { ok: false, summary: `shift refused before moving: ${pre.reasons.join('; ')}`, figures: { readWeightGreen: weight, ...pre.figures }, result: pre };
  }

  let baseline: number | null = null;
  for (const target of targets) {
    await ctx.journal.step('router.setReadWeight', { from: weight, to: target }, () => router.setReadWeight(target));
    weight = target;
    ctx.out.info('shift', `reads ${weight} % to green; baking ${ctx.env.shift.bakeSeconds} s with gates`);
    const watch = await watchGates(ctx, {
      seconds: ctx.env.shift.bakeSeconds,
      lag,
      validationAge: age,
      paused: () => existsSync(pauseFile),
      baselineBlueP99Ms: baseline,
    });
    if (!watch.ok) {
      if (watch.aborted) return { ok: false, summary: `shift interrupted at ${weight} % green (reads left there; \`cutover shift\` continues, \`cutover rollback\` goes back)`, figures: { readWeightGreen: weight } };
      const v = watch.verdict;
      await ctx.journal.step('router.setReadWeight', { from: weight, to: 0, reason: v.reasons.join('; ') }, () => router.setReadWeight(0));
      ctx.journal.note('shift.gate-failed', { atWeight: weight, reasons: v.reasons, ...v.figures });
      for (const r of v.reasons) ctx.out.error('shift', `gate failed at ${weight} %: ${r}`);
      ctx.out.warn('shift', 'reads are back on blue (0 % green)');
      return { ok: false, summary: `gate failed at ${weight} % green: ${v.reasons.join('; ')}; reads rolled back to 0 %`, figures: { readWeightGreen: 0, failedAtWeight: weight, ...v.figures }, result: v };
    }
    baseline = watch.baselineBlueP99Ms;
    ctx.out.ok('shift', `reads ${weight} % to green held ${ctx.env.shift.bakeSeconds} s with gates green`);
  }
  return { ok: true, summary: `reads at ${weight} % green`, figures: { readWeightGreen: weight } };
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
