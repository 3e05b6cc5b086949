/**
 * The whole cutover for one environment: deploy (AWS environments: `cdk deploy -c env=NAME`),
 * then `cutover run`, which walks every phase with its gates and stops for a typed "go" before
 * the write switch. All logic lives in the CLI; this only strings the two together.
 *
 *   npx tsx scripts/cutover.ts --env prod [--config PATH] [--skip-deploy]
 */
import { parseArgs } from 'node:util';
import { $ } from 'zx';

const { values } = parseArgs({
  options: { env: { type: 'string' }, config: { type: 'string' }, 'skip-deploy': { type: 'boolean' } },
});
if (!values.env) {
  process.stderr.write('usage: npx tsx scripts/cutover.ts --env NAME [--config PATH] [--skip-deploy]\n');
  process.exit(2);
}
$.quiet = true;
const env = values.env;
const config = values.config ? ['--config', values.config] : [];

// which platform? the CLI knows (and validates the config once)
const status = await $`npx cutover status --env ${env} ${config} --json`.timeout(120_000).nothrow();
if (status.exitCode !== 0) {
  process.stderr.write(status.stderr);
  process.exit(status.exitCode ?? 2);
}
const platform = (JSON.parse(status.stdout) as { platform: string }).platform;

if (platform === 'aws' && !values['skip-deploy']) {
  process.stderr.write(`deploying ${env} with cdk (this can take 10-30 minutes)\n`);
  const deploy = await $({ stdio: 'inherit' })`npx cdk deploy -c env=${env}`.timeout(2 * 3600_000).nothrow();
  if (deploy.exitCode !== 0) process.exit(deploy.exitCode ?? 2);
}

// interactive: the operator types the env name (protected) and "go" at the write switch
const run = await $({ stdio: 'inherit' })`npx cutover run --env ${env} ${config}`.timeout(12 * 3600_000).nothrow();
process.exit(run.exitCode ?? 2);
