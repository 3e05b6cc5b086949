import { writeSync } from 'node:fs';
import type { Command } from 'commander';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';
import { envCommandLine } from '../../engine/command-line.ts';

/**
 * Runs `fn`; if the process exits before it settles (a second Ctrl-C exits at once, skipping
 * the undo the first one started), writes `warning` to stderr on the way out: what may be left
 * half-done and the command that finishes or undoes it. Only for the real process's stderr; an
 * empty warning (dry-run: nothing changes) says nothing.
 */
export async function warnIfExitedDuring<T>(rt: CliRuntime, warning: string, fn: () => Promise<T>): Promise<T> {
  if (!warning || rt.io.stderr !== process.stderr) return fn();
  const onExit = () => {
    try {
      writeSync(2, `${warning}\n`); // 'exit' listeners must be synchronous
    } catch {
      /* stderr gone: nothing else to tell */
    }
  };
  process.on('exit', onExit);
  try {
    return await fn();
  } finally {
    process.off('exit', onExit);
  }
}

/** `cutover switch`. */
export function registerSwitch(program: Command, rt: CliRuntime): void {
  program
    .command('switch')
    .description('switch WRITES to green: hold, fence blue, catch up, flip, release (asks for "go")')
    .action(
      withSession(rt, 'cutover switch', async (s) => {
        const warning = s.globals.dryRun
          ? ''
          : `error switch: interrupted before the switch finished: the router may still hold writes (it releases them by itself after ` +
          `switch.maxHoldMs = ${s.env.switch.maxHoldMs} ms), blue may refuse writes and reverse replication may be running. ` +
          `Run \`${envCommandLine(s.env, 'cutover switch')}\` now: it undoes a switch stopped before the flip and finishes one past it ` +
          `(or \`${envCommandLine(s.env, 'cutover rollback')}\`).`;
        return warnIfExitedDuring(rt, warning, async () => phaseExit(await s.engine.runPhase('switch'), s.out));
      }),
    );
}
