import type { PhaseRun, RunAllResult } from '../engine/engine.ts';
import type { Output } from '../output/output.ts';

/** Prints a phase run's result and maps it to the exit code: 0 verified/applied, 1 a gate said no. */
export function phaseExit(run: PhaseRun, out: Output): number {
  if (run.dryRun) return run.ok ? 0 : 1; // the engine printed the plan and its result
  const outcome = run.verify ?? run.apply;
  out.result(
    { phase: run.phase, ok: run.ok, resumed: run.resumed, apply: run.apply ?? null, verify: run.verify ?? null },
    `${run.phase}: ${run.ok ? 'ok' : 'NOT OK'}${outcome ? ` — ${outcome.summary}` : ''}`,
  );
  return run.ok ? 0 : 1;
}

/** `rerun`: the command line that resumes the walk (`npx cutover run [--config …] --env …`). */
export function runAllExit(result: RunAllResult, out: Output, dryRun: boolean, rerun: string): number {
  if (dryRun) {
    // the one result document of the command (the engine prints no per-phase result in a walk);
    // like a single phase's dry-run, it fails when the real run would be refused somewhere
    const stop = result.runs.find((r) => r.wouldRefuse);
    out.result(
      { dryRun: true, wouldStopAt: stop?.phase ?? null, phases: result.runs.map((r) => ({ phase: r.phase, plan: r.plan, wouldRefuse: r.wouldRefuse?.toJSON() ?? null })) },
      stop
        ? `dry-run: a real run would stop at ${stop.phase}: ${stop.wouldRefuse!.code}: ${stop.wouldRefuse!.message}${stop.wouldRefuse!.details.fix ? ` (fix: ${stop.wouldRefuse!.details.fix})` : ''}; nothing was changed`
        : `dry-run: ${result.runs.length} phase(s) would run; nothing was changed`,
    );
    return stop ? stop.wouldRefuse!.exitCode : 0;
  }
  out.result(
    { ok: result.ok, stoppedAt: result.stoppedAt ?? null, runs: result.runs.map((r) => ({ phase: r.phase, ok: r.ok, resumed: r.resumed, summary: (r.verify ?? r.apply)?.summary ?? null })) },
    result.ok ? 'cutover run: every phase verified' : `cutover run stopped at ${result.stoppedAt}: fix the cause above, then re-run \`${rerun}\` (or roll back)`,
  );
  return result.ok ? 0 : 1;
}
