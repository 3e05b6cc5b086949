/**
 * Emergency rollback: `cutover rollback` for one environment. No questions beyond the
 * protected-environment confirmation the CLI itself asks; safe to run twice.
 *
 *   npx tsx scripts/rollback.ts --env prod [--config PATH]
 */
import { parseArgs } from 'node:util';
import { $ } from 'zx';

const { values } = parseArgs({ options: { env: { type: 'string' }, config: { type: 'string' } } });
if (!values.env) {
  process.stderr.write('usage: npx tsx scripts/rollback.ts --env NAME [--config PATH]\n');
  process.exit(2);
}
$.quiet = true;
const config = values.config ? ['--config', values.config] : [];
const rollback = await $({ stdio: 'inherit' })`npx cutover rollback --env ${values.env} ${config}`.timeout(3600_000).nothrow();
process.exit(rollback.exitCode ?? 2);
