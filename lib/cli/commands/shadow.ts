import type { Command } from 'commander';
import { wholeNumber } from '../global-options.ts';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

interface ShadowOptions {
  readonly seconds?: number;
}

/** `cutover shadow [--seconds N]`: compare green's answers with blue's on live reads; exit 0 alike, 1 the gate said no (or not available). */
export function registerShadow(program: Command, rt: CliRuntime): void {
  program
    .command('shadow')
    .description("mirror a share of live GET/HEAD reads to green while every read is on blue, and compare green's answers with blue's per route; exit 0 alike, 1 the shadow gate said no or shadow reads are not available here (an ALB cannot mirror)")
    .option('--seconds <n>', 'compare for this long instead of shadow.seconds', wholeNumber(1, 86_400))
    .action(withSession<ShadowOptions>(rt, 'cutover shadow', async (s, o) => phaseExit(await s.engine.runPhase('shadow', o.seconds === undefined ? {} : { seconds: o.seconds }), s.out)));
}
