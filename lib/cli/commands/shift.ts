import type { Command } from 'commander';
import { CutoverError } from '../../errors.ts';
import { wholeNumber } from '../global-options.ts';
import { holdRunningShift } from '../../traffic/shift-phase.ts';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

interface ShiftOptions {
  readonly to?: number;
  readonly pause?: boolean;
  readonly resume?: boolean;
}

/** `cutover shift [--to N] [--pause] [--resume]`: reads to green in steps, with gates. */
export function registerShift(program: Command, rt: CliRuntime): void {
  program
    .command('shift')
    .description('move READS to green in the configured steps with health gates (or --to one weight)')
    .option('--to <percent>', 'move reads to exactly this percent of green (0..100)', wholeNumber(0, 100))
    .option('--pause', 'hold a running shift at its current step (refused when no shift is running)')
    .option('--resume', 'continue a paused shift')
    .action(
      withSession<ShiftOptions>(rt, 'cutover shift', async (s, o) => {
        if ([o.to !== undefined, o.pause, o.resume].filter(Boolean).length > 1) {
          throw new CutoverError('USAGE', 'use only one of --to, --pause and --resume', { fix: 'npx cutover shift --to 50, or --pause, or --resume' });
        }
        if (o.pause || o.resume) {
          // talks to the shift running in another process: no lock (it holds it), no journal run
          const action = o.pause ? 'pause' : 'resume';
          const outcome = holdRunningShift(s.env.stateDir, action, s.globals.dryRun === true);
          s.out.result({ phase: 'shift', action, ok: true, summary: outcome.summary, figures: outcome.figures ?? {} }, `shift: ${outcome.summary}`);
          return 0;
        }
        return phaseExit(await s.engine.runPhase('shift', { to: o.to }), s.out);
      }),
    );
}
