import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Output } from '../../output/output.ts';
import { exported, importOptional } from '../../platform/optional-module.ts';
import { FAULTS as REHEARSAL_FAULTS, REHEARSAL_LIMITS, type LimitedOption } from '../../rehearsal/rehearse-options.ts';
import { wholeNumber } from '../global-options.ts';
import { withoutSession, type CliRuntime } from '../runtime.ts';


interface RehearseOptions {
  readonly seed?: number;
  readonly orders?: number;
  readonly rate?: number;
  readonly fault?: string;
  readonly keep?: boolean;
  readonly reportJson?: string;
  readonly backupStore?: 'folder' | 's3';
  readonly legacy?: string;
  readonly legacyUrl?: string;
  readonly pacing?: 'on' | 'off' | 'auto';
}

type Rehearse = (options: RehearseOptions & { dryRun?: boolean }, out: Output) => Promise<number>;

/** `cutover rehearse` (`npm start`): the whole cutover on embedded PostgreSQL under live load, with a report. */
export function registerRehearse(program: Command, rt: CliRuntime): void {
  program
    .command('rehearse')
    .description('the full cutover on embedded PostgreSQL (or a MariaDB legacy: --legacy mariadb), real apps, a real router and live load; ends with a report')
    .option('--seed <n>', limited('seed'), wholeNumber(REHEARSAL_LIMITS.seed.min, REHEARSAL_LIMITS.seed.max))
    .option('--orders <n>', limited('orders'), wholeNumber(REHEARSAL_LIMITS.orders.min, REHEARSAL_LIMITS.orders.max))
    .option('--rate <n>', limited('rate'), wholeNumber(REHEARSAL_LIMITS.rate.min, REHEARSAL_LIMITS.rate.max))
    .option('--fault <name>', `run a fault scenario: ${REHEARSAL_FAULTS.join(' | ')}`, fault)
    .option('--keep', 'leave the servers running at the end and print how to connect')
    .option('--report-json <path>', 'write the report as JSON to PATH')
    .addOption(
      new Option('--legacy <engine>', "the legacy cainiao's engine: postgres (embedded), or mariadb (this machine's mariadbd/mysqld, found on PATH; apt-get install mariadb-server); default postgres")
        .choices(['postgres', 'mariadb', 'mysql']),
    )
    .option('--legacy-url <url>', 'with --legacy mariadb: use the MySQL/MariaDB server you run (mysql://admin:password@host:3306/cainiao, ROW binlog) instead of starting one')
    .addOption(new Option('--pacing <mode>', "pace the snapshot, full load and validation reads against blue's health (auto: from 100000 orders, where they take minutes)").choices(['auto', 'on', 'off']).default('auto'))
    .addOption(new Option('--backup-store <kind>', 'where the snapshot goes: folder, or s3 (an S3-compatible server on loopback, through the S3 client)').choices(['folder', 's3']).default('folder'))
    .action(
      withoutSession<RehearseOptions>(rt, async (out, o, globals) => {
        const url = new URL('../../rehearsal/rehearse.ts', import.meta.url);
        const rehearse = exported<Rehearse>(await importOptional(url, 'the rehearsal'), 'rehearse', url);
        return rehearse({ seed: o.seed, orders: o.orders, rate: o.rate, fault: o.fault, keep: o.keep === true, reportJson: o.reportJson, backupStore: o.backupStore, legacy: o.legacy, legacyUrl: o.legacyUrl, pacing: o.pacing, dryRun: globals.dryRun === true }, out);
      }),
    );
}

/** Help text with the option's limits and default (checked when parsed: nothing starts on a bad value). */
function limited(name: LimitedOption): string {
  const l = REHEARSAL_LIMITS[name];
  return `${l.what}: ${l.min}–${l.max}, default ${l.fallback}`;
}

function fault(value: string): string {
  if (!(REHEARSAL_FAULTS as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown fault "${value}"; known: ${REHEARSAL_FAULTS.join(', ')}`);
  return value;
}
