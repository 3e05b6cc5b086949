/**
 * One validation in its own process, for bench/validate-scan.ts: prints the report's figures, the
 * wall time and the process's peak RSS. argv[2]: a JSON file holding the resolved environment.
 */
import { readFileSync } from 'node:fs';
import type { ResolvedPostgresEnvironment } from '../lib/config/load.ts';
import { PostgresValidator } from '../lib/diff/postgres-validator.ts';
import { silentOutput } from '../lib/output/output.ts';

const env = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ResolvedPostgresEnvironment;
const started = performance.now();
const report = await new PostgresValidator(env, silentOutput).validate({ frozen: true });
const ms = performance.now() - started;
const different = report.tables.reduce((n, t) => n + t.missing.length + t.extra.length + t.different.length, 0);
process.stdout.write(JSON.stringify({ ms, equal: report.equal, figures: report.figures, different, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
