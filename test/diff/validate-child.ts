/**
 * Runs one validation in its own process (killed with SIGKILL by validation-resume.test.ts).
 * argv[2]: a JSON file holding the resolved environment.
 */
import { readFileSync } from 'node:fs';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { silentOutput } from '../../lib/output/output.ts';

const env = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ResolvedPostgresEnvironment;
const report = await new PostgresValidator(env, silentOutput).validate();
process.stdout.write(JSON.stringify({ equal: report.equal, chunks: report.figures.chunks }) + '\n');
