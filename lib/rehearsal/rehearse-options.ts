import { MAX_LOAD_RATE } from '../demo/load-generator.ts';
import { CutoverError } from '../errors.ts';
import type { DataFolderTemplate } from '../postgres/embedded-server.ts';

export const FAULTS = [
  'green-errors',
  'rollback-after-switch',
  'kill-replicator',
  'source-restart',
  'target-restart',
  'green-dies-after-switch',
  'operator-dies-in-switch',
  'green-differs',
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
  /** Pace the reads on blue against its health: `auto` from 100,000 orders (below, the reading phases take seconds). @default 'auto' */
  readonly pacing?: 'on' | 'off' | 'auto';
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
  /** How long the shadow phase compares green's answers with blue's, seconds; 0 skips it (the tests of faults it is not about). @default 8 */
  readonly shadowSeconds?: number;
  /** Percent of reads the shadow phase mirrors to green. @default 25 */
  readonly shadowPercent?: number;
  /** Green requests a gate window needs before it can pass (gates.minRequests). @default 10 */
  readonly minRequests?: number;
  /** Green p99 allowed over blue's in the gates (gates.maxP99RatioToBlue). @default 5 */
  readonly maxP99RatioToBlue?: number;
  /** Where snapshots go: a folder, or an S3-compatible server on loopback (the S3 client path). @default 'folder' */
  readonly backupStore?: 'folder' | 's3';
  /** The engine of the legacy cainiao (blue): `postgres` (embedded), or `mariadb` (the machine's MariaDB/MySQL server). @default 'postgres' */
  readonly legacy?: string;
  /** With `legacy: 'mariadb'`: a server the user runs, `mysql://user:password@host:3306/cainiao`, instead of starting one. */
  readonly legacyUrl?: string;
  /** Run the demo business (apps, router, load generator) in the rehearsal's own process instead of its own: only bench/demo-isolation.ts, to compare. @default false */
  readonly demoInProcess?: boolean;
  /**
   * A data folder initialised for the embedded PostgreSQL (`initialiseDataFolder`), copied for each
   * server instead of running initdb: the tests start a dozen rehearsals. Not a CLI flag.
   * @default - initdb for each server
   */
  readonly serverTemplate?: DataFolderTemplate;
}

export const LEGACY_ENGINES = ['postgres', 'mariadb'] as const;
export type LegacyOption = (typeof LEGACY_ENGINES)[number];

/** The legacy engine asked for (`mysql` is taken as `mariadb`: the same family), or a USAGE error naming the choices. */
export function checkLegacy(legacy: string | null | undefined, legacyUrl: string | undefined): LegacyOption {
  const value = legacy === undefined || legacy === null || legacy === '' ? (legacyUrl ? 'mariadb' : 'postgres') : legacy === 'mysql' ? 'mariadb' : legacy;
  if (!(LEGACY_ENGINES as readonly string[]).includes(value)) {
    throw new CutoverError('USAGE', `unknown legacy engine "${legacy}"`, { received: legacy, allowed: LEGACY_ENGINES.join(', '), fix: 'npm start -- --legacy mariadb' });
  }
  if (legacyUrl !== undefined && value !== 'mariadb') {
    throw new CutoverError('USAGE', '--legacy-url names a MySQL/MariaDB server, so it goes with --legacy mariadb', { received: `--legacy ${value}`, fix: 'npm start -- --legacy mariadb --legacy-url mysql://user:password@127.0.0.1:3306/cainiao' });
  }
  if (legacyUrl !== undefined && !/^(mysql|mariadb):\/\//.test(legacyUrl)) {
    throw new CutoverError('USAGE', '--legacy-url must be a mysql:// or mariadb:// URL', { received: legacyUrl.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@'), fix: '--legacy-url mysql://user:password@127.0.0.1:3306/cainiao' });
  }
  return value as LegacyOption;
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

/**
 * Limits of the numeric options: shown in `--help` and checked when the options are parsed,
 * before any server starts (lib/cli/commands/rehearse.ts), and again by rehearse() for callers.
 */
export const REHEARSAL_LIMITS = {
  seed: { min: 0, max: 2_147_483_647, fallback: 42, what: 'generator seed (same seed, same data)' },
  /** The generator streams rows into COPY (memory flat); bench/seed.ts measures 100,000, 1,000,000 and 5,000,000. */
  orders: { min: 1, max: 5_000_000, fallback: 5000, what: 'orders in the legacy demo data' },
  rate: { min: 1, max: MAX_LOAD_RATE, fallback: 200, what: 'client requests per second during the cutover' },
} as const;

export type LimitedOption = keyof typeof REHEARSAL_LIMITS;

/** The option's value within its limits, its default when absent, or a USAGE error naming both. */
export function checkOption(name: LimitedOption, value: number | undefined): number {
  const l = REHEARSAL_LIMITS[name];
  if (value === undefined) return l.fallback;
  if (!Number.isInteger(value) || value < l.min || value > l.max) {
    throw new CutoverError('USAGE', `--${name} must be a whole number from ${l.min} to ${l.max}`, {
      received: value,
      allowed: `${l.min}..${l.max}`,
      fix: `npm start -- --${name} ${l.fallback}`,
    });
  }
  return value;
}
