import { CutoverError } from '../errors.ts';

export const FAULTS = [
  'green-errors',
  'rollback-after-switch',
  'kill-replicator',
  'source-restart',
  'target-restart',
  'green-dies-after-switch',
  'operator-dies-in-switch',
] as const;
export type FaultName = (typeof FAULTS)[number];

export interface RehearseOptions {
  /** Generator seed. @default 42 */
  readonly seed?: number;
  /** Legacy orders generated. @default 5000 */
  readonly orders?: number;
  /** Load generator rate, requests/s. @default 200 */
  readonly rate?: number;
  /** A fault scenario. @default none */
  readonly fault?: string | null;
  /** Leave servers running at the end and print how to connect. @default false */
  readonly keep?: boolean;
  /** Also write the JSON report here. @default none (the HTML report is always written) */
  readonly reportJson?: string;
  /** Print the plan and change nothing. @default false */
  readonly dryRun?: boolean;
  /** Working folder (servers, state, report). @default '.cutover/rehearsal' */
  readonly dir?: string;
  /** Bake per read-shift step, seconds. @default 4 */
  readonly shiftBakeSeconds?: number;
  /** Bake after the write switch, seconds. @default 6 */
  readonly bakeSeconds?: number;
  /** Read-shift steps, percent of reads on green. @default [1, 10, 50, 100] */
  readonly shiftSteps?: readonly number[];
  /** Green requests a gate window needs before it can pass (gates.minRequests). @default 10 */
  readonly minRequests?: number;
  /** Where snapshots go: a folder, or an S3-compatible server on loopback (the S3 client path). @default 'folder' */
  readonly backupStore?: 'folder' | 's3';
}

export function checkFault(fault: string | null | undefined): FaultName | null {
  if (fault === undefined || fault === null || fault === '' || fault === 'none') return null;
  if ((FAULTS as readonly string[]).includes(fault)) return fault as FaultName;
  throw new CutoverError('USAGE', `unknown fault scenario "${fault}"`, {
    received: fault,
    allowed: FAULTS.join(', '),
    fix: `npm start -- --fault ${FAULTS[0]}`,
  });
}

export function checkPositiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new CutoverError('USAGE', `--${name} must be a whole number ≥ ${min}`, { received: value, fix: `--${name} ${fallback}` });
  }
  return value;
}
