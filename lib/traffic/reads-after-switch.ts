import { writesSwitchedToGreen } from '../engine/journal-history.ts';
import type { RefusalInput } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';

/**
 * Once writes are on green (a write switch, no rollback since), every read stays on green: blue
 * gets green's writes only through reverse replication, later, so a read sent to blue may miss a
 * write the client was just told succeeded. Two read moves are refused then, before anything is
 * confirmed, changed or journaled: `shift --to N` below 100 (it would send reads to blue) and
 * `shadow` (it compares green with blue while every read is on blue). `rollback` is the way back
 * to blue: it drains green into blue first.
 */
export function readsAfterSwitchRefusal(input: RefusalInput, move: 'shift' | 'shadow'): CutoverError | null {
  if (move === 'shift') {
    const to = input.options.to;
    // only a move toward blue; a bad value is shift's own usage error, --to 100 re-states where reads are
    if (typeof to !== 'number' || !Number.isFinite(to) || to < 0 || to >= 100) return null;
  }
  const switched = writesSwitchedToGreen(input.history);
  if (!switched) return null;
  const what = move === 'shift' ? `shift --to ${input.options.to as number}` : 'shadow';
  const why =
    move === 'shift'
      ? `it would send ${100 - (input.options.to as number)} % of reads to blue, which gets green's writes only through reverse replication, later: a client could miss a write it was just told succeeded`
      : 'shadow reads compare green with blue before the first read shift, while every read is on blue';
  return new CutoverError('PRECONDITION_FAILED', `${what} is refused: writes are on green since the write switch at ${switched.time}, and ${why}: nothing was changed`, {
    received: `write switch (${switched.action}) at ${switched.time}, no rollback since`,
    allowed: move === 'shift' ? 'shift --to below 100 only while writes go to blue (before the switch, or after a rollback)' : 'shadow only while every read and write goes to blue (before the first read shift, or after a rollback)',
    fix: `reads and writes stay on green: \`${input.commandLine('cutover status')}\` shows the next step; to move traffic back to blue run \`${input.commandLine('cutover rollback')}\` (it drains green into blue first)`,
    changedNothing: true,
  });
}
